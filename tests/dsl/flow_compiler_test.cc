// The flow language: every EL construct compiles to the expected graph shape, and every kind
// of mistake is reported with its exact message, line and column.
#include <gtest/gtest.h>

#include "dsl/flow_compiler.h"
#include "nodes/builtin_kinds.h"

namespace reach::dsl {
namespace {

// Nodes every test may use: a..e ordinary steps, x/y booleans, sw a switch, n3 a count,
// lst a list, w a wait.
const char* kNodes = R"(flow:
  nodes:
    - {id: a, type: noop}
    - {id: b, type: noop}
    - {id: c, type: noop}
    - {id: d, type: noop}
    - {id: e, type: noop}
    - {id: x, type: condition, if: 'user.age > 18'}
    - {id: y, type: condition, if: 'has_tag("vip")'}
    - {id: sw, type: switch, to: '"b"'}
    - {id: n3, type: expr, value: '3'}
    - {id: lst, type: expr, value: '[1, 2]'}
    - {id: w, type: wait_event, event: form_submitted, timeout: 3d}
    - {id: odd-id, type: noop}
  chain:
)";

struct Compiled {
  std::shared_ptr<const FlowGraph> graph;
  std::string errors;
  uint32_t value_line = 0;  // the line of the last chain's `value:`
};

// Adds chains (name -> EL) after kNodes; each EL is written as `      value: "EL"`, so the EL
// starts at column 15 of its line.
Compiled CompileChains(const std::vector<std::pair<std::string, std::string>>& chains, std::string nodes = kNodes) {
  std::string text = std::move(nodes);
  Compiled out;
  for (const auto& [name, el] : chains) {
    text += "    - name: " + name + "\n";
    out.value_line = static_cast<uint32_t>(std::count(text.begin(), text.end(), '\n') + 1);
    text += "      value: \"" + el + "\"\n";
  }
  FlowCompiler compiler(nodes::BuiltinKinds());
  compiler.AddFile("f.yaml", text);
  Diagnostics diags;
  out.graph = compiler.Compile(diags);
  out.errors = diags.Format(compiler.sources());
  return out;
}

Compiled CompileOne(const std::string& el) { return CompileChains({{"main", el}}); }

std::string Shape(const std::string& el) {
  Compiled c = CompileOne(el);
  if (!c.graph) return "ERROR " + c.errors;
  return c.graph->Render(c.graph->chain(static_cast<uint32_t>(c.graph->FindChain("main"))).root);
}

// "f.yaml:LINE:COL: message" for an error in the EL at 0-based `offset`.
std::string At(const Compiled& c, size_t offset, const std::string& message) {
  return "f.yaml:" + std::to_string(c.value_line) + ":" + std::to_string(15 + offset) + ": " + message;
}

// --- shapes -------------------------------------------------------------------------------

TEST(FlowCompiler, ThenAndSerCompileToSequences) {
  EXPECT_EQ(Shape("THEN(a, b, c);"), "THEN(a,b,c)");
  EXPECT_EQ(Shape("SER(a, THEN(b, c))"), "THEN(a,THEN(b,c))");
}

TEST(FlowCompiler, WhenAndParKeepTheirOptions) {
  EXPECT_EQ(Shape("WHEN(a, b).any(true)"), "WHEN(a,b).any(true)");
  EXPECT_EQ(Shape("PAR(a, b).ignoreError(true)"), "WHEN(a,b).ignoreError(true)");
  EXPECT_EQ(Shape("WHEN(a, THEN(b, c).id(\\\"t1\\\")).must(\\\"t1\\\")"), "WHEN(a,THEN(b,c).id(\"t1\")).must(\"t1\")");
}

TEST(FlowCompiler, IfWithElifAndElseNestsIntoTheElseBranch) {
  EXPECT_EQ(Shape("IF(x, a)"), "IF(x,a)");
  EXPECT_EQ(Shape("IF(x, a, b)"), "IF(x,a,b)");
  EXPECT_EQ(Shape("IF(x, a).ELIF(y, b).ELSE(c)"), "IF(x,a,IF(y,b,c))");
  EXPECT_EQ(Shape("IF(AND(x, NOT(y)), a).ELSE(b)"), "IF(AND(x,NOT(y)),a,b)");
  EXPECT_EQ(Shape("IF(OR(x, y), a)"), "IF(OR(x,y),a)");
}

TEST(FlowCompiler, SwitchAcceptsUpperAndLowerCaseToAndDefault) {
  EXPECT_EQ(Shape("SWITCH(sw).TO(a, b).DEFAULT(c)"), "SWITCH(sw).TO(a,b).DEFAULT(c)");
  EXPECT_EQ(Shape("SWITCH(sw).to(a, b.tag(\\\"t\\\")).default(c)"), "SWITCH(sw).TO(a,b.tag(\"t\")).DEFAULT(c)");
}

TEST(FlowCompiler, LoopsTakeCountsNodesListsBreakAndParallel) {
  EXPECT_EQ(Shape("FOR(2).DO(THEN(a, b))"), "FOR(2).DO(THEN(a,b))");
  EXPECT_EQ(Shape("FOR(n3).DO(a).BREAK(x)"), "FOR(n3).DO(a).BREAK(x)");
  EXPECT_EQ(Shape("WHILE(x).DO(a)"), "WHILE(x).DO(a)");
  EXPECT_EQ(Shape("ITERATOR(lst).DO(a).parallel(true)"), "ITERATOR(lst).DO(a).parallel(true)");
}

TEST(FlowCompiler, CatchWithAndWithoutDo) {
  EXPECT_EQ(Shape("CATCH(THEN(a, b)).DO(c)"), "CATCH(THEN(a,b)).DO(c)");
  EXPECT_EQ(Shape("CATCH(a)"), "CATCH(a)");
}

TEST(FlowCompiler, PreAndFinallyAreCollectedAtTheEndsOfThen) {
  EXPECT_EQ(Shape("THEN(FINALLY(e), a, PRE(b, c), d)"), "THEN(PRE(b,c),a,d,FINALLY(e))");
}

TEST(FlowCompiler, DecorationsAreKept) {
  EXPECT_EQ(Shape("THEN(a.id(\\\"s1\\\").tag(\\\"t\\\"), b.retry(3), c.maxWaitSeconds(2), d.maxWaitMilliseconds(150))"),
            "THEN(a.id(\"s1\").tag(\"t\"),b.retry(3),c.maxWaitMilliseconds(2000),d.maxWaitMilliseconds(150))");
  EXPECT_EQ(Shape("THEN(a, b).retry(2, 'NodeError')"), "THEN(a,b).retry(2,\"NodeError\")");
  EXPECT_EQ(Shape("a.data('{\\\"k\\\": 1}')"), "a.data(\"{\\\"k\\\":1}\")");
}

TEST(FlowCompiler, SubVariablesExpandAtEachUse) {
  Compiled c = CompileOne("t1 = THEN(a, b); w1 = WHEN(c, d); THEN(t1, w1, t1);");
  ASSERT_TRUE(c.graph) << c.errors;
  const ChainDef& main = c.graph->chain(0);
  EXPECT_EQ(c.graph->Render(main.root), "THEN(THEN(a,b),WHEN(c,d),THEN(a,b))");
  // Each use is its own construct: the two THEN(a,b) have distinct indices.
  const Construct& root = c.graph->construct(main.root);
  EXPECT_NE(root.children[0], root.children[2]);
}

TEST(FlowCompiler, NodeFunctionReachesIdsThatAreNotNames) {
  EXPECT_EQ(Shape("THEN(node(\\\"odd-id\\\"), a)"), "THEN(odd-id,a)");
}

TEST(FlowCompiler, CommentsAreIgnored) {
  EXPECT_EQ(Shape("/** start **/ THEN(a, /* mid */ b) // end"), "THEN(a,b)");
}

TEST(FlowCompiler, SubChainsAreReferencedNotCopied) {
  Compiled c = CompileChains({{"sub", "THEN(b, c)"}, {"main", "THEN(a, sub, sub)"}});
  ASSERT_TRUE(c.graph) << c.errors;
  const ChainDef& main = c.graph->chain(static_cast<uint32_t>(c.graph->FindChain("main")));
  const Construct& root = c.graph->construct(main.root);
  const Construct& call = c.graph->construct(root.children[1]);
  EXPECT_EQ(call.kind, ConstructKind::kChain);
  EXPECT_EQ(call.chain, c.graph->FindChain("sub"));
}

TEST(FlowCompiler, ConstructIndicesAndVersionsAreStable) {
  Compiled one = CompileOne("THEN(a, IF(x, b, c))");
  Compiled two = CompileOne("THEN(a, IF(x, b, c))");
  ASSERT_TRUE(one.graph && two.graph);
  EXPECT_EQ(one.graph->chain(0).version, two.graph->chain(0).version);
  EXPECT_EQ(one.graph->version(), two.graph->version());
  ASSERT_EQ(one.graph->constructs().size(), two.graph->constructs().size());
  for (size_t i = 0; i < one.graph->constructs().size(); ++i)
    EXPECT_EQ(one.graph->Render(static_cast<uint32_t>(i)), two.graph->Render(static_cast<uint32_t>(i)));
  Compiled changed = CompileOne("THEN(a, IF(x, c, b))");
  ASSERT_TRUE(changed.graph);
  EXPECT_NE(one.graph->chain(0).version, changed.graph->chain(0).version);
}

TEST(FlowCompiler, ChainVersionIgnoresChainsItDoesNotReach) {
  Compiled one = CompileChains({{"main", "THEN(a, b)"}, {"other", "THEN(c)"}});
  Compiled two = CompileChains({{"main", "THEN(a, b)"}, {"other", "THEN(d)"}});
  ASSERT_TRUE(one.graph && two.graph);
  EXPECT_EQ(one.graph->chain(0).version, two.graph->chain(0).version);
  EXPECT_NE(one.graph->chain(1).version, two.graph->chain(1).version);
}

TEST(FlowCompiler, LiteFlowRuleFileLoadsWithNodesDeclaredElsewhere) {
  FlowCompiler compiler(nodes::BuiltinKinds());
  compiler.AddFile("nodes.yaml", "flow:\n  nodes:\n    - {id: a, type: noop}\n    - {id: b, type: noop}\n");
  compiler.AddFile("liteflow.yaml", "flow:\n  chain:\n    - name: chain1\n      value: \"THEN(a, b);\"\n");
  Diagnostics diags;
  auto graph = compiler.Compile(diags);
  ASSERT_TRUE(graph) << diags.Format(compiler.sources());
  EXPECT_EQ(graph->Render(graph->chain(0).root), "THEN(a,b)");
}

TEST(FlowCompiler, LiteFlowNestedNodeListLoads) {
  FlowCompiler compiler(nodes::BuiltinKinds());
  compiler.AddFile("lf.yaml", "flow:\n  nodes:\n    node:\n      - {id: a, type: noop}\n  chain:\n    - id: c1\n      value: \"THEN(a)\"\n");
  Diagnostics diags;
  ASSERT_TRUE(compiler.Compile(diags)) << diags.Format(compiler.sources());
}

TEST(FlowCompiler, TriggersAndEntryRulesAreRead) {
  std::string text = std::string(kNodes) +
                     "    - name: ev\n      trigger: { event: subscribe, match: 'event.scene == \"qr\"' }\n"
                     "      entry: { reentry: after_exit, key: 'event.campaign' }\n      value: \"THEN(a)\"\n"
                     "    - name: cron\n      trigger: { schedule: \"0 10 * * *\", tz: Asia/Shanghai }\n      value: \"THEN(a)\"\n"
                     "    - name: man\n      trigger: { manual: true }\n      value: \"THEN(a)\"\n";
  FlowCompiler compiler(nodes::BuiltinKinds());
  compiler.AddFile("f.yaml", text);
  Diagnostics diags;
  auto g = compiler.Compile(diags);
  ASSERT_TRUE(g) << diags.Format(compiler.sources());
  EXPECT_EQ(g->chain(0).trigger.kind, Trigger::Kind::kEvent);
  EXPECT_EQ(g->chain(0).trigger.event, "subscribe");
  EXPECT_TRUE(g->chain(0).trigger.match);
  EXPECT_EQ(g->chain(0).entry.reentry, EntryRule::Reentry::kAfterExit);
  EXPECT_TRUE(g->chain(0).entry.key);
  EXPECT_EQ(g->chain(1).trigger.kind, Trigger::Kind::kSchedule);
  EXPECT_EQ(g->chain(1).trigger.tz, "Asia/Shanghai");
  EXPECT_EQ(g->chain(2).trigger.kind, Trigger::Kind::kManual);
}

TEST(FlowCompiler, NamedNodeLabelsShowIdAndName) {
  std::string nodes = "flow:\n  nodes:\n    - {id: a, type: noop, name: Welcome}\n  chain:\n";
  Compiled c = CompileChains({{"main", "THEN(a)"}}, nodes);
  ASSERT_TRUE(c.graph) << c.errors;
  EXPECT_EQ(c.graph->node(0).label, "a[Welcome]");
}

// --- errors -------------------------------------------------------------------------------

TEST(FlowCompilerErrors, UnknownNodeSuggestsTheClosestName) {
  Compiled c = CompileOne("THEN(a, bb)");
  EXPECT_FALSE(c.graph);
  EXPECT_NE(c.errors.find(At(c, 8, "unknown node or chain 'bb' (did you mean 'b'?)")), std::string::npos) << c.errors;
}

TEST(FlowCompilerErrors, ErrorsQuoteTheSourceLineWithACaret) {
  Compiled c = CompileOne("THEN(a, zz)");
  // Two spaces of indent, then the line; the caret under column 23.
  EXPECT_NE(c.errors.find("\n        value: \"THEN(a, zz)\"\n" + std::string(2 + 22, ' ') + "^\n"), std::string::npos)
      << c.errors;
}

TEST(FlowCompilerErrors, UnknownFunctionSuggestsTheClosestOne) {
  Compiled c = CompileOne("THNE(a, b)");
  EXPECT_NE(c.errors.find(At(c, 0, "unknown function 'THNE' (did you mean 'THEN'?)")), std::string::npos) << c.errors;
}

TEST(FlowCompilerErrors, UnbalancedParenthesesPointAtTheOpening) {
  Compiled c = CompileOne("THEN(a, b");
  EXPECT_NE(c.errors.find(At(c, 4, "unbalanced parentheses: '(' is never closed")), std::string::npos) << c.errors;
  Compiled d = CompileOne("THEN(a, b))");
  EXPECT_NE(d.errors.find(At(d, 10, "unbalanced parentheses: ')' without '('")), std::string::npos) << d.errors;
}

TEST(FlowCompilerErrors, WrongArityIsReported) {
  Compiled c = CompileOne("IF(x)");
  EXPECT_NE(c.errors.find(At(c, 0, "IF takes 2 to 3 arguments, got 1")), std::string::npos) << c.errors;
  Compiled d = CompileOne("IF(NOT(x, y), a)");
  EXPECT_NE(d.errors.find(At(d, 3, "NOT takes 1 argument, got 2")), std::string::npos) << d.errors;
  Compiled e = CompileOne("NOT(x)");
  EXPECT_NE(e.errors.find(At(e, 0, "NOT can only be a condition (of IF, ELIF, WHILE or BREAK), not a step")),
            std::string::npos)
      << e.errors;
}

TEST(FlowCompilerErrors, BooleanNodeWhereASwitchIsNeeded) {
  Compiled c = CompileOne("SWITCH(x).TO(a, b)");
  EXPECT_NE(c.errors.find(At(c, 7, "'x' is a boolean node (type condition), but a switch node is needed here")),
            std::string::npos)
      << c.errors;
}

TEST(FlowCompilerErrors, OrdinaryNodeWhereABooleanIsNeeded) {
  Compiled c = CompileOne("IF(a, b)");
  EXPECT_NE(c.errors.find(At(c, 3, "'a' is a common node (type noop), but a boolean node is needed here")),
            std::string::npos)
      << c.errors;
}

TEST(FlowCompilerErrors, PreOutsideThen) {
  Compiled c = CompileOne("WHEN(PRE(a), b)");
  EXPECT_NE(c.errors.find(At(c, 5, "PRE is only allowed directly inside THEN")), std::string::npos) << c.errors;
}

TEST(FlowCompilerErrors, CyclesBetweenChainsArePrinted) {
  Compiled c = CompileChains({{"one", "THEN(a, two)"}, {"two", "THEN(b, one)"}});
  EXPECT_FALSE(c.graph);
  EXPECT_NE(c.errors.find("cycle between chains: one -> two -> one"), std::string::npos) << c.errors;
}

TEST(FlowCompilerErrors, AWaitCannotBeAnOperandOfAnd) {
  Compiled c = CompileOne("IF(AND(x, w), a)");
  EXPECT_NE(c.errors.find(At(c, 10, "'w' (wait_event) can suspend the execution and cannot be an operand of "
                                    "AND/OR/NOT; test it with IF or combine waits with WHEN")),
            std::string::npos)
      << c.errors;
}

TEST(FlowCompilerErrors, LoopWithoutDo) {
  Compiled c = CompileOne("THEN(FOR(3), a)");
  EXPECT_NE(c.errors.find(At(c, 5, "FOR needs .DO(...)")), std::string::npos) << c.errors;
}

TEST(FlowCompilerErrors, ElseAfterElse) {
  Compiled c = CompileOne("IF(x, a, b).ELSE(c)");
  EXPECT_NE(c.errors.find(At(c, 12, ".ELSE(...) after the IF already has an else branch")), std::string::npos) << c.errors;
}

TEST(FlowCompilerErrors, MethodOnTheWrongConstruct) {
  Compiled c = CompileOne("THEN(a, b).TO(c)");
  EXPECT_NE(c.errors.find(At(c, 11, ".TO(...) applies to SWITCH, not to THEN")), std::string::npos) << c.errors;
  Compiled d = CompileOne("THEN(a).ani(true)");
  EXPECT_NE(d.errors.find(At(d, 8, "unknown method '.ani' (did you mean '.any'?)")), std::string::npos) << d.errors;
}

TEST(FlowCompilerErrors, EveryErrorIsReportedNotJustTheFirst) {
  Compiled c = CompileChains({{"one", "THEN(a, qq)"}, {"two", "IF(a, b)"}});
  EXPECT_NE(c.errors.find("unknown node or chain 'qq'"), std::string::npos) << c.errors;
  EXPECT_NE(c.errors.find("'a' is a common node"), std::string::npos) << c.errors;
}

TEST(FlowCompilerErrors, UnknownNodeTypeSuggestsTheClosestKind) {
  std::string nodes = "flow:\n  nodes:\n    - {id: a, type: conditon, if: 'true'}\n  chain:\n";
  Compiled c = CompileChains({{"main", "THEN(a)"}}, nodes);
  EXPECT_NE(c.errors.find("f.yaml:3:21: unknown node type 'conditon' (did you mean 'condition'?)"), std::string::npos)
      << c.errors;
}

TEST(FlowCompilerErrors, UnknownFieldSuggestsTheClosestField) {
  std::string nodes = "flow:\n  nodes:\n    - id: a\n      type: condition\n      iff: 'true'\n  chain:\n";
  Compiled c = CompileChains({{"main", "THEN(a)"}}, nodes);
  EXPECT_NE(c.errors.find("f.yaml:5:7: unknown field 'iff' for node kind 'condition' (did you mean 'if'?)"),
            std::string::npos)
      << c.errors;
}

TEST(FlowCompilerErrors, ExpressionErrorsPointInsideTheExpression) {
  std::string nodes = "flow:\n  nodes:\n    - id: a\n      type: condition\n      if: 'user.age >'\n  chain:\n";
  Compiled c = CompileChains({{"main", "THEN(a)"}}, nodes);
  EXPECT_FALSE(c.graph);
  // The expression starts at column 12 (after the quote); the error is at its end.
  EXPECT_NE(c.errors.find("f.yaml:5:22:"), std::string::npos) << c.errors;
}

TEST(FlowCompilerErrors, YamlSyntaxErrorsHaveAPosition) {
  FlowCompiler compiler(nodes::BuiltinKinds());
  compiler.AddFile("bad.yaml", "flow:\n  nodes: [a, b\n  chain: []\n");
  Diagnostics diags;
  EXPECT_FALSE(compiler.Compile(diags));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags.Format(compiler.sources()).rfind("bad.yaml:3:", 0), 0u) << diags.Format(compiler.sources());
  EXPECT_NE(diags.Format(compiler.sources()).find("YAML syntax"), std::string::npos);
}

