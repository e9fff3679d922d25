#include "nodes/sms_send_node.h"

#include <cctype>

#include "nodes/field_checks.h"

namespace reach::nodes {
namespace {

void ReadParams(dsl::FieldReader& fields, SmsSendConfig& config) {
  const dsl::YamlNode* params = fields.Get("params");
  if (!params) return;
  const bool tencent = config.provider == SmsSendConfig::Provider::kTencent;
  if (params->is_map()) {
    for (const auto& [name, value] : params->entries)
      if (auto text = TemplateAt(fields, value, "params." + name)) config.params.emplace_back(name, *text);
  } else if (params->is_sequence() && tencent) {
    for (size_t i = 0; i < params->items.size(); ++i)
      if (auto text = TemplateAt(fields, params->items[i], "params[" + std::to_string(i) + "]"))
        config.params.emplace_back("", *text);
  } else if (tencent) {
    fields.ErrorAt(*params, "field 'params' must be a list (or a map) of templates, not " +
                                std::string(params->Describe()));
  } else {
    fields.ErrorAt(*params, "field 'params' must be a map of templates for provider aliyun "
                            "(its TemplateParam is a JSON object), not " + std::string(params->Describe()));
  }
}

}  // namespace

std::shared_ptr<const dsl::NodeConfig> SmsSendKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<SmsSendConfig>();
  config->app = ReadAppName(fields);
  auto provider = ReadOneOf(fields, "provider", {"aliyun", "tencent"}, /*required=*/true);
  if (!provider) {
    // Which template field and params shape apply is unknown: mark them known and stop there.
    for (std::string_view key : {"template_code", "template_id", "params"}) fields.Get(key);
  } else if (*provider == "aliyun") {
    config->provider = SmsSendConfig::Provider::kAliyun;
    RejectField(fields, "template_id", "field 'template_id' is for provider tencent; aliyun takes 'template_code'");
    if (auto code = fields.String("template_code", /*required=*/true)) {
      if (code->empty()) fields.ErrorAt("template_code", "field 'template_code' must not be empty");
      config->template_ref = *code;
    }
  } else {
    config->provider = SmsSendConfig::Provider::kTencent;
    RejectField(fields, "template_code", "field 'template_code' is for provider aliyun; tencent takes 'template_id'");
    if (auto id = fields.String("template_id", /*required=*/true)) {
      bool digits = !id->empty();
      for (char c : *id) digits = digits && std::isdigit(static_cast<unsigned char>(c));
      if (!digits) fields.ErrorAt("template_id", "field 'template_id' must be a tencent template id (digits), not '" + *id + "'");
      config->template_ref = *id;
    }
  }
  if (provider) ReadParams(fields, *config);
  config->sign_name = fields.String("sign_name");
  config->phone = fields.Template("phone");
  if (fields.failed()) return nullptr;
  return config;
}

}  // namespace reach::nodes
