#pragma once
// `sms.send`: an SMS through Aliyun (`SendSms`, RPC signature) or Tencent Cloud (`SendSms` v3,
// TC3-HMAC-SHA256), to the current user's phone identity unless `phone:` says otherwise.
//
//   - id: reminder                       - id: reminder_tc
//     type: sms.send                       type: sms.send
//     provider: aliyun                     provider: tencent
//     template_code: SMS_71390007          template_id: "449739"
//     sign_name: 阿里云短信测试             params: ["{{user.name}}", "5"]
//     params: { customer: "{{user.name}}" }
//
// The template field follows each provider's own name: `template_code` for Aliyun
// (TemplateCode), `template_id` for Tencent (TemplateId, digits); the other one is an error.
// `params:` is Aliyun's TemplateParam object (a map) or Tencent's positional TemplateParamSet
// (a list; a map is also accepted and sent as its values in file order). `sign_name:` defaults
// to the one configured for the account; `app:` names the configured account ("default").
//
// Sends may be held by quiet hours or the rate limit, so the kind can suspend.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct SmsSendConfig final : public dsl::NodeConfig {
  enum class Provider : uint8_t { kAliyun, kTencent };

  // `provider:` (required).
  Provider provider = Provider::kAliyun;
  // `app:`: the configured account of that provider; default "default".
  std::string app = "default";
  // `template_code:` (Aliyun) or `template_id:` (Tencent).
  std::string template_ref;
  // `sign_name:` (optional): nullopt = the account's configured signature.
  std::optional<std::string> sign_name;
  // `params:` (optional): name -> template, in file order. For Tencent only the order matters
  // (names are empty when the file gave a list).
  std::vector<std::pair<std::string, std::string>> params;
  // `phone:` (optional): template of the number; nullopt = the user's `phone` identity.
  std::optional<std::string> phone;
};

class SmsSendKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "sms.send";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kCommon; }
  bool CanSuspend() const override { return true; }
  // Aliyun: {"app", "provider": "aliyun", "PhoneNumbers", "SignName"?, "TemplateCode",
  // "TemplateParam"?: a JSON string}. Tencent: {"app", "provider": "tencent", "PhoneNumberSet":
  // [E.164], "SignName"?, "TemplateId", "TemplateParamSet"?}. The phone is `phone:` rendered, or
  // the user's `phone` identity (Failed(MissingIdentity) without one).
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
