#pragma once
// The `reach` subcommands as functions from arguments to an exit code, writing to the given
// streams, so that tests call them without spawning a process. main.cc only parses the
// command line (CLI11) and calls these.

#include <iosfwd>
#include <string>
#include <vector>

namespace reach::app {

// `reach validate FILE...`: 0 when every file (compiled together as one flow set) is valid;
// otherwise prints every error as file:line:col with the source line and a caret, returns 1.
int Validate(const std::vector<std::string>& paths, std::ostream& out, std::ostream& err);

// `reach graph FILE... --chain NAME --format mermaid|dot`: prints the compiled chain.
int Graph(const std::vector<std::string>& paths, const std::string& chain, const std::string& format,
          std::ostream& out, std::ostream& err);

}  // namespace reach::app
