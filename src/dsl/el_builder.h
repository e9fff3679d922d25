#pragma once
// ElBuilder (internal to the compiler): turns one chain's parsed EL into constructs of a
// FlowGraph, checking LiteFlow's rules: known names, arities, what may stand where (a boolean
// node for IF, a switch node for SWITCH, ...), PRE/FINALLY only inside THEN, methods only on
// the constructs that have them, no suspending node inside AND/OR/NOT.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/el_parser.h"
#include "dsl/flow_graph.h"

namespace reach::dsl {

class ElBuilder {
 public:
  // Callbacks into the compiler's tables.
  struct Tables {
    std::vector<NodeDef>* nodes;
    std::vector<Construct>* constructs;
    const std::map<std::string, uint32_t, std::less<>>* node_ids;
    const std::map<std::string, uint32_t, std::less<>>* chain_names;
  };

  // `locate` maps a byte offset inside the EL source to a file location.
  ElBuilder(Tables tables, std::function<Location(size_t)> locate, Diagnostics& diags);

  // Builds the chain body from `program`; returns the root construct index or kNone.
  // `called_chains` receives (chain index, location) for every chain referenced.
  int32_t BuildChain(const ElProgram& program, std::vector<std::pair<uint32_t, Location>>& called_chains);

 private:
  // What the parent needs from an expression.
  enum class Use : uint8_t { kStep, kBoolean, kSwitch, kFor, kIterator };
  struct Context {
    bool in_logic = false;  // inside AND / OR / NOT: no suspending node
    int depth = 0;
  };

  int32_t Build(const ElExpr& e, Use use, Context ctx);          // + completeness checks
  int32_t BuildInner(const ElExpr& e, Use use, Context ctx);
  int32_t BuildIdent(const ElExpr& e, Use use, Context ctx);
  int32_t BuildCall(const ElExpr& e, Use use, Context ctx);
  int32_t BuildMethod(const ElExpr& e, Use use, Context ctx);
  int32_t BuildNodeUse(uint32_t node, const ElExpr& at, Use use, Context ctx);
  int32_t BuildThen(const ElExpr& e, Context ctx);
  bool CheckArity(const ElExpr& e, size_t min, size_t max);
  bool ReadBoolArg(const ElExpr& m, bool& out);
  bool ReadStringArgs(const ElExpr& m, std::vector<std::string>& out, size_t min);
  bool ReadIntArg(const ElExpr& m, size_t i, int64_t& out);
  int32_t NewConstruct(ConstructKind kind, const ElExpr& at);
  Construct& C(int32_t i) { return (*tables_.constructs)[static_cast<size_t>(i)]; }
  void Error(size_t offset, std::string message);
  static std::string_view UseName(Use use);
  std::string Suggest(std::string_view name) const;

  Tables tables_;
  std::function<Location(size_t)> locate_;
  Diagnostics& diags_;
  std::map<std::string, const ElExpr*, std::less<>> variables_;
  std::set<int32_t> elif_made_;          // IF constructs made by .ELIF (the else-chain)
  std::vector<std::string> expanding_;  // variables being expanded (self-reference check)
  std::vector<std::pair<uint32_t, Location>>* called_ = nullptr;
};

}  // namespace reach::dsl
