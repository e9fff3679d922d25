#include "nodes/sms_send_node.h"

#include <algorithm>
#include <cctype>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "nodes/field_checks.h"
#include "nodes/runtime_support.h"

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

// Tencent wants E.164 (WIRE.md). A bare 11-digit mainland mobile number (1xxxxxxxxxx, how
// Chinese CRMs store them) gets +86; anything else is passed on as written, since guessing a
// country for it would be worse than the provider's own error.
std::string TencentPhone(const std::string& phone) {
  bool mainland = phone.size() == 11 && phone[0] == '1' &&
                  std::all_of(phone.begin(), phone.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  return mainland ? "+86" + phone : phone;
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

engine::NodeOutcome SmsSendKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  const auto& config = static_cast<const SmsSendConfig&>(*node.config);
  TemplateRenderer renderer = RendererFor(ctx);
  std::string error;
  std::string phone;
  if (config.phone) {
    if (!renderer.Render(*config.phone, phone, error)) return TemplateFailed("phone", error);
    if (phone.empty()) return engine::NodeOutcome::Failed("field 'phone' renders empty", "MissingIdentity");
  } else {
    phone = IdentityOf(ctx.user(), "phone");
    if (phone.empty()) return MissingIdentity("phone");
  }
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& [name, text] : config.params) {
    std::string value;
    if (!renderer.Render(text, value, error)) return TemplateFailed(name.empty() ? "params" : "params." + name, error);
    params.emplace_back(name, std::move(value));
  }

  // The provider's own request fields (WIRE.md); account keys, signatures, SmsSdkAppId, OutId
  // and SessionContext are the channel's. Optional fields are left out when there is nothing.
  boost::json::object payload;
  payload["app"] = config.app;
  if (config.provider == SmsSendConfig::Provider::kAliyun) {
    payload["provider"] = "aliyun";
    payload["PhoneNumbers"] = phone;
    if (config.sign_name) payload["SignName"] = *config.sign_name;
    payload["TemplateCode"] = config.template_ref;
    if (!params.empty()) {
      boost::json::object values;
      for (auto& [name, value] : params) values[name] = std::move(value);
      payload["TemplateParam"] = boost::json::serialize(values);  // Aliyun takes it as a JSON string
    }
  } else {
    phone = TencentPhone(phone);
    payload["provider"] = "tencent";
    payload["PhoneNumberSet"] = boost::json::array{boost::json::value(phone)};
    if (config.sign_name) payload["SignName"] = *config.sign_name;
    payload["TemplateId"] = config.template_ref;
    if (!params.empty()) {
      boost::json::array values;
      for (auto& [name, value] : params) values.emplace_back(std::move(value));
      payload["TemplateParamSet"] = std::move(values);
    }
  }
  return Deliver(node, ctx, std::move(payload), phone);
}

}  // namespace reach::nodes
