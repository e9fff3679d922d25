#include "dsl/diagnostics.h"

#include <algorithm>

namespace reach::dsl {

uint32_t SourceSet::Add(std::string name, std::string text) {
  File f{std::move(name), std::move(text), {0}};
  for (size_t i = 0; i < f.text.size(); ++i)
    if (f.text[i] == '\n') f.line_starts.push_back(i + 1);
  files_.push_back(std::move(f));
  return static_cast<uint32_t>(files_.size() - 1);
}

std::string_view SourceSet::Line(uint32_t file, uint32_t line) const {
  if (file >= files_.size()) return {};
  const File& f = files_[file];
  if (line == 0 || line > f.line_starts.size()) return {};
  size_t begin = f.line_starts[line - 1];
  size_t end = line < f.line_starts.size() ? f.line_starts[line] - 1 : f.text.size();
  if (end > begin && f.text[end - 1] == '\r') --end;
  return std::string_view(f.text).substr(begin, end - begin);
}

SourcePos SourceSet::PosOf(uint32_t file, size_t offset) const {
  const File& f = files_[file];
  auto it = std::upper_bound(f.line_starts.begin(), f.line_starts.end(), offset);
  size_t line = static_cast<size_t>(it - f.line_starts.begin());
  return {static_cast<uint32_t>(line), static_cast<uint32_t>(offset - f.line_starts[line - 1] + 1)};
}

size_t SourceSet::OffsetOf(uint32_t file, SourcePos pos) const {
  const File& f = files_[file];
  if (pos.line == 0) return 0;
  if (pos.line > f.line_starts.size()) return f.text.size();
  size_t off = f.line_starts[pos.line - 1] + (pos.col ? pos.col - 1 : 0);
  return std::min(off, f.text.size());
}

void Diagnostics::Error(Location where, std::string message) {
  // The same problem reached twice (a variable used twice, say) is reported once.
  for (const Diagnostic& d : list_)
    if (d.where.file == where.file && d.where.pos.line == where.pos.line &&
        d.where.pos.col == where.pos.col && d.message == message)
      return;
  list_.push_back({where, std::move(message)});
}

std::string Diagnostics::Short(const SourceSet& sources, const Diagnostic& d) {
  std::string s = sources.size() > d.where.file ? sources.name(d.where.file) : "<input>";
  s += ':' + std::to_string(d.where.pos.line) + ':' + std::to_string(d.where.pos.col) + ": " +
       d.message;
  return s;
}

std::string Diagnostics::Format(const SourceSet& sources) const {
  std::vector<const Diagnostic*> sorted;
  for (const Diagnostic& d : list_) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic* a, const Diagnostic* b) {
    if (a->where.file != b->where.file) return a->where.file < b->where.file;
    if (a->where.pos.line != b->where.pos.line) return a->where.pos.line < b->where.pos.line;
    return a->where.pos.col < b->where.pos.col;
  });
  std::string out;
  for (const Diagnostic* d : sorted) {
    out += Short(sources, *d);
    out += '\n';
    std::string_view line = sources.size() > d->where.file
                                ? sources.Line(d->where.file, d->where.pos.line)
                                : std::string_view{};
    if (!line.empty()) {
      out += "  ";
      out += line;
      out += "\n  ";
      // Keep tabs so the caret lines up under the same column in a terminal.
      uint32_t col = d->where.pos.col ? d->where.pos.col : 1;
      for (uint32_t i = 1; i < col && i - 1 < line.size(); ++i) out += line[i - 1] == '\t' ? '\t' : ' ';
      out += "^\n";
    }
  }
  return out;
}

static size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string& c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

}  // namespace reach::dsl
