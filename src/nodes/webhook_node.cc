#include "nodes/webhook_node.h"

#include <cctype>

#include "nodes/field_checks.h"
#include "nodes/runtime_support.h"

namespace reach::nodes {
namespace {

// RFC 9110 token characters, the only ones a header name may hold.
bool IsHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

void ReadMethod(dsl::FieldReader& fields, WebhookConfig& config) {
  auto method = fields.String("method");
  if (!method) return;
  std::string upper = *method;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (std::string_view m : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    if (upper == m) {
      config.method = upper;
      return;
    }
  }
  fields.ErrorAt("method", "field 'method' must be one of GET, POST, PUT, PATCH, DELETE, not '" + *method + "'");
}

void ReadHeaders(dsl::FieldReader& fields, WebhookConfig& config) {
  const dsl::YamlNode* headers = ReadMap(fields, "headers");
  if (!headers) return;
  for (size_t i = 0; i < headers->entries.size(); ++i) {
    const auto& [name, value] = headers->entries[i];
    dsl::YamlNode key_at;
    key_at.where = headers->key_locations[i];
    if (!IsHeaderName(name)) {
      fields.ErrorAt(key_at, "'" + name + "' is not a valid header name");
      continue;
    }
    // The HTTP client sets these from the URL and the body; a flow cannot override them.
    if (EqualsNoCase(name, "Host") || EqualsNoCase(name, "Content-Length")) {
      fields.ErrorAt(key_at, "header '" + name + "' is set by Reach and cannot be given in 'headers'");
      continue;
    }
    if (auto text = TemplateAt(fields, value, "headers." + name)) config.headers.emplace_back(name, *text);
  }
}

// Checks every string of a map body for balanced template tags.
bool CheckBodyTemplates(dsl::FieldReader& fields, const dsl::YamlNode& node, const std::string& path) {
  bool ok = true;
  if (node.is_scalar() && node.style != dsl::YamlNode::Style::kPlain) {
    ok = TemplateAt(fields, node, path).has_value();
  } else if (node.is_scalar()) {
    // A plain scalar may be a number or boolean in JSON; only strings are templates.
    if (UnclosedTemplateTag(node.scalar) != std::string_view::npos) ok = TemplateAt(fields, node, path).has_value();
  } else if (node.is_map()) {
    for (const auto& [k, v] : node.entries) ok = CheckBodyTemplates(fields, v, path + "." + k) && ok;
  } else if (node.is_sequence()) {
    for (size_t i = 0; i < node.items.size(); ++i)
      ok = CheckBodyTemplates(fields, node.items[i], path + "[" + std::to_string(i) + "]") && ok;
  }
  return ok;
}

void ReadBody(dsl::FieldReader& fields, WebhookConfig& config) {
  const dsl::YamlNode* body = fields.Get("body");
  if (!body) return;
  if (config.method == "GET") {
    fields.ErrorAt(*body, "field 'body' cannot be sent with method GET");
    return;
  }
  if (body->is_scalar()) {
    if (auto text = fields.Template("body")) config.body = boost::json::value(*text);
  } else if (body->is_map()) {
    if (CheckBodyTemplates(fields, *body, "body")) config.body = body->ToJson();
  } else {
    fields.ErrorAt(*body, "field 'body' must be a template string or a map, not " + std::string(body->Describe()));
  }
}

void ReadMapResponse(dsl::FieldReader& fields, WebhookConfig& config) {
  const dsl::YamlNode* map = ReadMap(fields, "map_response");
  if (!map) return;
  for (size_t i = 0; i < map->entries.size(); ++i) {
    const auto& [ctx_key, pointer] = map->entries[i];
    if (ctx_key.empty()) {
      dsl::YamlNode key_at;
      key_at.where = map->key_locations[i];
      fields.ErrorAt(key_at, "a ctx key in 'map_response' is empty");
      continue;
    }
    const std::string path = "map_response." + ctx_key;
    if (!pointer.is_scalar() || !IsJsonPointer(pointer.scalar)) {
      fields.ErrorAt(pointer, "field '" + path + "' must be a JSON pointer such as /data/id (\"\" for the "
                              "whole response), not " +
                                  (pointer.is_scalar() ? "'" + pointer.scalar + "'" : std::string(pointer.Describe())));
      continue;
    }
    config.map_response.emplace_back(ctx_key, pointer.scalar);
  }
}

}  // namespace

bool IsJsonPointer(std::string_view text) {
  if (text.empty()) return true;
  if (text[0] != '/') return false;
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '~' && (i + 1 >= text.size() || (text[i + 1] != '0' && text[i + 1] != '1'))) return false;
  return true;
}

std::shared_ptr<const dsl::NodeConfig> WebhookKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<WebhookConfig>();
  if (auto url = fields.Template("url", /*required=*/true)) {
    if (!LooksLikeHttpUrl(*url))
      fields.ErrorAt("url", "field 'url' must be an http:// or https:// URL, not '" + *url + "'");
    config->url = *url;
  }
  ReadMethod(fields, *config);
  ReadHeaders(fields, *config);
  ReadBody(fields, *config);
  if (auto secret = fields.String("secret")) {
    bool ok = !secret->empty();
    for (char c : *secret) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
    if (!ok)
      fields.ErrorAt("secret", "field 'secret' must name a signing key (letters, digits, '_', '-', '.'), not '" +
                                   *secret + "'");
    config->secret = *secret;
  }
  ReadMapResponse(fields, *config);
  if (fields.failed()) return nullptr;
  return config;
}

engine::NodeOutcome WebhookKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  const auto& config = static_cast<const WebhookConfig&>(*node.config);
  TemplateRenderer renderer = RendererFor(ctx);
  std::string error;
  std::string url;
  if (!renderer.Render(config.url, url, error)) return TemplateFailed("url", error);
  // The file's URL may start with a tag ("{{ctx.crm_base}}/hooks"), so only now can it be
  // checked; a value without a scheme would otherwise reach the HTTP client.
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    return engine::NodeOutcome::Failed("field 'url' renders to '" + url + "', not an http:// or https:// URL",
                                       "TemplateError");
  boost::json::object headers;
  for (const auto& [name, text] : config.headers) {
    std::string value;
    if (!renderer.Render(text, value, error)) return TemplateFailed("headers." + name, error);
    // User data rendered into a header must not be able to add headers of its own.
    if (value.find_first_of("\r\n") != std::string::npos)
      return engine::NodeOutcome::Failed("header '" + name + "' renders with a line break", "TemplateError");
    headers[name] = std::move(value);
  }
  boost::json::object payload;
  payload["method"] = config.method;
  payload["url"] = url;
  payload["headers"] = std::move(headers);
  if (config.body) {
    boost::json::value body = *config.body;  // a template string, or a map whose strings are
    if (!renderer.RenderStrings(body, error)) return TemplateFailed("body", error);
    payload["body"] = std::move(body);
  }
  // Only the key's name: the channel signs with the secret it holds.
  if (config.secret) payload["secret"] = *config.secret;
  return Deliver(node, ctx, std::move(payload), url);
}

}  // namespace reach::nodes
