#pragma once
// Draws a compiled chain as a control-flow picture: Mermaid (`flowchart TD`) or Graphviz DOT.
//
//   THEN      boxes in a row            IF / SWITCH   a diamond with labelled edges to a join
//   WHEN      a fork bar and a join     FOR / WHILE / ITERATOR   a loop head with a back edge
//   CATCH     the body, an "on error" edge to DO     sub-chain   a subroutine box [[name]]

#include <string>
#include <string_view>

#include "dsl/flow_graph.h"

namespace reach::dsl {

enum class GraphFormat { kMermaid, kDot };

// Renders chain `chain` of `graph`. Sub-chains it calls are drawn as boxes, and each is drawn
// once more below as a subgraph of its own.
std::string RenderChainGraph(const FlowGraph& graph, uint32_t chain, GraphFormat format);

}  // namespace reach::dsl
