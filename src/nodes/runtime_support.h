#pragma once
// Helpers shared by the node kinds' Execute (the runtime half of nodes/): evaluating
// expressions into outcomes, reading user identities, and handing a rendered message to the
// engine. Free functions rather than a base class: the kinds already derive from the
// compile-time NodeKindSpec and the runtime NodeExecutor, and share only these few steps.
//
// Error names (NodeOutcome::error_name, what `.retry(n, "Name")` selects):
//   ExpressionError  an expression's runtime error (division by zero, a bad regex ...)
//   TypeError        an expression gave a value of the wrong kind
//   TemplateError    a message template did not render
//   MissingIdentity  the user lacks the identity a channel addresses (openid, phone ...)
//   SendError        the engine could not queue the message

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "dsl/expression.h"
#include "dsl/flow_graph.h"
#include "dsl/value.h"
#include "engine/node_executor.h"
#include "nodes/template_renderer.h"
#include "storage/records.h"

namespace reach::nodes {

// Failed("<what>: <message>", "ExpressionError") for a runtime error value.
engine::NodeOutcome ExpressionFailed(std::string_view what, const dsl::Value& error);

// Failed("<what> must give <want>, not <kind> (<value>)", "TypeError").
engine::NodeOutcome TypeFailed(std::string_view what, std::string_view want, const dsl::Value& got);

// Evaluates a boolean expression: Done(true/false), or Failed for an error or a non-boolean.
// `what` names the field in messages ("if", "where").
engine::NodeOutcome EvaluateBoolean(const dsl::Expression& expression, const dsl::Scope& scope,
                                    std::string_view what);

// The user's identity `name` ("openid", "phone", "external_userid", "wecom_userid") as text;
// empty when the user has none (absent, null or ""). A number (a phone stored as one) is
// written in decimal.
std::string IdentityOf(const storage::UserRecord& user, std::string_view name);

// Failed("user has no <name>", "MissingIdentity").
engine::NodeOutcome MissingIdentity(std::string_view name);

// Failed("template in '<field>' does not render: <error>", "TemplateError").
engine::NodeOutcome TemplateFailed(std::string_view field, std::string_view error);

// A renderer over the context's user, event and ctx.
inline TemplateRenderer RendererFor(engine::NodeContext& ctx) {
  return TemplateRenderer(ctx.user(), ctx.scope().Event(), ctx.ctx());
}

// Hands `payload` to the engine as SendRequest{channel = node.type, node = node.id}. Returns
// Failed(error, "SendError") when it cannot be queued; otherwise notes
// "send <channel> to <recipient>" and returns Done.
engine::NodeOutcome Deliver(const dsl::NodeDef& node, engine::NodeContext& ctx, boost::json::object payload,
                            std::string_view recipient);

}  // namespace reach::nodes
