#pragma once
// `reach run FILE... --chain NAME [--user JSON] [--event JSON] [--events FILE] [--now TIME]`:
// one execution in-process on a temporary store with a manual clock. Waits are resolved by the
// given events (in order; each may carry "at": an RFC 3339 time or "+3h" after the previous
// input) or fast-forwarded to their timeouts; sends are rendered and printed, not sent. Prints
// what each node did, and last, on a line of its own, `trace: a==>b==>c`.

#include <iosfwd>
#include <string>
#include <vector>

namespace reach::app {

struct RunArgs {
  std::vector<std::string> files;
  std::string chain;
  std::string user_json;    // {"id": "...", "traits": {...}, "tags": [...], "timezone": "..."}
  std::string event_json;   // the trigger event {type, properties, ...}
  std::string events_file;  // JSON array or JSON lines of later events
  std::string now;          // RFC 3339; default: the current time
  int max_inputs = 10000;   // events + timer firings at most (a runaway journey stops here)
};

int Run(const RunArgs& args, std::ostream& out, std::ostream& err);

}  // namespace reach::app