TEST(FlowCompilerErrors, DuplicateIdsPointAtTheFirstDeclaration) {
  std::string nodes = "flow:\n  nodes:\n    - {id: a, type: noop}\n    - {id: a, type: noop}\n  chain:\n";
  Compiled c = CompileChains({{"main", "THEN(a)"}}, nodes);
  EXPECT_NE(c.errors.find("f.yaml:4:12: node 'a' is declared twice (first at f.yaml:3:12)"), std::string::npos) << c.errors;
}

TEST(FlowCompilerErrors, BadCronAndTimeZone) {
  std::string text = std::string(kNodes) +
                     "    - name: c1\n      trigger: { schedule: \"0 25 * * *\" }\n      value: \"THEN(a)\"\n"
                     "    - name: c2\n      trigger: { schedule: \"0 10 * * *\", tz: Mars/Olympus }\n      value: \"THEN(a)\"\n";
  FlowCompiler compiler(nodes::BuiltinKinds());
  compiler.AddFile("f.yaml", text);
  Diagnostics diags;
  EXPECT_FALSE(compiler.Compile(diags));
  std::string out = diags.Format(compiler.sources());
  EXPECT_NE(out.find("bad cron schedule"), std::string::npos) << out;
  EXPECT_NE(out.find("unknown time zone 'Mars/Olympus'"), std::string::npos) << out;
}

TEST(FlowCompilerErrors, AFileWithAnErrorIsRejectedWhole) {
  Compiled c = CompileChains({{"good", "THEN(a, b)"}, {"bad", "THEN(a, nope)"}});
  EXPECT_FALSE(c.graph);
}

}  // namespace
}  // namespace reach::dsl
