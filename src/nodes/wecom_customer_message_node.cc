#include "nodes/wecom_customer_message_node.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "nodes/field_checks.h"
#include "nodes/runtime_support.h"

namespace reach::nodes {
namespace {

using Type = SubField::Type;
constexpr size_t kMaxAttachments = 9;  // WeCom: add_msg_template and send_welcome_msg

// One attachment: {msgtype: X, X: {...}} with X's own fields checked.
std::optional<boost::json::object> ReadAttachment(dsl::FieldReader& fields, const dsl::YamlNode& node,
                                                  const std::string& path) {
  if (!node.is_map()) {
    fields.ErrorAt(node, "field '" + path + "' must be a map such as {msgtype: image, image: {media_id: ...}}, not " +
                             std::string(node.Describe()));
    return std::nullopt;
  }
  const dsl::YamlNode* msgtype = RequireSub(fields, node, path, "msgtype");
  if (!msgtype) return std::nullopt;
  static constexpr std::string_view kTypes[] = {"image", "link", "miniprogram", "video", "file"};
  std::string_view type;
  for (std::string_view t : kTypes)
    if (msgtype->is_scalar() && msgtype->scalar == t) type = t;
  if (type.empty()) {
    fields.ErrorAt(*msgtype, "field '" + path + ".msgtype' must be one of image, link, miniprogram, video, file, not " +
                                 (msgtype->is_scalar() ? "'" + msgtype->scalar + "'" : std::string(msgtype->Describe())));
    return std::nullopt;
  }
  if (!CheckKeys(fields, node, path, {"msgtype", type})) return std::nullopt;
  const dsl::YamlNode* body = RequireSub(fields, node, path, type);
  if (!body) return std::nullopt;
  const std::string body_path = path + "." + std::string(type);
  std::optional<boost::json::object> content;
  if (type == "image") {
    content = ReadSubMap(fields, *body, body_path, {{"media_id", Type::kTemplate}, {"pic_url", Type::kUrl}});
    if (content && !content->contains("media_id") && !content->contains("pic_url")) {
      fields.ErrorAt(*body, "field '" + body_path + "' needs 'media_id' or 'pic_url'");
      return std::nullopt;
    }
  } else if (type == "link") {
    content = ReadSubMap(fields, *body, body_path,
                         {{"title", Type::kTemplate, true},
                          {"url", Type::kUrl, true},
                          {"picurl", Type::kUrl},
                          {"desc", Type::kTemplate}});
  } else if (type == "miniprogram") {
    content = ReadSubMap(fields, *body, body_path,
                         {{"title", Type::kTemplate, true},
                          {"pic_media_id", Type::kTemplate, true},
                          {"appid", Type::kTemplate, true},
                          {"page", Type::kTemplate, true}});
  } else {  // video, file
    content = ReadSubMap(fields, *body, body_path, {{"media_id", Type::kTemplate, true}});
  }
  if (!content) return std::nullopt;
  return boost::json::object{{"msgtype", type}, {type, std::move(*content)}};
}

void ReadAttachments(dsl::FieldReader& fields, WecomCustomerMessageConfig& config) {
  const dsl::YamlNode* node = fields.Get("attachments");
  if (!node) return;
  if (!node->is_sequence()) {
    fields.ErrorAt(*node, "field 'attachments' must be a list, not " + std::string(node->Describe()));
    return;
  }
  if (node->items.size() > kMaxAttachments) {
    fields.ErrorAt(*node, "field 'attachments' holds " + std::to_string(node->items.size()) +
                              " attachments; WeCom takes at most 9");
    return;
  }
  for (size_t i = 0; i < node->items.size(); ++i) {
    auto attachment = ReadAttachment(fields, node->items[i], "attachments[" + std::to_string(i) + "]");
    if (attachment) config.attachments.push_back(std::move(*attachment));
  }
}

// The WelcomeCode of the event that started (or last resumed) the execution: the
// add_external_contact event carries it as properties.welcome_code (WeCom's own `WelcomeCode` is also
// read, for events posted with the callback's field names).
std::string WelcomeCodeOf(const boost::json::value* event) {
  if (!event || !event->is_object()) return {};
  const boost::json::value* properties = event->get_object().if_contains("properties");
  if (!properties || !properties->is_object()) return {};
  for (std::string_view key : {"welcome_code", "WelcomeCode"}) {
    const boost::json::value* code = properties->get_object().if_contains(key);
    if (code && code->is_string() && !code->get_string().empty()) return std::string(code->get_string());
  }
  return {};
}

}  // namespace

std::shared_ptr<const dsl::NodeConfig> WecomCustomerMessageKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<WecomCustomerMessageConfig>();
  config->app = ReadAppName(fields);
  auto mode = ReadOneOf(fields, "mode", {"mass", "welcome"});
  config->mode = mode == "welcome" ? WecomCustomerMessageConfig::Mode::kWelcome
                                   : WecomCustomerMessageConfig::Mode::kMass;

