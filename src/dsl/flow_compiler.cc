#include "dsl/flow_compiler.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <boost/json.hpp>
#include <openssl/evp.h>

#include "common/time_util.h"
#include "dsl/el_builder.h"
#include "dsl/el_parser.h"
#include "dsl/time_zone.h"
#include "dsl/yaml_doc.h"

namespace reach::dsl {
namespace {

std::string Sha256Hex(std::string_view data, size_t hex_chars) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len && out.size() < hex_chars; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string Where(const SourceSet& sources, Location loc) {
  return sources.name(loc.file) + ":" + std::to_string(loc.pos.line) + ":" + std::to_string(loc.pos.col);
}

void CheckKeys(const YamlNode& map, const std::vector<std::string>& allowed, std::string_view what,
               Diagnostics& diags) {
  for (size_t i = 0; i < map.entries.size(); ++i) {
    const std::string& k = map.entries[i].first;
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    std::string msg = "unknown key '" + k + "' in " + std::string(what);
    std::string hint = ClosestMatch(k, allowed);
    if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
    diags.Error(map.key_locations[i], std::move(msg));
  }
}

// One compilation: the tables being filled and the checks between them.
class CompileRun {
 public:
  CompileRun(const NodeKindRegistry& kinds, const SourceSet& sources, Diagnostics& diags)
      : kinds_(kinds), sources_(sources), diags_(diags) {}

  void Run() {
    std::vector<YamlNode> roots;
    for (uint32_t f = 0; f < sources_.size(); ++f) roots.push_back(ParseYaml(sources_, f, diags_));
    // Pass 1: declarations (nodes, chain names) from every file, so that any file may use them.
    std::vector<const YamlNode*> flows(roots.size(), nullptr);
    for (uint32_t f = 0; f < roots.size(); ++f) flows[f] = ReadFlowHeader(f, roots[f]);
    for (uint32_t f = 0; f < roots.size(); ++f)
      if (flows[f]) ReadNodes(f, *flows[f]);
    for (uint32_t f = 0; f < roots.size(); ++f)
      if (flows[f]) ReadChainHeaders(f, *flows[f]);
    // Pass 2: chain bodies.
    for (size_t c = 0; c < chains_.size(); ++c) BuildChainBody(c);
    CheckCycles();
    if (diags_.empty()) ComputeVersions();
  }

  std::vector<NodeDef> nodes_;
  std::vector<Construct> constructs_;
  std::vector<ChainDef> chains_;
  std::vector<FlowFile> files_;
  std::string version_;

 private:
  const YamlNode* ReadFlowHeader(uint32_t f, const YamlNode& root) {
    FlowFile file;
    file.path = sources_.name(f);
    file.name = std::filesystem::path(file.path).stem().string();
    file.version = Sha256Hex(sources_.text(f), 16);
    files_.push_back(file);
    if (root.is_null()) {
      if (diags_.size() == 0 || sources_.text(f).find_first_not_of(" \t\r\n") == std::string::npos)
        diags_.Error({f, {1, 1}}, "empty flow file: expected a map with a 'flow:' key");
      return nullptr;
    }
    if (!root.is_map()) {
      diags_.Error(root.where, "a flow file is a map with a 'flow:' key, not " + std::string(root.Describe()));
      return nullptr;
    }
    CheckKeys(root, {"flow"}, "the file", diags_);
    const YamlNode* flow = root.Find("flow");
    if (!flow) {
      diags_.Error(root.where, "missing 'flow:' key");
      return nullptr;
    }
    if (!flow->is_map()) {
      diags_.Error(flow->where, "'flow:' must be a map with 'nodes:' and 'chain:', not " + std::string(flow->Describe()));
      return nullptr;
    }
    CheckKeys(*flow, {"name", "tz", "nodes", "chain"}, "'flow:'", diags_);
    if (const YamlNode* tz = flow->Find("tz")) {
      if (!tz->is_scalar() || !IsKnownTimeZone(tz->scalar))
        diags_.Error(tz->where, "unknown time zone '" + (tz->is_scalar() ? tz->scalar : std::string()) +
                                    "' (use an IANA name such as Asia/Shanghai)");
      else files_.back().tz = tz->scalar;
    }
    if (const YamlNode* name = flow->Find("name")) {
      if (!name->is_scalar() || name->scalar.empty()) diags_.Error(name->where, "'name:' must be a non-empty string");
      else files_.back().name = name->scalar;
    }
    for (size_t i = 0; i + 1 < files_.size(); ++i)
      if (files_[i].name == files_.back().name)
        diags_.Error(flow->where, "flow name '" + files_.back().name + "' is also used by " + files_[i].path);
    return flow;
  }

