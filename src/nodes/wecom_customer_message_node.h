#pragma once
// `wecom.customer_message`: a message to a WeCom external contact (a customer), in one of two
// modes (`mode:`, default mass):
//
//   mass     `POST /cgi-bin/externalcontact/add_msg_template`: a mass-send task to the current
//            user's external_userid (chat_type single) or to a staff member's customer groups
//            (chat_type group). The staff member confirms it in the WeCom client before it goes.
//              sender: "{{ctx.owner_userid}}"   # staff userid; required for chat_type group
//              chat_type: single                # single (default) | group
//   welcome  `POST /cgi-bin/externalcontact/send_welcome_msg`: the greeting after a customer adds
//            a staff member; the WelcomeCode comes from the triggering `add_external_contact`
//            event (valid 20 seconds), so `sender` and `chat_type` do not apply.
//
// Both take `text:` (a template) and/or `attachments:` (at most 9), at least one of the two:
//   attachments:
//     - { msgtype: image, image: { media_id: "MEDIA_ID" } }         # or pic_url
//     - { msgtype: link, link: { title: "Spring sale", url: "https://...", picurl: ..., desc: ... } }
//     - { msgtype: miniprogram, miniprogram: { title, pic_media_id, appid, page } }
//     - { msgtype: video, video: { media_id } }
//     - { msgtype: file, file: { media_id } }
// `app:` names the configured WeCom app (its customer-contact secret); default "default".
//
// Sends may be held by quiet hours or the rate limit, so the kind can suspend.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct WecomCustomerMessageConfig final : public dsl::NodeConfig {
  enum class Mode : uint8_t { kMass, kWelcome };

  // `app:`: the configured WeCom app whose customer-contact secret is used; default "default".
  std::string app = "default";
  // `mode:`: mass (add_msg_template) or welcome (send_welcome_msg).
  Mode mode = Mode::kMass;
  // `sender:` (mass): template of the staff member's userid; empty lets every staff member who
  // has the customer confirm it (chat_type single only).
  std::string sender;
  // `chat_type:` (mass): "single" (default) or "group".
  std::string chat_type = "single";
  // `text:`: the text template; nullopt when only attachments are sent.
  std::optional<std::string> text;
  // `attachments:`: WeCom's attachment objects ({"msgtype": "link", "link": {...}}) whose
  // strings are templates; at most 9.
  boost::json::array attachments;
};

class WecomCustomerMessageKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "wecom.customer_message";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kCommon; }
  bool CanSuspend() const override { return true; }
  // Mass: {"app", "chat_type", "external_userid": [the user's] (single only), "sender"?, "text"?:
  // {"content"}, "attachments"?}. Welcome: {"app", "welcome_code" (from the execution's event,
  // properties.welcome_code), "text"?, "attachments"?}. Failed(MissingIdentity) without an
  // external_userid (single) or a sender (group); Failed(MissingWelcomeCode).
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
