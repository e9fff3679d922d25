#include "nodes/wechat_template_node.h"

#include <cctype>

#include <boost/json/value.hpp>

#include "nodes/field_checks.h"
#include "nodes/runtime_support.h"

namespace reach::nodes {
namespace {

using Type = SubField::Type;

bool IsHexColor(std::string_view text) {
  if (text.size() != 7 || text[0] != '#') return false;
  for (char c : text.substr(1))
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

void ReadData(dsl::FieldReader& fields, WechatTemplateConfig& config) {
  const dsl::YamlNode* data = ReadMap(fields, "data", /*required=*/true);
  if (!data) return;
  if (data->entries.empty()) {
    fields.ErrorAt(*data, "field 'data' is empty: give the template's keys, e.g. {first: \"Hi {{user.nickname}}\"}");
    return;
  }
  for (const auto& [key, value] : data->entries) {
    const std::string path = "data." + key;
    if (value.is_map()) {
      auto item = ReadSubMap(fields, value, path, {{"value", Type::kTemplate, true}, {"color", Type::kTemplate}});
      if (!item) continue;
      if (item->contains("color") && !IsHexColor(item->at("color").as_string())) {
        fields.ErrorAt(*value.Find("color"), "field '" + path + ".color' must be a color like #173177, not '" +
                                                 std::string(item->at("color").as_string()) + "'");
        continue;
      }
      config.data[key] = std::move(*item);
    } else if (auto text = TemplateAt(fields, value, path)) {
      config.data[key] = boost::json::object{{"value", *text}};
    }
  }
}

}  // namespace

std::shared_ptr<const dsl::NodeConfig> WechatTemplateKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<WechatTemplateConfig>();
  config->app = ReadAppName(fields);
  if (auto id = fields.String("template_id", /*required=*/true)) {
    if (id->empty()) fields.ErrorAt("template_id", "field 'template_id' must not be empty");
    config->template_id = *id;
  }
  ReadData(fields, *config);
  if (auto url = fields.Template("url")) {
    if (!LooksLikeHttpUrl(*url)) fields.ErrorAt("url", "field 'url' must be an http:// or https:// URL, not '" + *url + "'");
    config->url = *url;
  }
  if (const dsl::YamlNode* mp = fields.Get("miniprogram"))
    config->miniprogram = ReadSubMap(fields, *mp, "miniprogram",
                                     {{"appid", Type::kTemplate, true}, {"pagepath", Type::kTemplate}});
  if (fields.failed()) return nullptr;
  return config;
}

engine::NodeOutcome WechatTemplateKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  const auto& config = static_cast<const WechatTemplateConfig&>(*node.config);
  // WIRE.md: {"touser", "template_id", "url"?, "miniprogram"?: {appid, pagepath?},
  // "data": {key: {"value", "color"?}}}. client_msg_id is the channel's (from the send key).
  std::string openid = IdentityOf(ctx.user(), "openid");
  if (openid.empty()) return MissingIdentity("openid");
  TemplateRenderer renderer = RendererFor(ctx);
  std::string error;
  boost::json::object payload;
  payload.reserve(6);
  payload["app"] = config.app;
  payload["touser"] = openid;
  payload["template_id"] = config.template_id;
  if (config.url) {
    std::string url;
    if (!renderer.Render(*config.url, url, error)) return TemplateFailed("url", error);
    payload["url"] = std::move(url);
  }
  if (config.miniprogram) {
    boost::json::value miniprogram = *config.miniprogram;
    if (!renderer.RenderStrings(miniprogram, error)) return TemplateFailed("miniprogram", error);
    payload["miniprogram"] = std::move(miniprogram);
  }
  boost::json::value data = config.data;
  if (!renderer.RenderStrings(data, error)) return TemplateFailed("data", error);
  payload["data"] = std::move(data);
  return Deliver(node, ctx, std::move(payload), openid);
}

}  // namespace reach::nodes
