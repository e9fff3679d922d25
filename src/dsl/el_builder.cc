#include "dsl/el_builder.h"

#include <boost/json.hpp>

namespace reach::dsl {
namespace {

constexpr int kMaxDepth = 200;

// The EL's functions (calls written F(...)) and methods (written x.m(...)).
const std::vector<std::string> kFunctions = {"THEN", "SER", "WHEN", "PAR", "IF", "SWITCH", "FOR", "WHILE",
                                             "ITERATOR", "CATCH", "AND", "OR", "NOT", "PRE", "FINALLY", "node"};
const std::vector<std::string> kMethods = {"ELIF", "ELSE", "TO", "to", "DEFAULT", "default", "DO", "BREAK",
                                           "parallel", "any", "ignoreError", "must", "threadPool", "id", "tag",
                                           "data", "retry", "maxWaitSeconds", "maxWaitMilliseconds"};

bool IsLoop(ConstructKind k) {
  return k == ConstructKind::kFor || k == ConstructKind::kWhile || k == ConstructKind::kIterator;
}

}  // namespace

ElBuilder::ElBuilder(Tables tables, std::function<Location(size_t)> locate, Diagnostics& diags)
    : tables_(tables), locate_(std::move(locate)), diags_(diags) {}

void ElBuilder::Error(size_t offset, std::string message) { diags_.Error(locate_(offset), std::move(message)); }

std::string_view ElBuilder::UseName(Use use) {
  switch (use) {
    case Use::kStep: return "a step";
    case Use::kBoolean: return "a boolean node";
    case Use::kSwitch: return "a switch node";
    case Use::kFor: return "a for node (a count)";
    case Use::kIterator: return "an iterator node (a list)";
  }
  return "?";
}

std::string ElBuilder::Suggest(std::string_view name) const {
  std::vector<std::string> names;
  for (const auto& [k, v] : *tables_.node_ids) names.push_back(k);
  for (const auto& [k, v] : *tables_.chain_names) names.push_back(k);
  for (const auto& [k, v] : variables_) names.push_back(k);
  for (const auto& f : kFunctions) names.push_back(f);
  std::string best = ClosestMatch(name, names);
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

int32_t ElBuilder::NewConstruct(ConstructKind kind, const ElExpr& at) {
  Construct c;
  c.kind = kind;
  c.index = static_cast<uint32_t>(tables_.constructs->size());
  c.where = locate_(at.offset);
  tables_.constructs->push_back(std::move(c));
  return static_cast<int32_t>(tables_.constructs->size() - 1);
}

int32_t ElBuilder::BuildChain(const ElProgram& program, std::vector<std::pair<uint32_t, Location>>& called) {
  called_ = &called;
  const ElStatement* body = nullptr;
  for (size_t i = 0; i < program.statements.size(); ++i) {
    const ElStatement& st = program.statements[i];
    bool last = i + 1 == program.statements.size();
    if (!st.variable.empty()) {
      if (tables_.node_ids->count(st.variable) || tables_.chain_names->count(st.variable))
        Error(st.variable_offset, "variable '" + st.variable + "' hides the node or chain of the same name");
      variables_[st.variable] = st.expr.get();
      if (last) body = &st;
    } else if (last) {
      body = &st;
    } else {
      Error(st.expr->offset, "only the last statement may be the chain's expression; earlier ones must be assignments (name = ...)");
    }
  }
  if (!body) return kNone;
  Context ctx;
  return Build(*body->expr, Use::kStep, ctx);
}

int32_t ElBuilder::Build(const ElExpr& e, Use use, Context ctx) {
  int32_t c = BuildInner(e, use, ctx);
  if (c == kNone) return c;
  const Construct& k = C(c);
  if (IsLoop(k.kind) && k.children.empty())
    Error(e.offset, std::string(ConstructKindName(k.kind)) + " needs .DO(...)");
  if (k.kind == ConstructKind::kSwitch && k.children.empty()) Error(e.offset, "SWITCH needs .TO(...)");
  return c;
}

int32_t ElBuilder::BuildInner(const ElExpr& e, Use use, Context ctx) {
  if (++ctx.depth > kMaxDepth) {
    Error(e.offset, "expression nested too deeply");
    return kNone;
  }
  switch (e.kind) {
    case ElExpr::Kind::kIdent: return BuildIdent(e, use, ctx);
    case ElExpr::Kind::kCall: return BuildCall(e, use, ctx);
    case ElExpr::Kind::kMethod: return BuildMethod(e, use, ctx);
    case ElExpr::Kind::kString:
      Error(e.offset, "a string cannot stand here; write node(\"" + e.text + "\") for a node whose id is not a plain name");
      return kNone;
    case ElExpr::Kind::kNumber:
      Error(e.offset, "a number can only be the count of FOR(n)");
      return kNone;
    case ElExpr::Kind::kBool:
      Error(e.offset, "'" + e.text + "' cannot stand here");
      return kNone;
  }
  return kNone;
}

int32_t ElBuilder::BuildIdent(const ElExpr& e, Use use, Context ctx) {
  if (auto v = variables_.find(e.text); v != variables_.end()) {
    for (const std::string& name : expanding_)
      if (name == e.text) {
        Error(e.offset, "variable '" + e.text + "' refers to itself");
        return kNone;
      }
    expanding_.push_back(e.text);
    int32_t c = Build(*v->second, use, ctx);
    expanding_.pop_back();
    return c;
  }
  if (auto n = tables_.node_ids->find(e.text); n != tables_.node_ids->end())
    return BuildNodeUse(n->second, e, use, ctx);
  if (auto ch = tables_.chain_names->find(e.text); ch != tables_.chain_names->end()) {
    if (use != Use::kStep) {
      Error(e.offset, "chain '" + e.text + "' cannot be used as " + std::string(UseName(use)));
      return kNone;
    }
    int32_t c = NewConstruct(ConstructKind::kChain, e);
    C(c).chain = static_cast<int32_t>(ch->second);
    called_->push_back({ch->second, locate_(e.offset)});
    return c;
  }
  for (const auto& f : kFunctions)
    if (f == e.text) {
      Error(e.offset, "'" + e.text + "' must be called: " + e.text + "(...)");
      return kNone;
    }
  Error(e.offset, "unknown node or chain '" + e.text + "'" + Suggest(e.text));
  return kNone;
}

int32_t ElBuilder::BuildNodeUse(uint32_t node, const ElExpr& at, Use use, Context ctx) {
  const NodeDef& def = (*tables_.nodes)[node];
  bool fits = def.role == NodeRole::kAny;
  switch (use) {
    case Use::kStep: fits = true; break;
    case Use::kBoolean: fits = fits || def.role == NodeRole::kBoolean; break;
    case Use::kSwitch: fits = fits || def.role == NodeRole::kSwitch; break;
    case Use::kFor: fits = fits || def.role == NodeRole::kFor; break;
    case Use::kIterator: fits = fits || def.role == NodeRole::kIterator; break;
  }
  if (!fits) {
    Error(at.offset, "'" + def.id + "' is a " + std::string(NodeRoleName(def.role)) + " node (type " + def.type +
                         "), but " + std::string(UseName(use)) + " is needed here");
    return kNone;
  }
  if (ctx.in_logic && def.kind && def.kind->CanSuspend()) {
    Error(at.offset, "'" + def.id + "' (" + def.type +
                         ") can suspend the execution and cannot be an operand of AND/OR/NOT; test it with IF or combine waits with WHEN");
    return kNone;
  }
  int32_t c = NewConstruct(ConstructKind::kNode, at);
  C(c).node = static_cast<int32_t>(node);
  return c;
}

bool ElBuilder::CheckArity(const ElExpr& e, size_t min, size_t max) {
  size_t n = e.args.size();
  if (n >= min && n <= max) return true;
  std::string want = min == max ? std::to_string(min)
                     : max == SIZE_MAX ? "at least " + std::to_string(min)
                                       : std::to_string(min) + " to " + std::to_string(max);
  Error(e.offset, e.text + " takes " + want + " argument" + (min == 1 && max == 1 ? "" : "s") + ", got " +
                      std::to_string(n));
  return false;
}

int32_t ElBuilder::BuildThen(const ElExpr& e, Context ctx) {
  std::vector<uint32_t> pre, body, fin;
  bool ok = true;
  for (const auto& arg : e.args) {
    bool is_pre = arg->kind == ElExpr::Kind::kCall && arg->text == "PRE";
    bool is_fin = arg->kind == ElExpr::Kind::kCall && arg->text == "FINALLY";
    if (is_pre || is_fin) {
      if (!CheckArity(*arg, 1, SIZE_MAX)) {
        ok = false;
        continue;
      }
      for (const auto& item : arg->args) {
        int32_t c = Build(*item, Use::kStep, ctx);
        if (c == kNone) ok = false;
        else (is_pre ? pre : fin).push_back(static_cast<uint32_t>(c));
      }
      continue;
    }
    int32_t c = Build(*arg, Use::kStep, ctx);
    if (c == kNone) ok = false;
    else body.push_back(static_cast<uint32_t>(c));
  }
  if (!ok) return kNone;
  int32_t t = NewConstruct(ConstructKind::kThen, e);
  Construct& k = C(t);
  k.pre_count = static_cast<uint16_t>(pre.size());
  k.finally_count = static_cast<uint16_t>(fin.size());
  k.children = std::move(pre);
  k.children.insert(k.children.end(), body.begin(), body.end());
  k.children.insert(k.children.end(), fin.begin(), fin.end());
  return t;
}

int32_t ElBuilder::BuildCall(const ElExpr& e, Use use, Context ctx) {
  const std::string& f = e.text;
  bool logic = f == "AND" || f == "OR" || f == "NOT";
  bool leaf = f == "node";
  if (f == "PRE" || f == "FINALLY") {
    Error(e.offset, f + " is only allowed directly inside THEN");
    return kNone;
  }
  if (leaf) {
    if (!CheckArity(e, 1, 1)) return kNone;
    if (e.args[0]->kind != ElExpr::Kind::kString) {
      Error(e.args[0]->offset, "node(...) takes the node's id as a string");
      return kNone;
    }
    auto n = tables_.node_ids->find(e.args[0]->text);
    if (n == tables_.node_ids->end()) {
      Error(e.args[0]->offset, "unknown node '" + e.args[0]->text + "'" + Suggest(e.args[0]->text));
      return kNone;
    }
    return BuildNodeUse(n->second, e, use, ctx);
  }
  bool known = logic;
  for (const auto& k : kFunctions) known = known || k == f;
  if (!known) {
    if (tables_.node_ids->count(f) || tables_.chain_names->count(f))
      Error(e.offset, "'" + f + "' is a node or chain, not a function: write it without '(...)'");
    else
      Error(e.offset, "unknown function '" + f + "'" + Suggest(f));
    return kNone;
  }
  if (use == Use::kBoolean && !logic) {
    Error(e.offset, f + " cannot be a condition; " + std::string(UseName(use)) + " or AND/OR/NOT is needed here");
    return kNone;
  }
  if (use != Use::kBoolean && logic) {
    Error(e.offset, f + " can only be a condition (of IF, ELIF, WHILE or BREAK), not " + std::string(UseName(use)));
    return kNone;
  }
  if (use != Use::kStep && use != Use::kBoolean) {
    Error(e.offset, f + " cannot stand here; " + std::string(UseName(use)) + " is needed");
    return kNone;
  }

  if (f == "THEN" || f == "SER") {
    if (!CheckArity(e, 1, SIZE_MAX)) return kNone;
    return BuildThen(e, ctx);
  }
  if (f == "WHEN" || f == "PAR") {
    if (!CheckArity(e, 1, SIZE_MAX)) return kNone;
    std::vector<uint32_t> branches;
    bool ok = true;
    for (const auto& arg : e.args) {
      int32_t c = Build(*arg, Use::kStep, ctx);
      if (c == kNone) ok = false;
      else branches.push_back(static_cast<uint32_t>(c));
    }
    if (!ok) return kNone;
    int32_t w = NewConstruct(ConstructKind::kWhen, e);
    C(w).children = std::move(branches);
    return w;
  }
  if (f == "IF") {
    if (!CheckArity(e, 2, 3)) return kNone;
    int32_t cond = Build(*e.args[0], Use::kBoolean, ctx);
    int32_t then = Build(*e.args[1], Use::kStep, ctx);
    int32_t els = e.args.size() == 3 ? Build(*e.args[2], Use::kStep, ctx) : kNone;
    if (cond == kNone || then == kNone || (e.args.size() == 3 && els == kNone)) return kNone;
    int32_t i = NewConstruct(ConstructKind::kIf, e);
    C(i).condition = cond;
    C(i).children.push_back(static_cast<uint32_t>(then));
    if (els != kNone) C(i).children.push_back(static_cast<uint32_t>(els));
    return i;
  }
  if (f == "SWITCH") {
    if (!CheckArity(e, 1, 1)) return kNone;
    int32_t sel = Build(*e.args[0], Use::kSwitch, ctx);
    if (sel == kNone) return kNone;
    int32_t s = NewConstruct(ConstructKind::kSwitch, e);
    C(s).condition = sel;
    return s;
  }
  if (f == "FOR") {
    if (!CheckArity(e, 1, 1)) return kNone;
    const ElExpr& a = *e.args[0];
    int32_t s;
    if (a.kind == ElExpr::Kind::kNumber) {
      if (!a.integral || a.number < 0 || a.number > 1e9) {
        Error(a.offset, "FOR's count must be a whole number from 0 to 1000000000");
        return kNone;
      }
      s = NewConstruct(ConstructKind::kFor, e);
      C(s).for_count = static_cast<int64_t>(a.number);
    } else {
      int32_t n = Build(a, Use::kFor, ctx);
      if (n == kNone) return kNone;
      s = NewConstruct(ConstructKind::kFor, e);
      C(s).condition = n;
    }
    return s;
  }
  if (f == "WHILE" || f == "ITERATOR") {
    if (!CheckArity(e, 1, 1)) return kNone;
    int32_t n = Build(*e.args[0], f == "WHILE" ? Use::kBoolean : Use::kIterator, ctx);
    if (n == kNone) return kNone;
    int32_t s = NewConstruct(f == "WHILE" ? ConstructKind::kWhile : ConstructKind::kIterator, e);
    C(s).condition = n;
    return s;
  }
  if (f == "CATCH") {
    if (!CheckArity(e, 1, 1)) return kNone;
    int32_t body = Build(*e.args[0], Use::kStep, ctx);
    if (body == kNone) return kNone;
    int32_t s = NewConstruct(ConstructKind::kCatch, e);
    C(s).children.push_back(static_cast<uint32_t>(body));
    return s;
  }
  // AND / OR / NOT
  if (!CheckArity(e, f == "NOT" ? 1 : 2, f == "NOT" ? 1 : SIZE_MAX)) return kNone;
  Context inner = ctx;
  inner.in_logic = true;
  std::vector<uint32_t> ops;
  bool ok = true;
  for (const auto& arg : e.args) {
    int32_t c = Build(*arg, Use::kBoolean, inner);
    if (c == kNone) ok = false;
    else ops.push_back(static_cast<uint32_t>(c));
  }
  if (!ok) return kNone;
  int32_t s = NewConstruct(f == "AND" ? ConstructKind::kAnd : f == "OR" ? ConstructKind::kOr : ConstructKind::kNot, e);
  C(s).children = std::move(ops);
  return s;
}

bool ElBuilder::ReadBoolArg(const ElExpr& m, bool& out) {
  if (!CheckArity(m, 1, 1)) return false;
  if (m.args[0]->kind != ElExpr::Kind::kBool) {
    Error(m.args[0]->offset, m.text + "(...) takes true or false");
    return false;
  }
  out = m.args[0]->boolean;
  return true;
}

bool ElBuilder::ReadIntArg(const ElExpr& m, size_t i, int64_t& out) {
  const ElExpr& a = *m.args[i];
  if (a.kind != ElExpr::Kind::kNumber || !a.integral || a.number < 0 || a.number > 1e12) {
    Error(a.offset, m.text + "(...) takes a whole number, not " + (a.text.empty() ? "this" : "'" + a.text + "'"));
    return false;
  }
  out = static_cast<int64_t>(a.number);
  return true;
}

bool ElBuilder::ReadStringArgs(const ElExpr& m, std::vector<std::string>& out, size_t min) {
  if (!CheckArity(m, min, SIZE_MAX)) return false;
  for (const auto& a : m.args) {
    const ElExpr* s = a.get();
    if (s->kind == ElExpr::Kind::kIdent) {
      // A variable holding a string, or a bare name (LiteFlow accepts both for .must(a, b)).
      auto v = variables_.find(s->text);
      if (v != variables_.end() && v->second->kind == ElExpr::Kind::kString) s = v->second;
      else {
        out.push_back(s->text);
        continue;
      }
    }
    if (s->kind != ElExpr::Kind::kString) {
      Error(a->offset, m.text + "(...) takes strings");
      return false;
    }
    out.push_back(s->text);
  }
  return true;
}

int32_t ElBuilder::BuildMethod(const ElExpr& m, Use use, Context ctx) {
  const std::string& name = m.text;
  // The branch-building methods (.DO, .TO, .ELSE, ...) give the receiver its body; the
  // decorations (.id, .tag, .retry, ...) apply to whatever the receiver is.
  int32_t r = BuildInner(*m.receiver, use, ctx);
  if (r == kNone) return kNone;
  ConstructKind kind = C(r).kind;
  auto wrong_receiver = [&](std::string_view what) {
    Error(m.offset, "." + name + "(...) applies to " + std::string(what) + ", not to " +
                        std::string(ConstructKindName(kind)));
    return kNone;
  };

  if (name == "ELIF" || name == "ELSE") {
    if (kind != ConstructKind::kIf) return wrong_receiver("IF");
    // Walk to the last IF of the ELIF chain: ELIF and ELSE attach there.
    int32_t cur = r;
    while (C(cur).children.size() == 2 && elif_made_.count(static_cast<int32_t>(C(cur).children[1])))
      cur = static_cast<int32_t>(C(cur).children[1]);
    if (C(cur).children.size() == 2) {
      Error(m.offset, "." + name + "(...) after the IF already has an else branch");
      return kNone;
    }
    int32_t branch;
    if (name == "ELSE") {
      if (!CheckArity(m, 1, 1)) return kNone;
      branch = Build(*m.args[0], Use::kStep, ctx);
    } else {
      if (!CheckArity(m, 2, 2)) return kNone;
      int32_t cond = Build(*m.args[0], Use::kBoolean, ctx);
      int32_t then = Build(*m.args[1], Use::kStep, ctx);
      if (cond == kNone || then == kNone) return kNone;
      branch = NewConstruct(ConstructKind::kIf, m);
      C(branch).condition = cond;
      C(branch).children.push_back(static_cast<uint32_t>(then));
      elif_made_.insert(branch);
    }
    if (branch == kNone) return kNone;
    C(cur).children.push_back(static_cast<uint32_t>(branch));
    return r;
  }
  if (name == "TO" || name == "to") {
    if (kind != ConstructKind::kSwitch) return wrong_receiver("SWITCH");
    if (!C(r).children.empty()) {
      Error(m.offset, "SWITCH has .TO(...) twice");
      return kNone;
    }
    if (!CheckArity(m, 1, SIZE_MAX)) return kNone;
    std::vector<uint32_t> targets;
    for (const auto& a : m.args) {
      int32_t t = Build(*a, Use::kStep, ctx);
      if (t == kNone) return kNone;
      targets.push_back(static_cast<uint32_t>(t));
    }
    C(r).children = std::move(targets);
    return r;
  }
  if (name == "DEFAULT" || name == "default") {
    if (kind != ConstructKind::kSwitch) return wrong_receiver("SWITCH");
    if (!CheckArity(m, 1, 1)) return kNone;
    if (C(r).default_target != kNone) {
      Error(m.offset, "SWITCH has .DEFAULT(...) twice");
      return kNone;
    }
    int32_t t = Build(*m.args[0], Use::kStep, ctx);
    if (t == kNone) return kNone;
    C(r).default_target = t;
    return r;
  }
  if (name == "DO") {
    if (!IsLoop(kind) && kind != ConstructKind::kCatch) return wrong_receiver("FOR, WHILE, ITERATOR or CATCH");
    if (!CheckArity(m, 1, 1)) return kNone;
    bool has_body = kind == ConstructKind::kCatch ? C(r).children.size() > 1 : !C(r).children.empty();
    if (has_body) {
      Error(m.offset, std::string(ConstructKindName(kind)) + " has .DO(...) twice");
      return kNone;
    }
    int32_t body = Build(*m.args[0], Use::kStep, ctx);
    if (body == kNone) return kNone;
    C(r).children.push_back(static_cast<uint32_t>(body));
    return r;
  }
  if (name == "BREAK") {
    if (!IsLoop(kind)) return wrong_receiver("FOR, WHILE or ITERATOR");
    if (!CheckArity(m, 1, 1)) return kNone;
    if (C(r).children.empty()) {
      Error(m.offset, ".BREAK(...) must follow .DO(...)");
      return kNone;
    }
    int32_t b = Build(*m.args[0], Use::kBoolean, ctx);
    if (b == kNone) return kNone;
    C(r).break_condition = b;
    return r;
  }
  if (name == "parallel") {
    if (!IsLoop(kind)) return wrong_receiver("FOR, WHILE or ITERATOR");
    bool v;
    if (!ReadBoolArg(m, v)) return kNone;
    C(r).parallel = v;
    return r;
  }
  if (name == "any" || name == "ignoreError" || name == "must" || name == "threadPool") {
    if (kind != ConstructKind::kWhen) return wrong_receiver("WHEN");
    if (name == "any") {
      bool v;
      if (!ReadBoolArg(m, v)) return kNone;
      C(r).any = v;
    } else if (name == "ignoreError") {
      bool v;
      if (!ReadBoolArg(m, v)) return kNone;
      C(r).ignore_error = v;
    } else if (name == "must") {
      std::vector<std::string> ids;
      if (!ReadStringArgs(m, ids, 1)) return kNone;
      C(r).must = std::move(ids);
    } else {
      // LiteFlow's thread pool choice: Reach schedules branches itself; accepted, no effect.
      std::vector<std::string> ignored;
      if (!ReadStringArgs(m, ignored, 1)) return kNone;
    }
    return r;
  }
  if (name == "id" || name == "tag") {
    std::vector<std::string> v;
    if (!CheckArity(m, 1, 1) || !ReadStringArgs(m, v, 1)) return kNone;
    if (v[0].empty()) {
      Error(m.args[0]->offset, "." + name + "(...) must not be empty");
      return kNone;
    }
    (name == "id" ? C(r).user_id : C(r).tag) = v[0];
    return r;
  }
  if (name == "data") {
    std::vector<std::string> v;
    if (!CheckArity(m, 1, 1) || !ReadStringArgs(m, v, 1)) return kNone;
    boost::system::error_code ec;
    boost::json::value j = boost::json::parse(v[0], ec);
    // LiteFlow passes non-JSON data through as a plain string.
    C(r).data = ec ? boost::json::value(boost::json::string(v[0])) : std::move(j);
    return r;
  }
  if (name == "retry") {
    if (!CheckArity(m, 1, SIZE_MAX)) return kNone;
    int64_t n;
    if (!ReadIntArg(m, 0, n)) return kNone;
    if (n > 1000) {
      Error(m.args[0]->offset, ".retry(...) takes at most 1000 attempts");
      return kNone;
    }
    C(r).retry = static_cast<uint32_t>(n);
    for (size_t i = 1; i < m.args.size(); ++i) {
      if (m.args[i]->kind != ElExpr::Kind::kString) {
        Error(m.args[i]->offset, ".retry(n, ...) names errors as strings");
        return kNone;
      }
      C(r).retry_on.push_back(m.args[i]->text);
    }
    return r;
  }
  if (name == "maxWaitSeconds" || name == "maxWaitMilliseconds") {
    if (!CheckArity(m, 1, 1)) return kNone;
    int64_t n;
    if (!ReadIntArg(m, 0, n)) return kNone;
    if (n == 0) {
      Error(m.args[0]->offset, "." + name + "(...) must be greater than 0");
      return kNone;
    }
    C(r).max_wait_millis = name == "maxWaitSeconds" ? n * 1000 : n;
    return r;
  }
  std::string best = ClosestMatch(name, kMethods);
  Error(m.offset, "unknown method '." + name + "'" + (best.empty() ? "" : " (did you mean '." + best + "'?)"));
  return kNone;
}

}  // namespace reach::dsl
