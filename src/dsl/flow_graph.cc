#include "dsl/flow_graph.h"

#include <boost/json.hpp>

namespace reach::dsl {

std::string_view ConstructKindName(ConstructKind kind) {
  switch (kind) {
    case ConstructKind::kNode: return "node";
    case ConstructKind::kChain: return "chain";
    case ConstructKind::kThen: return "THEN";
    case ConstructKind::kWhen: return "WHEN";
    case ConstructKind::kIf: return "IF";
    case ConstructKind::kSwitch: return "SWITCH";
    case ConstructKind::kFor: return "FOR";
    case ConstructKind::kWhile: return "WHILE";
    case ConstructKind::kIterator: return "ITERATOR";
    case ConstructKind::kCatch: return "CATCH";
    case ConstructKind::kAnd: return "AND";
    case ConstructKind::kOr: return "OR";
    case ConstructKind::kNot: return "NOT";
  }
  return "?";
}

int32_t FlowGraph::FindChain(std::string_view name) const {
  for (size_t i = 0; i < chains_.size(); ++i)
    if (chains_[i].name == name) return static_cast<int32_t>(i);
  return kNone;
}

int32_t FlowGraph::FindNode(std::string_view id) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].id == id) return static_cast<int32_t>(i);
  return kNone;
}

namespace {
std::string Quote(const std::string& s) { return boost::json::serialize(boost::json::value(boost::json::string(s))); }
}  // namespace

std::string FlowGraph::Render(uint32_t index) const {
  const Construct& c = constructs_[index];
  auto list = [&](size_t from, size_t to) {
    std::string s;
    for (size_t i = from; i < to; ++i) {
      if (i > from) s += ',';
      s += Render(c.children[i]);
    }
    return s;
  };
  std::string out;
  switch (c.kind) {
    case ConstructKind::kNode: out = nodes_[static_cast<size_t>(c.node)].id; break;
    case ConstructKind::kChain: out = chains_[static_cast<size_t>(c.chain)].name; break;
    case ConstructKind::kThen: {
      size_t body_end = c.children.size() - c.finally_count;
      std::vector<std::string> parts;
      if (c.pre_count) parts.push_back("PRE(" + list(0, c.pre_count) + ")");
      for (size_t i = c.pre_count; i < body_end; ++i) parts.push_back(Render(c.children[i]));
      if (c.finally_count) parts.push_back("FINALLY(" + list(body_end, c.children.size()) + ")");
      out = "THEN(";
      for (size_t i = 0; i < parts.size(); ++i) out += (i ? "," : "") + parts[i];
      out += ")";
      break;
    }
    case ConstructKind::kWhen:
      out = "WHEN(" + list(0, c.children.size()) + ")";
      if (c.any) out += ".any(true)";
      if (c.ignore_error) out += ".ignoreError(true)";
      if (!c.must.empty()) {
        out += ".must(";
        for (size_t i = 0; i < c.must.size(); ++i) out += (i ? "," : "") + Quote(c.must[i]);
        out += ")";
      }
      break;
    case ConstructKind::kIf:
      out = "IF(" + Render(static_cast<uint32_t>(c.condition)) + "," + list(0, c.children.size()) + ")";
      break;
    case ConstructKind::kSwitch:
      out = "SWITCH(" + Render(static_cast<uint32_t>(c.condition)) + ").TO(" + list(0, c.children.size()) + ")";
      if (c.default_target != kNone) out += ".DEFAULT(" + Render(static_cast<uint32_t>(c.default_target)) + ")";
      break;
    case ConstructKind::kFor:
    case ConstructKind::kWhile:
    case ConstructKind::kIterator:
      out = std::string(ConstructKindName(c.kind)) + "(" +
            (c.condition != kNone ? Render(static_cast<uint32_t>(c.condition)) : std::to_string(c.for_count)) +
            ").DO(" + list(0, c.children.size()) + ")";
      if (c.break_condition != kNone) out += ".BREAK(" + Render(static_cast<uint32_t>(c.break_condition)) + ")";
      if (c.parallel) out += ".parallel(true)";
      break;
    case ConstructKind::kCatch:
      out = "CATCH(" + Render(c.children[0]) + ")";
      if (c.children.size() > 1) out += ".DO(" + Render(c.children[1]) + ")";
      break;
    case ConstructKind::kAnd:
    case ConstructKind::kOr:
    case ConstructKind::kNot:
      out = std::string(ConstructKindName(c.kind)) + "(" + list(0, c.children.size()) + ")";
      break;
  }
  if (!c.user_id.empty()) out += ".id(" + Quote(c.user_id) + ")";
  if (!c.tag.empty()) out += ".tag(" + Quote(c.tag) + ")";
  if (c.data) out += ".data(" + Quote(boost::json::serialize(*c.data)) + ")";
  if (c.retry) {
    out += ".retry(" + std::to_string(c.retry);
    for (const auto& e : c.retry_on) out += "," + Quote(e);
    out += ")";
  }
  if (c.max_wait_millis) out += ".maxWaitMilliseconds(" + std::to_string(c.max_wait_millis) + ")";
  return out;
}

}  // namespace reach::dsl
