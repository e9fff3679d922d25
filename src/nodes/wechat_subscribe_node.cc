#include "nodes/wechat_subscribe_node.h"

#include <boost/json/value.hpp>

#include "nodes/field_checks.h"
#include "nodes/runtime_support.h"

namespace reach::nodes {

std::shared_ptr<const dsl::NodeConfig> WechatSubscribeKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<WechatSubscribeConfig>();
  config->app = ReadAppName(fields);
  if (auto id = fields.String("template_id", /*required=*/true)) {
    if (id->empty()) fields.ErrorAt("template_id", "field 'template_id' must not be empty");
    config->template_id = *id;
  }
  if (const dsl::YamlNode* data = ReadMap(fields, "data", /*required=*/true)) {
    if (data->entries.empty())
      fields.ErrorAt(*data, "field 'data' is empty: give the template's keys, e.g. {thing1: \"{{ctx.course}}\"}");
    for (const auto& [key, value] : data->entries) {
      if (value.is_map()) {
        fields.ErrorAt(value, "field 'data." + key + "' must be a template string: subscribe messages "
                              "take no {value, color} maps");
        continue;
      }
      if (auto text = TemplateAt(fields, value, "data." + key)) config->data[key] = *text;
    }
  }
  config->page = fields.Template("page");
  config->miniprogram_state = ReadOneOf(fields, "miniprogram_state", {"developer", "trial", "formal"});
  config->lang = ReadOneOf(fields, "lang", {"zh_CN", "en_US", "zh_HK", "zh_TW"});
  if (fields.failed()) return nullptr;
  return config;
}

engine::NodeOutcome WechatSubscribeKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  const auto& config = static_cast<const WechatSubscribeConfig&>(*node.config);
  // WIRE.md: {"touser", "template_id", "page"?, "miniprogram_state"?, "lang"?,
  // "data": {key: {"value"}}} (no color in subscribe messages).
  std::string openid = IdentityOf(ctx.user(), "openid");
  if (openid.empty()) return MissingIdentity("openid");
  TemplateRenderer renderer = RendererFor(ctx);
  std::string error;
  boost::json::object payload;
  payload["app"] = config.app;
  payload["touser"] = openid;
  payload["template_id"] = config.template_id;
  if (config.page) {
    std::string page;
    if (!renderer.Render(*config.page, page, error)) return TemplateFailed("page", error);
    payload["page"] = std::move(page);
  }
  if (config.miniprogram_state) payload["miniprogram_state"] = *config.miniprogram_state;
  if (config.lang) payload["lang"] = *config.lang;
  boost::json::object data;
  for (const auto& [key, text] : config.data) {
    std::string value;
    if (!renderer.Render(text.as_string(), value, error)) return TemplateFailed("data." + std::string(key), error);
    data[key] = boost::json::object{{"value", std::move(value)}};
  }
  payload["data"] = std::move(data);
  return Deliver(node, ctx, std::move(payload), openid);
}

}  // namespace reach::nodes
