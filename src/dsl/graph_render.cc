#include "dsl/graph_render.h"

#include <set>
#include <vector>

namespace reach::dsl {
namespace {

enum class Shape { kBox, kDiamond, kCircle, kHexagon, kSubroutine, kStadium };

struct Vertex {
  std::string id;
  std::string label;
  Shape shape;
};
struct Edge {
  std::string from, to, label;
  bool dashed = false;
};

// Builds the picture as vertices and edges, then prints it in one format or the other.
class Picture {
 public:
  explicit Picture(const FlowGraph& g) : g_(g) {}

  // Adds construct `c`; returns its (entry, exit) vertices.
  std::pair<std::string, std::string> Add(uint32_t index, const std::string& prefix) {
    const Construct& c = g_.construct(index);
    switch (c.kind) {
      case ConstructKind::kNode: {
        std::string v = NewVertex(prefix, g_.node(static_cast<uint32_t>(c.node)).label + Decor(c), Shape::kBox);
        return {v, v};
      }
      case ConstructKind::kChain: {
        uint32_t callee = static_cast<uint32_t>(c.chain);
        called_.insert(callee);
        std::string v = NewVertex(prefix, g_.chain(callee).name, Shape::kSubroutine);
        return {v, v};
      }
      case ConstructKind::kThen: {
        std::string entry, exit;
        for (uint32_t child : c.children) {
          auto [in, out] = Add(child, prefix);
          if (entry.empty()) entry = in;
          else edges_.push_back({exit, in, ""});
          exit = out;
        }
        return {entry, exit};
      }
      case ConstructKind::kWhen: {
        std::string label = "WHEN";
        if (c.any) label += " any";
        if (c.ignore_error) label += " ignoreError";
        std::string fork = NewVertex(prefix, label, Shape::kCircle);
        std::string join = NewVertex(prefix, "join", Shape::kCircle);
        for (uint32_t child : c.children) {
          auto [in, out] = Add(child, prefix);
          edges_.push_back({fork, in, ""});
          edges_.push_back({out, join, ""});
        }
        return {fork, join};
      }
      case ConstructKind::kIf: {
        std::string d = NewVertex(prefix, "IF " + g_.Render(static_cast<uint32_t>(c.condition)), Shape::kDiamond);
        std::string join = NewVertex(prefix, "", Shape::kCircle);
        auto [tin, tout] = Add(c.children[0], prefix);
        edges_.push_back({d, tin, "true"});
        edges_.push_back({tout, join, ""});
        if (c.children.size() > 1) {
          auto [ein, eout] = Add(c.children[1], prefix);
          edges_.push_back({d, ein, "false"});
          edges_.push_back({eout, join, ""});
        } else {
          edges_.push_back({d, join, "false"});
        }
        return {d, join};
      }
      case ConstructKind::kSwitch: {
        std::string d = NewVertex(prefix, "SWITCH " + g_.Render(static_cast<uint32_t>(c.condition)), Shape::kDiamond);
        std::string join = NewVertex(prefix, "", Shape::kCircle);
        auto target = [&](uint32_t t, std::string label) {
          auto [in, out] = Add(t, prefix);
          edges_.push_back({d, in, std::move(label)});
          edges_.push_back({out, join, ""});
        };
        for (uint32_t t : c.children) target(t, TargetName(t));
        if (c.default_target != kNone) target(static_cast<uint32_t>(c.default_target), "default");
        return {d, join};
      }
      case ConstructKind::kFor:
      case ConstructKind::kWhile:
      case ConstructKind::kIterator: {
        std::string head = std::string(ConstructKindName(c.kind)) + " " +
                           (c.condition != kNone ? g_.Render(static_cast<uint32_t>(c.condition)) : std::to_string(c.for_count));
        if (c.parallel) head += " parallel";
        std::string h = NewVertex(prefix, head, Shape::kHexagon);
        std::string done = NewVertex(prefix, "", Shape::kCircle);
        auto [in, out] = Add(c.children[0], prefix);
        edges_.push_back({h, in, "each"});
        if (c.break_condition != kNone) {
          std::string b = NewVertex(prefix, "BREAK " + g_.Render(static_cast<uint32_t>(c.break_condition)), Shape::kDiamond);
          edges_.push_back({out, b, ""});
          edges_.push_back({b, done, "true"});
          edges_.push_back({b, h, "false", true});
        } else {
          edges_.push_back({out, h, "next", true});
        }
        edges_.push_back({h, done, "done"});
        return {h, done};
      }
      case ConstructKind::kCatch: {
        std::string join = NewVertex(prefix, "", Shape::kCircle);
        auto [in, out] = Add(c.children[0], prefix);
        edges_.push_back({out, join, ""});
        if (c.children.size() > 1) {
          auto [din, dout] = Add(c.children[1], prefix);
          edges_.push_back({in, din, "on error", true});
          edges_.push_back({dout, join, ""});
        } else {
          edges_.push_back({in, join, "on error", true});
        }
        return {in, join};
      }
      case ConstructKind::kAnd:
      case ConstructKind::kOr:
      case ConstructKind::kNot: {
        std::string v = NewVertex(prefix, g_.Render(index), Shape::kDiamond);
        return {v, v};
      }
    }
    return {};
  }

