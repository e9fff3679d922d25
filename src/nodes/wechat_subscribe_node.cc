#include "nodes/wechat_subscribe_node.h"

#include <boost/json/value.hpp>

#include "nodes/field_checks.h"

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

}  // namespace reach::nodes
