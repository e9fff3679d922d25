// reach: the one binary. Parses the command line and hands over to app/cli_commands.
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/cli_commands.h"
#include "app/run_command.h"
#include "app/serve_command.h"

int main(int argc, char** argv) {
  CLI::App app{"Reach: durable customer journeys from LiteFlow-style YAML flows"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "reach 0.1.0");

  std::vector<std::string> validate_files;
  auto* validate = app.add_subcommand("validate", "Check flow files; print every error as file:line:col");
  validate->add_option("files", validate_files, "Flow files or directories (compiled together)")->required();

  std::vector<std::string> graph_files;
  std::string chain, format = "mermaid";
  auto* graph = app.add_subcommand("graph", "Print a chain's compiled graph (Mermaid or DOT)");
  graph->add_option("files", graph_files, "Flow files or directories")->required();
  graph->add_option("--chain", chain, "The chain to draw")->required();
  graph->add_option("--format", format, "mermaid or dot")->check(CLI::IsMember({"mermaid", "dot"}));

  reach::app::RunArgs run_args;
  auto* run = app.add_subcommand("run", "Run one execution in-process with a manual clock; print what each node did");
  run->add_option("files", run_args.files, "Flow files or directories")->required();
  run->add_option("--chain", run_args.chain, "The chain to run")->required();
  run->add_option("--user", run_args.user_json, "The user as JSON: {\"id\", \"traits\", \"tags\", \"timezone\", ...}");
  run->add_option("--event", run_args.event_json, "The triggering event as JSON: {\"type\", \"properties\"}");
  run->add_option("--events", run_args.events_file, "Later events: a JSON array or JSON lines, each may have \"at\"");
  run->add_option("--now", run_args.now, "The start time (RFC 3339); default: now");

  reach::app::ServeArgs serve_args;
  auto* serve = app.add_subcommand("serve", "Run the daemon: HTTP API, triggers, timers");
  serve->add_option("--config", serve_args.config, "YAML config file (flags override it)");
  serve->add_option("--listen", serve_args.listen, "ADDR:PORT (default 127.0.0.1:8080)");
  serve->add_option("--db", serve_args.db, "SQLite file (default ./var/reach.db)");
  serve->add_option("--flows", serve_args.flows, "Flow directories or files (default ./flows)");
  serve->add_flag("--print-config", serve_args.print_config, "Print the effective config (secrets hidden) and exit");

  CLI11_PARSE(app, argc, argv);

  if (*serve) return reach::app::Serve(serve_args);

  if (*run) return reach::app::Run(run_args, std::cout, std::cerr);

  if (*validate) return reach::app::Validate(validate_files, std::cout, std::cerr);
  if (*graph) return reach::app::Graph(graph_files, chain, format, std::cout, std::cerr);
  return 2;
}
