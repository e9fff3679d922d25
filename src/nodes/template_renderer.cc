#include "nodes/template_renderer.h"

#include <charconv>
#include <cmath>
#include <exception>

#include <kainjow/mustache.hpp>

namespace reach::nodes {

namespace json = boost::json;
using kainjow::mustache::data;
using kainjow::mustache::mustache;

namespace {

// Numbers as people write them: 3, not 3.0 or 3E0 (Boost.JSON's own rendering of doubles).
std::string NumberText(const json::value& v) {
  if (v.is_int64()) return std::to_string(v.as_int64());
  if (v.is_uint64()) return std::to_string(v.as_uint64());
  double d = v.as_double();
  if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9007199254740992.0)  // 2^53: exact
    return std::to_string(static_cast<int64_t>(d));
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  return ec == std::errc() ? std::string(buf, end) : std::string();
}

data ToData(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return data(std::string(v.get_string()));
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return data(NumberText(v));
    case json::kind::bool_: return data(v.get_bool());
    case json::kind::null: return data(false);
    case json::kind::array: {
      data list(data::type::list);
      for (const json::value& item : v.get_array()) list.push_back(ToData(item));
      return list;
    }
    case json::kind::object: {
      data object(data::type::object);
      for (const auto& kv : v.get_object()) object.set(std::string(kv.key()), ToData(kv.value()));
      return object;
    }
  }
  return data(false);
}

// Copies `inner`'s members into `outer` where `outer` has no such key (the expression
// language's fallback for user.X -> traits.X and event.X -> properties.X).
void Flatten(json::object& outer, const json::value* inner) {
  if (!inner || !inner->is_object()) return;
  for (const auto& kv : inner->get_object())
    if (!outer.contains(kv.key())) outer.emplace(kv.key(), kv.value());
}

std::string Identity(const std::string& s) { return s; }

}  // namespace

struct TemplateRenderer::Data {
  data root;
};

json::object TemplateRenderer::View(const storage::UserRecord& user, const json::value* event,
                                    const json::object& ctx) {
  json::object u;
  u["id"] = user.id;
  u["traits"] = user.traits;
  u["tags"] = user.tags;
  u["timezone"] = user.timezone;
  u["identities"] = user.identities;
  u["subscriptions"] = user.subscriptions;
  json::value traits = user.traits;
  Flatten(u, &traits);

  json::value e = nullptr;
  if (event && event->is_object()) {
    json::object o = event->get_object();
    Flatten(o, o.if_contains("properties"));
    e = std::move(o);
  }
  return json::object{{"user", std::move(u)}, {"event", std::move(e)}, {"ctx", ctx}};
}

TemplateRenderer::TemplateRenderer(const storage::UserRecord& user, const json::value* event,
                                   const json::object& ctx)
    : data_(std::make_unique<Data>()) {
  data_->root = ToData(View(user, event, ctx));
}

TemplateRenderer::~TemplateRenderer() = default;

bool TemplateRenderer::Render(std::string_view text, std::string& out, std::string& error) const {
  // A text without a tag is the common case for fixed fields; skip the parser for it.
  if (text.find("{{") == std::string_view::npos) {
    out.assign(text);
    return true;
  }
  try {
    mustache tmpl{std::string(text)};
    if (!tmpl.is_valid()) {
      error = tmpl.error_message();
      return false;
    }
    tmpl.set_custom_escape(Identity);
    out = tmpl.render(data_->root);
    if (!tmpl.is_valid()) {
      error = tmpl.error_message();
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    // kainjow reports template errors through is_valid(); this is for allocation failures and
    // the like, which must not escape a node (nodes do not throw).
    error = e.what();
    return false;
  }
}

bool TemplateRenderer::RenderStrings(json::value& value, std::string& error) const {
  std::string path;
  return RenderAt(value, path, error);
}

bool TemplateRenderer::RenderAt(json::value& value, std::string& path, std::string& error) const {
  if (value.is_string()) {
    std::string out, why;
    if (!Render(value.get_string(), out, why)) {
      error = path.empty() ? why : path + ": " + why;
      return false;
    }
    value = out;
    return true;
  }
  const size_t mark = path.size();
  if (value.is_object()) {
    for (auto& kv : value.get_object()) {
      if (!path.empty()) path += '.';
      path += kv.key();
      if (!RenderAt(kv.value(), path, error)) return false;
      path.resize(mark);
    }
  } else if (value.is_array()) {
    json::array& items = value.get_array();
    for (size_t i = 0; i < items.size(); ++i) {
      path += "[" + std::to_string(i) + "]";
      if (!RenderAt(items[i], path, error)) return false;
      path.resize(mark);
    }
  }
  return true;
}

}  // namespace reach::nodes
