#include "nodes/runtime_support.h"

#include <boost/json/value.hpp>

namespace reach::nodes {

namespace json = boost::json;
using engine::NodeOutcome;

engine::NodeOutcome ExpressionFailed(std::string_view what, const dsl::Value& error) {
  return NodeOutcome::Failed(std::string(what) + ": " + std::string(error.as_string()), "ExpressionError");
}

engine::NodeOutcome TypeFailed(std::string_view what, std::string_view want, const dsl::Value& got) {
  std::string shown = got.ToString();
  if (shown.size() > 80) shown = shown.substr(0, 77) + "...";
  return NodeOutcome::Failed(std::string(what) + " must give " + std::string(want) + ", not " +
                                 std::string(dsl::KindName(got.kind())) + " (" + shown + ")",
                             "TypeError");
}

engine::NodeOutcome EvaluateBoolean(const dsl::Expression& expression, const dsl::Scope& scope,
                                    std::string_view what) {
  dsl::Value v = expression.Evaluate(scope);
  if (v.is_error()) return ExpressionFailed(what, v);
  if (v.kind() != dsl::Value::Kind::kBool) return TypeFailed(what, "a boolean", v);
  return NodeOutcome::Done(v.as_bool());
}

std::string IdentityOf(const storage::UserRecord& user, std::string_view name) {
  const json::value* v = user.identities.if_contains(name);
  if (!v) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  return {};
}

engine::NodeOutcome MissingIdentity(std::string_view name) {
  return NodeOutcome::Failed("user has no " + std::string(name), "MissingIdentity");
}

engine::NodeOutcome TemplateFailed(std::string_view field, std::string_view error) {
  return NodeOutcome::Failed("template in '" + std::string(field) + "' does not render: " + std::string(error),
                             "TemplateError");
}

engine::NodeOutcome Deliver(const dsl::NodeDef& node, engine::NodeContext& ctx, json::object payload,
                            std::string_view recipient) {
  if (ctx.SendsHeld()) {
    // The flow is paused: hold the send and look again in a minute (durably: a timer), so that
    // resuming the flow lets held messages go without anyone having to find them.
    constexpr int64_t kHoldRecheckMillis = 60 * 1000;
    ctx.WaitUntil(ctx.NowMillis() + kHoldRecheckMillis);
    if (ctx.noting()) ctx.Note(node.id + ": held (flow paused)");
    return NodeOutcome::Suspended();
  }
  engine::SendRequest request;
  request.channel = node.type;
  request.node = node.id;
  request.payload = std::move(payload);
  std::string error;
  if (!ctx.Send(std::move(request), error))
    return NodeOutcome::Failed(error.empty() ? "the message could not be queued" : error, "SendError");
  if (ctx.noting()) ctx.Note("send " + node.type + " to " + std::string(recipient));
  return NodeOutcome::Done();
}

}  // namespace reach::nodes
