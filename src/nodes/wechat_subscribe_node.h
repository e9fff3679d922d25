#pragma once
// `wechat.subscribe`: a Mini Program subscribe message, `POST /cgi-bin/message/subscribe/send`,
// to the current user's openid. The user must have granted a subscription (one per grant).
//
//   - id: remind
//     type: wechat.subscribe
//     template_id: TPL_REMIND
//     data: { thing1: "{{ctx.course}}", time2: "{{ctx.start_time}}" }
//     page: "pages/course/index?id={{ctx.course_id}}"  # optional
//     miniprogram_state: formal                         # optional: developer | trial | formal
//     lang: zh_CN                                       # optional: zh_CN | en_US | zh_HK | zh_TW
//     app: default                                      # optional: the configured mini program
//
// Unlike template messages, subscribe data has no colour: each key maps to a template string.
// Sends may be held by quiet hours or the rate limit, so the kind can suspend.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct WechatSubscribeConfig final : public dsl::NodeConfig {
  // `app:`: the configured mini program; default "default".
  std::string app = "default";
  // `template_id:` (required).
  std::string template_id;
  // `data:` (required): key -> template string, in file order (sent as {key: {"value": ...}}).
  boost::json::object data;
  // `page:` (optional): template of the page a tap opens.
  std::optional<std::string> page;
  // `miniprogram_state:` (optional): developer, trial or formal; nullopt = the API's default.
  std::optional<std::string> miniprogram_state;
  // `lang:` (optional): zh_CN, en_US, zh_HK or zh_TW.
  std::optional<std::string> lang;
};

class WechatSubscribeKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "wechat.subscribe";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kCommon; }
  bool CanSuspend() const override { return true; }
  // Sends {"app", "touser": the user's openid, "template_id", "page"?, "miniprogram_state"?,
  // "lang"?, "data": {key: {"value"}}}. Failed(MissingIdentity) without an openid.
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
