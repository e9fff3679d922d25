#pragma once
// `wecom.message`: a WeCom (企业微信) application message, `POST /cgi-bin/message/send`.
//
//   - id: notify_sales
//     type: wecom.message
//     app: sales                 # optional: which configured WeCom app sends (default "default")
//     to_user: true              # the current user's WeCom userid (identity `wecom_userid`)
//     totag: ["{{ctx.owner_tag}}"]
//     msgtype: textcard
//     textcard:
//       title: "New lead: {{user.name}}"
//       description: "{{user.city}}, came from {{event.source}}"
//       url: "https://crm.example.com/leads/{{user.id}}"
//
// Recipients. WeCom addresses members, departments and tags; a journey addresses "the current
// user". Both are covered, and at least one recipient field must be given:
//   - `touser`, `toparty`, `totag`: each a template or a list of templates, rendered at send time
//     and joined with `|` as WeCom wants (`touser: "@all"` reaches everyone in the app's range);
//   - `to_user: true`: adds the current user's WeCom userid to `touser`. It is a separate
//     boolean, not a magic template value, so that a missing identity is a clear send-time
//     error ("user has no wecom_userid") instead of an empty recipient list.
//
// Content. `msgtype:` picks one of text | textcard | markdown | news | miniprogram_notice, and
// exactly the matching field must be present:
//   text, markdown       `content:` a template
//   textcard             `textcard: {title, description, url, btntxt?}`
//   news                 `news: {articles: [{title, description?, url?, picurl?, appid?,
//                        pagepath?}, ...]}`: 1 to 8 articles, each with `url` or `appid`
//   miniprogram_notice   `miniprogram_notice: {appid, title, page?, description?,
//                        emphasis_first_item?, content_item?: [{key, value}, ...] (at most 10)}`
// Options as WeCom names them: `safe` (0/1), `enable_duplicate_check` (true/false or 1/0),
// `duplicate_check_interval` (seconds or a duration, at most 4h).
//
// Sends may be held by quiet hours or the rate limit, so the kind can suspend.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct WecomMessageConfig final : public dsl::NodeConfig {
  // `app:`: the configured WeCom app (corp id, agent id, secret) that sends; default "default".
  std::string app = "default";
  // `touser` / `toparty` / `totag`: recipient templates, joined with `|` after rendering.
  std::vector<std::string> touser;
  std::vector<std::string> toparty;
  std::vector<std::string> totag;
  // `to_user: true`: also send to the current user's WeCom userid.
  bool to_current_user = false;
  // `msgtype:`: text, textcard, markdown, news or miniprogram_notice (WeCom's names).
  std::string msgtype;
  // The object sent under the `msgtype` key, e.g. {"content": "Hi {{user.name}}"} for text:
  // every string in it is a template rendered at send time; booleans are sent as they are.
  boost::json::object content;
  // `safe:` 0 or 1 (1: the message cannot be shared outside the corp).
  int safe = 0;
  // `enable_duplicate_check:`: nullopt leaves the choice to the channel (which turns it on for
  // retries after a crash, so that a message goes out once).
  std::optional<bool> enable_duplicate_check;
  // `duplicate_check_interval:` in seconds, 1..14400; nullopt = WeCom's default (1800).
  std::optional<int64_t> duplicate_check_interval_seconds;
};

class WecomMessageKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "wecom.message";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kCommon; }
  bool CanSuspend() const override { return true; }
  // Sends {"app", "touser"?, "toparty"?, "totag"? (rendered, empty ones dropped, `|`-joined),
  // "msgtype", <msgtype>: {...rendered}, "safe", "enable_duplicate_check"? (0/1),
  // "duplicate_check_interval"?}. Failed(MissingIdentity) when `to_user` finds no wecom_userid or
  // no recipient is left after rendering.
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

}  // namespace reach::nodes
