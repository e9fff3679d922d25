// reach: the one binary. Parses the command line and hands over to app/cli_commands.
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/cli_commands.h"
#include "app/run_command.h"

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

  CLI11_PARSE(app, argc, argv);

  if (*run) return reach::app::Run(run_args, std::cout, std::cerr);

  if (*validate) return reach::app::Validate(validate_files, std::cout, std::cerr);
  if (*graph) return reach::app::Graph(graph_files, chain, format, std::cout, std::cerr);
  return 2;
}