  void ReadNodes(uint32_t f, const YamlNode& flow) {
    const YamlNode* nodes = flow.Find("nodes");
    if (!nodes || nodes->is_null()) return;
    // LiteFlow writes `nodes: { node: [...] }`; Reach writes `nodes: [...]`. Both load.
    if (nodes->is_map()) {
      CheckKeys(*nodes, {"node"}, "'nodes:'", diags_);
      nodes = nodes->Find("node");
      if (!nodes) return;
    }
    if (!nodes->is_sequence()) {
      diags_.Error(nodes->where, "'nodes:' must be a list of node declarations, not " + std::string(nodes->Describe()));
      return;
    }
    for (const YamlNode& decl : nodes->items) ReadNode(decl);
  }

  void ReadNode(const YamlNode& decl) {
    if (!decl.is_map()) {
      diags_.Error(decl.where, "a node declaration is a map with 'id:' and 'type:', not " + std::string(decl.Describe()));
      return;
    }
    const YamlNode* id = decl.Find("id");
    const YamlNode* type = decl.Find("type");
    if (!id || !id->is_scalar() || id->scalar.empty()) {
      diags_.Error(id ? id->where : decl.where, "a node declaration needs 'id:' (a non-empty string)");
      return;
    }
    if (auto it = node_ids_.find(id->scalar); it != node_ids_.end()) {
      diags_.Error(id->where, "node '" + id->scalar + "' is declared twice (first at " +
                                  Where(sources_, nodes_[it->second].where) + ")");
      return;
    }
    NodeDef def;
    def.id = id->scalar;
    def.where = id->where;
    if (!type || !type->is_scalar()) {
      diags_.Error(type ? type->where : decl.where, "node '" + def.id + "' needs 'type:' (one of the node kinds)");
      ReserveNode(std::move(def));
      return;
    }
    def.type = type->scalar;
    def.kind = kinds_.Find(def.type);
    if (!def.kind) {
      std::string hint = ClosestMatch(def.type, kinds_.types());
      diags_.Error(type->where, "unknown node type '" + def.type + "'" +
                                    (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
      ReserveNode(std::move(def));
      return;
    }
    FieldReader fields(decl, def.type, sources_, diags_);
    if (const YamlNode* name = decl.Find("name")) {
      if (!name->is_scalar()) diags_.Error(name->where, "'name:' must be a string");
      else def.name = name->scalar;
    }
    if (auto retry = fields.Integer("retry", false, 0, 1000)) def.retry = static_cast<uint32_t>(*retry);
    if (auto timeout = fields.DurationMillis("timeout")) def.timeout_millis = *timeout;
    def.config = def.kind->Compile(fields);
    fields.Finish();
    if (def.config && !fields.failed()) def.role = def.kind->Role(*def.config);
    def.fields = decl.ToJson().as_object();
    ReserveNode(std::move(def));
  }

  void ReserveNode(NodeDef def) {
    def.label = def.name.empty() ? def.id : def.id + "[" + def.name + "]";
    node_ids_[def.id] = static_cast<uint32_t>(nodes_.size());
    nodes_.push_back(std::move(def));
  }

  void ReadChainHeaders(uint32_t f, const YamlNode& flow) {
    const YamlNode* chains = flow.Find("chain");
    if (!chains || chains->is_null()) return;
    if (!chains->is_sequence()) {
      diags_.Error(chains->where, "'chain:' must be a list of chains, not " + std::string(chains->Describe()));
      return;
    }
    for (const YamlNode& decl : chains->items) {
      if (!decl.is_map()) {
        diags_.Error(decl.where, "a chain is a map with 'name:' and 'value:', not " + std::string(decl.Describe()));
        continue;
      }
      CheckKeys(decl, {"name", "id", "value", "trigger", "entry", "enable"}, "a chain", diags_);
      const YamlNode* name = decl.Find("name");
      if (!name) name = decl.Find("id");
      if (!name || !name->is_scalar() || name->scalar.empty()) {
        diags_.Error(name ? name->where : decl.where, "a chain needs 'name:' (a non-empty string)");
        continue;
      }
      if (const YamlNode* enable = decl.Find("enable"); enable && enable->IsPlainBool() &&
                                                         (enable->scalar[0] == 'f' || enable->scalar[0] == 'F'))
        continue;  // LiteFlow's `enable: false` leaves the chain out
      if (auto it = chain_ids_.find(name->scalar); it != chain_ids_.end()) {
        diags_.Error(name->where, "chain '" + name->scalar + "' is declared twice (first at " +
                                      Where(sources_, chains_[it->second].where) + ")");
        continue;
      }
      ChainDef def;
      def.name = name->scalar;
      def.flow = files_[f].name;
      def.tz = files_[f].tz;
      def.where = name->where;
      chain_ids_[def.name] = static_cast<uint32_t>(chains_.size());
      files_[f].chains.push_back(static_cast<uint32_t>(chains_.size()));
      chains_.push_back(std::move(def));
      chain_decls_.push_back(&decl);
    }
  }

  void BuildChainBody(size_t c) {
    const YamlNode& decl = *chain_decls_[c];
    ChainDef& def = chains_[c];
    ReadTrigger(decl, def);
    ReadEntry(decl, def);
    const YamlNode* value = decl.Find("value");
    if (!value || !value->is_scalar()) {
      diags_.Error(value ? value->where : decl.where, "chain '" + def.name + "' needs 'value:' (an EL expression such as \"THEN(a, b);\")");
      return;
    }
    def.value = value->scalar;
    auto locate = [this, value](size_t offset) { return value->LocationOf(offset, sources_); };
    ElProgram program;
    std::vector<ElSyntaxError> errors;
    if (!ParseEl(value->scalar, program, errors)) {
      for (const ElSyntaxError& e : errors) diags_.Error(locate(e.offset), e.message);
      return;
    }
    ElBuilder builder({&nodes_, &constructs_, &node_ids_, &chain_ids_}, locate, diags_);
    std::vector<std::pair<uint32_t, Location>> called;
    int32_t root = builder.BuildChain(program, called);
    if (root != kNone) def.root = static_cast<uint32_t>(root);
    calls_[c] = std::move(called);
  }

  void ReadTrigger(const YamlNode& decl, ChainDef& def) {
    const YamlNode* t = decl.Find("trigger");
    if (!t || t->is_null()) return;
    if (!t->is_map()) {
      diags_.Error(t->where, "'trigger:' must be a map: {event: NAME} or {schedule: \"CRON\", tz: ZONE} or {manual: true}");
      return;
    }
    CheckKeys(*t, {"event", "match", "schedule", "tz", "manual"}, "'trigger:'", diags_);
    int kinds = (t->Find("event") ? 1 : 0) + (t->Find("schedule") ? 1 : 0) + (t->Find("manual") ? 1 : 0);
    if (kinds != 1) {
      diags_.Error(t->where, "'trigger:' needs exactly one of 'event:', 'schedule:' or 'manual:'");
      return;
    }
    if (const YamlNode* ev = t->Find("event")) {
      if (!ev->is_scalar() || ev->scalar.empty()) {
        diags_.Error(ev->where, "'event:' must be an event type (a string)");
        return;
      }
      def.trigger.kind = Trigger::Kind::kEvent;
      def.trigger.event = ev->scalar;
      if (const YamlNode* match = t->Find("match")) {
        YamlNode holder;  // FieldReader reports expression errors at their column
        FieldReader reader(holder, "trigger", sources_, diags_);
        def.trigger.match = reader.ExprAt(*match, ExprType::kBool, "'match:'");
      }
    } else if (const YamlNode* cron = t->Find("schedule")) {
      if (!cron->is_scalar()) {
        diags_.Error(cron->where, "'schedule:' must be a 5-field cron string such as \"0 10 * * *\"");
        return;
      }
      std::string error;
      size_t offset = 0;
      def.trigger.schedule = CronSchedule::Parse(cron->scalar, error, offset);
      if (!def.trigger.schedule) {
        diags_.Error(cron->LocationOf(offset, sources_), "bad cron schedule: " + error);
        return;
      }
      def.trigger.kind = Trigger::Kind::kSchedule;
      if (const YamlNode* tz = t->Find("tz")) {
        if (!tz->is_scalar() || !IsKnownTimeZone(tz->scalar)) {
          diags_.Error(tz->where, "unknown time zone '" + (tz->is_scalar() ? tz->scalar : std::string()) +
                                      "' (use an IANA name such as Asia/Shanghai)");
          return;
        }
        def.trigger.tz = tz->scalar;
      }
    } else {
      const YamlNode* manual = t->Find("manual");
      if (!manual->IsPlainBool() || !(manual->scalar[0] == 't' || manual->scalar[0] == 'T')) {
        diags_.Error(manual->where, "'manual:' must be true");
        return;
      }
      def.trigger.kind = Trigger::Kind::kManual;
    }
    if (def.trigger.kind != Trigger::Kind::kEvent && t->Find("match"))
      diags_.Error(t->Find("match")->where, "'match:' only applies to event triggers");
    if (def.trigger.kind != Trigger::Kind::kSchedule && t->Find("tz"))
      diags_.Error(t->Find("tz")->where, "'tz:' only applies to schedule triggers");
  }

  void ReadEntry(const YamlNode& decl, ChainDef& def) {
    const YamlNode* e = decl.Find("entry");
    if (!e || e->is_null()) return;
    if (!e->is_map()) {
      diags_.Error(e->where, "'entry:' must be a map: {reentry: once|after_exit|always, key: EXPR}");
      return;
    }
    CheckKeys(*e, {"reentry", "key"}, "'entry:'", diags_);
    if (const YamlNode* r = e->Find("reentry")) {
      std::string v = r->is_scalar() ? r->scalar : "";
      if (v == "once") def.entry.reentry = EntryRule::Reentry::kOnce;
      else if (v == "after_exit") def.entry.reentry = EntryRule::Reentry::kAfterExit;
      else if (v == "always") def.entry.reentry = EntryRule::Reentry::kAlways;
      else diags_.Error(r->where, "'reentry:' must be one of once, after_exit, always, not '" + v + "'");
    }
    if (const YamlNode* key = e->Find("key")) {
      YamlNode holder;
      FieldReader reader(holder, "entry", sources_, diags_);
      def.entry.key = reader.ExprAt(*key, ExprType::kAny, "'key:'");
    }
  }

  void CheckCycles() {
    // Depth-first over chain calls; a back edge is a cycle, printed in call order.
    std::vector<int> state(chains_.size(), 0);  // 0 new, 1 on the stack, 2 done
    std::vector<uint32_t> stack;
    std::set<std::string> reported;
    std::function<void(uint32_t)> visit = [&](uint32_t c) {
      state[c] = 1;
      stack.push_back(c);
      for (const auto& [callee, where] : calls_[c]) {
        if (state[callee] == 1) {
          auto from = std::find(stack.begin(), stack.end(), callee);
          std::string path;
          std::vector<std::string> members;
          for (auto it = from; it != stack.end(); ++it) {
            path += chains_[*it].name + " -> ";
            members.push_back(chains_[*it].name);
          }
          path += chains_[callee].name;
          std::sort(members.begin(), members.end());
          std::string key;
          for (const auto& m : members) key += m + ",";
          if (reported.insert(key).second) diags_.Error(where, "cycle between chains: " + path);
        } else if (state[callee] == 0) {
          visit(callee);
        }
      }
      stack.pop_back();
      state[c] = 2;
    };
    for (uint32_t c = 0; c < chains_.size(); ++c)
      if (state[c] == 0) visit(c);
  }

  // The nodes a chain's own constructs use, and the chains it calls directly (not through
  // callees: those are summed up by their own hashes).
  void CollectOwn(uint32_t construct, std::set<uint32_t>& nodes, std::set<uint32_t>& calls) {
    const Construct& k = constructs_[construct];
    if (k.node != kNone) nodes.insert(static_cast<uint32_t>(k.node));
    if (k.chain != kNone) calls.insert(static_cast<uint32_t>(k.chain));
    for (int32_t extra : {k.condition, k.default_target, k.break_condition})
      if (extra != kNone) CollectOwn(static_cast<uint32_t>(extra), nodes, calls);
    for (uint32_t child : k.children) CollectOwn(child, nodes, calls);
  }

  void ComputeVersions() {
    // Each node declaration hashed once; each chain's own part (its declaration — EL as written,
    // trigger, entry — and the nodes it uses) hashed once; a chain's version is the hash of the
    // own parts of every chain it reaches, in name order. Linear in the sources per chain
    // reached, instead of re-serialising every reachable declaration for every chain.
    std::vector<std::string> node_hash(nodes_.size());
    for (size_t n = 0; n < nodes_.size(); ++n) node_hash[n] = Sha256Hex(boost::json::serialize(nodes_[n].fields), 16);
    std::vector<std::string> own(chains_.size());
    std::vector<std::set<uint32_t>> calls(chains_.size());
    for (size_t c = 0; c < chains_.size(); ++c) {
      std::set<uint32_t> nodes;
      CollectOwn(chains_[c].root, nodes, calls[c]);
      std::string canon = "chain " + chains_[c].name + "\n" + chains_[c].value + "\n" +
                          boost::json::serialize(chain_decls_[c]->ToJson()) + "\n";
      for (uint32_t n : nodes) canon += "node " + nodes_[n].id + " " + node_hash[n] + "\n";
      own[c] = Sha256Hex(canon, 16);
    }
    for (size_t c = 0; c < chains_.size(); ++c) {
      std::set<uint32_t> reach{static_cast<uint32_t>(c)};
      std::vector<uint32_t> stack{static_cast<uint32_t>(c)};
      while (!stack.empty()) {
        uint32_t at = stack.back();
        stack.pop_back();
        for (uint32_t callee : calls[at])
          if (reach.insert(callee).second) stack.push_back(callee);
      }
      std::map<std::string, std::string> parts;  // by chain name: a canonical order
      for (uint32_t r : reach) parts[chains_[r].name] = own[r];
      std::string canon;
      for (const auto& [name, hash] : parts) canon += name + "=" + hash + "\n";
      chains_[c].version = Sha256Hex(canon, 16);
    }
    std::string all;
    for (const FlowFile& f : files_) all += f.path + "=" + f.version + "\n";
    version_ = Sha256Hex(all, 16);
  }

  const NodeKindRegistry& kinds_;
  const SourceSet& sources_;
  Diagnostics& diags_;
  std::map<std::string, uint32_t, std::less<>> node_ids_;
  std::map<std::string, uint32_t, std::less<>> chain_ids_;
  std::vector<const YamlNode*> chain_decls_;
  std::map<size_t, std::vector<std::pair<uint32_t, Location>>> calls_;
};

}  // namespace

FlowCompiler::FlowCompiler(const NodeKindRegistry& kinds) : kinds_(kinds) {}
FlowCompiler::~FlowCompiler() = default;

void FlowCompiler::AddFile(std::string path, std::string text) { sources_.Add(std::move(path), std::move(text)); }

Status FlowCompiler::AddPath(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      std::string ext = entry.path().extension().string();
      if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path().string());
    }
    if (ec) return Status::Io("cannot list " + path + ": " + ec.message());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return Status::Io("cannot read " + f);
    std::ostringstream text;
    text << in.rdbuf();
    AddFile(f, text.str());
  }
  return Status::Ok();
}

std::shared_ptr<const FlowGraph> FlowCompiler::Compile(Diagnostics& diags) {
  size_t before = diags.size();
  CompileRun run(kinds_, sources_, diags);
  run.Run();
  if (diags.size() != before) return nullptr;
  auto graph = std::make_shared<FlowGraph>();
  graph->nodes_ = std::move(run.nodes_);
  graph->constructs_ = std::move(run.constructs_);
  graph->chains_ = std::move(run.chains_);
  graph->files_ = std::move(run.files_);
  graph->version_ = std::move(run.version_);
  return graph;
}

}  // namespace reach::dsl