  std::string AddChain(uint32_t chain) {
    std::string prefix = "c" + std::to_string(chain) + "_";
    std::string start = NewVertex(prefix, g_.chain(chain).name, Shape::kStadium);
    auto [in, out] = Add(g_.chain(chain).root, prefix);
    edges_.push_back({start, in, ""});
    std::string end = NewVertex(prefix, "end", Shape::kStadium);
    edges_.push_back({out, end, ""});
    return start;
  }

  std::set<uint32_t> called_;

  std::string Mermaid() const {
    std::string s = "flowchart TD\n";
    for (const Vertex& v : vertices_) {
      std::string l = Escape(v.label, true);
      switch (v.shape) {
        case Shape::kBox: s += "  " + v.id + "[\"" + l + "\"]\n"; break;
        case Shape::kDiamond: s += "  " + v.id + "{\"" + l + "\"}\n"; break;
        case Shape::kCircle: s += "  " + v.id + "((\"" + (l.empty() ? " " : l) + "\"))\n"; break;
        case Shape::kHexagon: s += "  " + v.id + "{{\"" + l + "\"}}\n"; break;
        case Shape::kSubroutine: s += "  " + v.id + "[[\"" + l + "\"]]\n"; break;
        case Shape::kStadium: s += "  " + v.id + "([\"" + l + "\"])\n"; break;
      }
    }
    for (const Edge& e : edges_) {
      std::string arrow = e.dashed ? "-.->" : "-->";
      if (e.label.empty()) s += "  " + e.from + " " + arrow + " " + e.to + "\n";
      else if (e.dashed) s += "  " + e.from + " -. \"" + Escape(e.label, true) + "\" .-> " + e.to + "\n";
      else s += "  " + e.from + " -- \"" + Escape(e.label, true) + "\" --> " + e.to + "\n";
    }
    return s;
  }

  std::string Dot(const std::string& name) const {
    std::string s = "digraph \"" + Escape(name, false) + "\" {\n  rankdir=TB;\n  node [fontname=\"Helvetica\"];\n";
    for (const Vertex& v : vertices_) {
      const char* shape = "box";
      switch (v.shape) {
        case Shape::kBox: shape = "box"; break;
        case Shape::kDiamond: shape = "diamond"; break;
        case Shape::kCircle: shape = "circle"; break;
        case Shape::kHexagon: shape = "hexagon"; break;
        case Shape::kSubroutine: shape = "box3d"; break;
        case Shape::kStadium: shape = "oval"; break;
      }
      s += "  " + v.id + " [label=\"" + Escape(v.label, false) + "\", shape=" + shape +
           (v.shape == Shape::kCircle && v.label.empty() ? ", width=0.2, height=0.2" : "") + "];\n";
    }
    for (const Edge& e : edges_) {
      s += "  " + e.from + " -> " + e.to;
      std::string attrs;
      if (!e.label.empty()) attrs += "label=\"" + Escape(e.label, false) + "\"";
      if (e.dashed) attrs += std::string(attrs.empty() ? "" : ", ") + "style=dashed";
      if (!attrs.empty()) s += " [" + attrs + "]";
      s += ";\n";
    }
    s += "}\n";
    return s;
  }

 private:
  std::string NewVertex(const std::string& prefix, std::string label, Shape shape) {
    std::string id = prefix + "v" + std::to_string(vertices_.size());
    vertices_.push_back({id, std::move(label), shape});
    return id;
  }

  std::string TargetName(uint32_t t) const {
    const Construct& c = g_.construct(t);
    if (!c.user_id.empty()) return c.user_id;
    if (!c.tag.empty()) return "tag:" + c.tag;
    if (c.kind == ConstructKind::kNode) return g_.node(static_cast<uint32_t>(c.node)).id;
    if (c.kind == ConstructKind::kChain) return g_.chain(static_cast<uint32_t>(c.chain)).name;
    return std::string(ConstructKindName(c.kind));
  }

  static std::string Decor(const Construct& c) {
    std::string s;
    if (!c.tag.empty()) s += " #" + c.tag;
    if (c.retry) s += " retry " + std::to_string(c.retry);
    return s;
  }

  static std::string Escape(const std::string& s, bool mermaid) {
    std::string out;
    for (char ch : s) {
      if (ch == '"') out += mermaid ? "#quot;" : "\\\"";
      else if (ch == '\\' && !mermaid) out += "\\\\";
      else if (ch == '\n') out += ' ';
      else out += ch;
    }
    return out;
  }

  const FlowGraph& g_;
  std::vector<Vertex> vertices_;
  std::vector<Edge> edges_;
};

}  // namespace

std::string RenderChainGraph(const FlowGraph& graph, uint32_t chain, GraphFormat format) {
  Picture p(graph);
  p.AddChain(chain);
  // Draw every sub-chain reached, once each.
  std::set<uint32_t> drawn{chain};
  for (bool more = true; more;) {
    more = false;
    for (uint32_t callee : std::set<uint32_t>(p.called_))
      if (drawn.insert(callee).second) {
        p.AddChain(callee);
        more = true;
      }
  }
  return format == GraphFormat::kMermaid ? p.Mermaid() : p.Dot(graph.chain(chain).name);
}

}  // namespace reach::dsl