  if (!mode && fields.Has("mode")) {
    // A bad mode was reported; which of these fields belong is unknown, so leave them be.
    fields.Get("sender");
    fields.Get("chat_type");
  } else if (config->mode == WecomCustomerMessageConfig::Mode::kMass) {
    if (auto chat_type = ReadOneOf(fields, "chat_type", {"single", "group"})) config->chat_type = *chat_type;
    if (auto sender = fields.Template("sender")) config->sender = *sender;
    if (config->chat_type == "group" && !fields.Has("sender"))
      fields.ErrorAt("sender", "a wecom.customer_message with chat_type group needs 'sender' (the staff "
                               "member whose customer groups receive it)");
  } else {
    const char* why = "does not apply to mode 'welcome' (the welcome message goes from the staff member the "
                      "customer just added)";
    RejectField(fields, "sender", "field 'sender' " + std::string(why));
    RejectField(fields, "chat_type", "field 'chat_type' " + std::string(why));
  }

  config->text = fields.Template("text");
  ReadAttachments(fields, *config);
  if (!fields.Has("text") && !fields.Has("attachments")) {
    fields.ErrorAt("text", "node kind 'wecom.customer_message' needs 'text' or 'attachments'");
  } else if (!fields.failed() && !config->text && config->attachments.empty()) {
    fields.ErrorAt("attachments", "field 'attachments' is empty and there is no 'text': nothing to send");
  }
  if (fields.failed()) return nullptr;
  return config;
}

engine::NodeOutcome WecomCustomerMessageKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  using Mode = WecomCustomerMessageConfig::Mode;
  const auto& config = static_cast<const WecomCustomerMessageConfig&>(*node.config);
  TemplateRenderer renderer = RendererFor(ctx);
  std::string error;
  std::string recipient;
  boost::json::object payload;
  payload["app"] = config.app;

  // WIRE.md. Mass (add_msg_template): {"chat_type", "external_userid": [..], "sender", "text":
  // {"content"}, "attachments"}. Welcome (send_welcome_msg): {"welcome_code", "text",
  // "attachments"}.
  if (config.mode == Mode::kWelcome) {
    std::string code = WelcomeCodeOf(ctx.scope().Event());
    if (code.empty())
      return engine::NodeOutcome::Failed("the event has no welcome_code (a welcome message answers the "
                                         "add_external_contact event that carries one)",
                                         "MissingWelcomeCode");
    payload["welcome_code"] = code;
    recipient = IdentityOf(ctx.user(), "external_userid");
    if (recipient.empty()) recipient = "welcome_code " + code;
  } else {
    std::string sender;
    if (!renderer.Render(config.sender, sender, error)) return TemplateFailed("sender", error);
    payload["chat_type"] = config.chat_type;
    if (config.chat_type == "group") {
      // To the sender's customer groups: no customer list, and the sender is required.
      if (sender.empty())
        return engine::NodeOutcome::Failed("field 'sender' renders empty (chat_type group needs the staff member)",
                                           "MissingIdentity");
      recipient = "the groups of " + sender;
    } else {
      recipient = IdentityOf(ctx.user(), "external_userid");
      if (recipient.empty()) return MissingIdentity("external_userid");
      payload["external_userid"] = boost::json::array{boost::json::value(recipient)};
    }
    if (!sender.empty()) payload["sender"] = sender;  // empty: any staff member who has the customer
  }
  if (config.text) {
    std::string text;
    if (!renderer.Render(*config.text, text, error)) return TemplateFailed("text", error);
    payload["text"] = boost::json::object{{"content", std::move(text)}};
  }
  if (!config.attachments.empty()) {
    boost::json::value attachments = config.attachments;
    if (!renderer.RenderStrings(attachments, error)) return TemplateFailed("attachments", error);
    payload["attachments"] = std::move(attachments);
  }
  return Deliver(node, ctx, std::move(payload), recipient);
}

}  // namespace reach::nodes
