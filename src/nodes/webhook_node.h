#pragma once
// `webhook`: an HTTP call to any URL, optionally signed, with parts of a JSON response copied
// into the execution's `ctx`.
//
//   - id: notify_crm
//     type: webhook
//     url: "https://crm.example.com/hooks/lead?u={{user.id}}"
//     method: POST                           # GET | POST | PUT | PATCH | DELETE (default POST)
//     headers: { X-Source: reach }           # name -> template
//     body: { user: "{{user.id}}", city: "{{user.city}}" }   # a template string or a map
//     secret: CRM_HOOK_SECRET                # optional: name of the signing key (config or env)
//     map_response: { crm_id: /data/id }     # ctx key -> JSON pointer into the response
//     timeout: 10s                           # the common node timeout
//
// Strings in `url`, `headers` and `body` (at any depth) are Mustache templates. A map body is
// sent as JSON (Content-Type: application/json); a string body is sent as it renders. GET sends
// no body. The signature (when `secret:` is given) is computed by the channel; this spec only
// names the key, never holds it.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct WebhookConfig final : public dsl::NodeConfig {
  // `url:` (required): template of an http:// or https:// URL.
  std::string url;
  // `method:` GET, POST, PUT, PATCH or DELETE (upper case; the file may use any case).
  std::string method = "POST";
  // `headers:` name -> value template, in file order.
  std::vector<std::pair<std::string, std::string>> headers;
  // `body:` a template string, or a JSON object whose strings are templates; nullopt = none.
  std::optional<boost::json::value> body;
  // `secret:` the name of the signing key in the config / environment; nullopt = unsigned.
  std::optional<std::string> secret;
  // `map_response:` ctx key -> RFC 6901 JSON pointer into the response body, in file order.
  std::vector<std::pair<std::string, std::string>> map_response;
};

class WebhookKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "webhook";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kCommon; }
  // Sends {"method", "url", "headers": {name: value}, "body"? (rendered string or map),
  // "secret"? (the key's name)}. A rendered URL that is not http(s), or a header value with a line
  // break, is Failed(TemplateError). `map_response` needs the channel's answer, which a node does
  // not see yet: it is not applied.
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

// True for an RFC 6901 JSON pointer: "" or "/a/b", with `~` only in `~0` / `~1`.
bool IsJsonPointer(std::string_view text);

}  // namespace reach::nodes
