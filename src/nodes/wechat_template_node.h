#pragma once
// `wechat.template`: an Official Account template message, `POST /cgi-bin/message/template/send`,
// to the current user's openid.
//
//   - id: welcome
//     type: wechat.template
//     template_id: TPL_WELCOME
//     data:
//       first: "Hi {{user.nickname}}"                  # a template ...
//       remark: { value: "Reply 1 for a coupon", color: "#173177" }   # ... or {value, color}
//     url: "https://shop.example.com/sale?u={{user.id}}"   # optional
//     miniprogram: { appid: wx123, pagepath: "pages/sale/index" }   # optional
//     app: default                                     # optional: the configured account
//
// Sends may be held by quiet hours or the rate limit, so the kind can suspend.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct WechatTemplateConfig final : public dsl::NodeConfig {
  // `app:`: the configured Official Account; default "default".
  std::string app = "default";
  // `template_id:` (required): the template's id in the account.
  std::string template_id;
  // `data:` (required): key -> {"value": template, "color"?: "#RRGGBB"}, in file order, as the
  // API wants it (a plain template in the file becomes {"value": ...}).
  boost::json::object data;
  // `url:` (optional): a template of the http(s) page a tap opens.
  std::optional<std::string> url;
  // `miniprogram:` (optional): {"appid", "pagepath"?} of the mini program a tap opens.
  std::optional<boost::json::object> miniprogram;
};

class WechatTemplateKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "wechat.template";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kCommon; }
  bool CanSuspend() const override { return true; }
  // Renders url, miniprogram and data, and sends {"app", "touser": the user's openid,
  // "template_id", "url"?, "miniprogram"?, "data": {key: {"value", "color"?}}}.
  // Failed(MissingIdentity) without an openid, Failed(TemplateError), Failed(SendError).
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
