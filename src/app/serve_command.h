#pragma once
// `reach serve [--config FILE] [--listen ADDR:PORT] [--db PATH] [--flows DIR]...`: the daemon.
//
// Start-up: config (flags override the file; secrets from the environment), the flows compiled
// (an invalid flow refuses the start with file:line:col errors), the store opened and migrated,
// the flows deployed when they changed, HTTP listening, timers running, then READY=1.
// SIGHUP reloads the flows (a changed flow becomes a new version; running executions stay on
// theirs). SIGTERM / SIGINT drain: intake stops (503), requests in flight are answered, the
// store commits, exit 0 — within shutdown_timeout_ms.

#include <string>
#include <vector>

namespace reach::app {

struct ServeArgs {
  std::string config;
  std::string listen;
  std::string db;
  std::vector<std::string> flows;
  bool print_config = false;
};

int Serve(const ServeArgs& args);

}  // namespace reach::app
