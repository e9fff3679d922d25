#pragma once
// Diagnostics: every problem found while loading and compiling flow files, each reported as
//
//   file:line:col: error: message
//     <the source line>
//     <spaces>^
//
// Lines and columns are 1-based; the column counts bytes. A Diagnostics collects all problems
// (not just the first) so that `reach validate` can print them all at once.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace reach::dsl {

struct SourcePos {
  uint32_t line = 0;  // 1-based; 0 = unknown
  uint32_t col = 0;   // 1-based
};

// A position in a file: the file is named by its index in a SourceSet.
struct Location {
  uint32_t file = 0;
  SourcePos pos;
};

struct Diagnostic {
  Location where;
  std::string message;
};

// The texts of the files being compiled, kept so that diagnostics can quote source lines.
class SourceSet {
 public:
  // Adds a file and returns its index. `name` is what diagnostics print (the path given).
  uint32_t Add(std::string name, std::string text);
  const std::string& name(uint32_t file) const { return files_[file].name; }
  const std::string& text(uint32_t file) const { return files_[file].text; }
  size_t size() const { return files_.size(); }
  // The text of line `line` (1-based) of `file`, without its newline; empty when out of range.
  std::string_view Line(uint32_t file, uint32_t line) const;
  // Maps a byte offset inside `file` to line:col.
  SourcePos PosOf(uint32_t file, size_t offset) const;
  // Maps line:col back to a byte offset (clamped to the text).
  size_t OffsetOf(uint32_t file, SourcePos pos) const;

 private:
  struct File {
    std::string name;
    std::string text;
    std::vector<size_t> line_starts;
  };
  std::vector<File> files_;
};

class Diagnostics {
 public:
  void Error(Location where, std::string message);
  bool empty() const { return list_.empty(); }
  size_t size() const { return list_.size(); }
  const std::vector<Diagnostic>& list() const { return list_; }
  // All diagnostics, sorted by file, line and column, each in the form described above.
  std::string Format(const SourceSet& sources) const;
  // One diagnostic, without the source excerpt: "file:line:col: message".
  static std::string Short(const SourceSet& sources, const Diagnostic& d);

 private:
  std::vector<Diagnostic> list_;
};

// The closest candidate to `word` by edit distance, if close enough to be a likely typo;
// empty otherwise. Used for "did you mean" hints.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace reach::dsl
