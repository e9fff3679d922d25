#include "nodes/template_renderer.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <unordered_map>

#include <kainjow/mustache.hpp>

namespace reach::nodes {

namespace json = boost::json;
using kainjow::mustache::data;
using kainjow::mustache::mustache;

namespace {

// The user's own fields; a trait of the same name is hidden behind them (View's Flatten).
constexpr std::string_view kUserFields[] = {"id", "traits", "tags", "timezone", "identities", "subscriptions"};

// Numbers as people write them: 3, not 3.0 or 3E0 (Boost.JSON's own rendering of doubles).
void AppendNumber(const json::value& v, std::string& out) {
  char buf[64];
  std::to_chars_result r{buf, std::errc()};
  if (v.is_int64()) {
    r = std::to_chars(buf, buf + sizeof buf, v.as_int64());
  } else if (v.is_uint64()) {
    r = std::to_chars(buf, buf + sizeof buf, v.as_uint64());
  } else {
    double d = v.as_double();
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9007199254740992.0)  // 2^53: exact
      r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(d));
    else
      r = std::to_chars(buf, buf + sizeof buf, d);
  }
  if (r.ec == std::errc()) out.append(buf, r.ptr);
}

std::string NumberText(const json::value& v) {
  std::string text;
  AppendNumber(v, text);
  return text;
}

data ToData(const json::object& o);
data ToData(const json::array& a);

data ToData(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return data(std::string(v.get_string()));
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return data(NumberText(v));
    case json::kind::bool_: return data(v.get_bool());
    case json::kind::null: return data(false);
    case json::kind::array: return ToData(v.get_array());
    case json::kind::object: return ToData(v.get_object());
  }
  return data(false);
}

data ToData(const json::object& o) {
  data object(data::type::object);
  // operator[] and a move rather than set(), which copies the whole subtree once more.
  for (const auto& kv : o) object[std::string(kv.key())] = ToData(kv.value());
  return object;
}

data ToData(const json::array& a) {
  data list(data::type::list);
  for (const json::value& item : a) list.push_back(ToData(item));
  return list;
}

// View()'s "user", straight from the record.
data UserData(const storage::UserRecord& user) {
  data u(data::type::object);
  u["id"] = data(user.id);
  u["traits"] = ToData(user.traits);
  u["tags"] = ToData(user.tags);
  u["timezone"] = data(user.timezone);
  u["identities"] = ToData(user.identities);
  u["subscriptions"] = ToData(user.subscriptions);
  for (const auto& kv : user.traits) {
    bool own = false;
    for (std::string_view field : kUserFields) own = own || kv.key() == field;
    if (!own) u[std::string(kv.key())] = ToData(kv.value());
  }
  return u;
}

// View()'s "event": the event with its properties also at the top, or false without one.
data EventData(const json::value* event) {
  if (!event || !event->is_object()) return data(false);
  const json::object& e = event->get_object();
  data out = ToData(e);
  if (const json::value* properties = e.if_contains("properties"); properties && properties->is_object())
    for (const auto& kv : properties->get_object())
      if (!e.contains(kv.key())) out[std::string(kv.key())] = ToData(kv.value());
  return out;
}

// Copies `inner`'s members into `outer` where `outer` has no such key (the expression
// language's fallback for user.X -> traits.X and event.X -> properties.X).
void Flatten(json::object& outer, const json::object& inner) {
  for (const auto& kv : inner)
    if (!outer.contains(kv.key())) outer.emplace(kv.key(), kv.value());
}

void Flatten(json::object& outer, const json::value* inner) {
  if (inner && inner->is_object()) Flatten(outer, inner->get_object());
}

std::string Identity(const std::string& s) { return s; }

// kainjow trims tag contents with std::isspace (in the "C" locale, which Reach never changes).
std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

// A name the fast path looks up exactly as kainjow would: not empty, not a section, partial,
// comment or delimiter tag, and dotted without empty parts (kainjow splits "a..b" and "a." in
// ways not worth copying). Anything else goes to kainjow.
bool IsPlainName(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  if (std::string_view("#^/>&!={").find(name.front()) != std::string_view::npos) return false;
  return name.find("..") == std::string_view::npos;
}

// Splits off the first dotted part of `path`: returns it and leaves the rest in `path`.
std::string_view NextPart(std::string_view& path) {
  size_t dot = path.find('.');
  std::string_view part = path.substr(0, dot);
  path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  return part;
}

// Follows the dotted `path` from `v` through objects (kainjow finds nothing inside a list or a
// scalar); null when a part is missing.
const json::value* Follow(const json::value* v, std::string_view path) {
  while (v && !path.empty()) {
    if (!v->is_object()) return nullptr;
    v = v->get_object().if_contains(NextPart(path));
  }
  return v;
}

// What a variable renders to: a string as it is, a number in decimal; nothing for the rest
// (booleans, null, lists and objects render nothing as a variable).
void AppendScalar(const json::value* v, std::string& out) {
  if (!v) return;
  if (v->is_string()) {
    out.append(v->get_string().data(), v->get_string().size());
  } else if (v->is_number()) {
    AppendNumber(*v, out);
  }
}

// Parsed templates by text, per thread. Flow files hold few distinct texts; past kParsedEntries one
// entry is dropped to make room, and long texts are not kept at all, which bounds the memory.
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using ParsedTemplates = std::unordered_map<std::string, std::unique_ptr<mustache>, TextHash, std::equal_to<>>;
constexpr size_t kParsedEntries = 64;
constexpr size_t kParsedTextBytes = 4096;

ParsedTemplates& ThreadParsedTemplates() {
  thread_local ParsedTemplates parsed;
  return parsed;
}

}  // namespace

struct TemplateRenderer::Data {
  data root{data::type::object};
  bool has_user = false;
  bool has_event = false;
  bool has_ctx = false;
};

json::object TemplateRenderer::View(const storage::UserRecord& user, const json::value* event,
                                    const json::object& ctx) {
  json::object u;
  u.reserve(std::size(kUserFields) + user.traits.size());
  u["id"] = user.id;
  u["traits"] = user.traits;
  u["tags"] = user.tags;
  u["timezone"] = user.timezone;
  u["identities"] = user.identities;
  u["subscriptions"] = user.subscriptions;
  Flatten(u, user.traits);

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
    : user_(user), event_(event), ctx_(ctx) {}

TemplateRenderer::~TemplateRenderer() = default;

bool TemplateRenderer::Render(std::string_view text, std::string& out, std::string& error) const {
  // A text without a tag is the common case for fixed fields; skip the parser for it.
  if (text.find("{{") == std::string_view::npos) {
    out.assign(text);
    return true;
  }
  try {
    if (RenderVariables(text, out)) return true;
    return RenderWithMustache(text, out, error);
  } catch (const std::exception& e) {
    // kainjow reports template errors through is_valid(); this is for allocation failures and
    // the like, which must not escape a node (nodes do not throw).
    error = e.what();
    return false;
  }
}

// Scans tags as kainjow's parser does with the default delimiters: a tag opens at the first
// "{{"; "{{{" opens an unescaped one that closes at the first "}}}", any other at the first
// "}}"; the contents are trimmed, and "&" makes an unescaped variable. Since there is no
// escaping and no section, the output is the text with each variable replaced.
bool TemplateRenderer::RenderVariables(std::string_view text, std::string& out) const {
  out.clear();
  size_t pos = 0;
  for (;;) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      out.append(text.substr(pos));
      return true;
    }
    out.append(text.substr(pos, open - pos));
    const bool triple = open + 2 < text.size() && text[open + 2] == '{';
    const size_t start = open + (triple ? 3 : 2);
    const size_t close = text.find(triple ? "}}}" : "}}", start);
    if (close == std::string_view::npos) return false;  // unclosed: kainjow says where
    std::string_view name = Trim(text.substr(start, close - start));
    if (!triple && !name.empty() && name.front() == '&') name = Trim(name.substr(1));
    if (!IsPlainName(name)) return false;
    AppendVariable(name, out);
    pos = close + (triple ? 3 : 2);
  }
}

// The fast path's lookup over the view described in the header, without building it.
void TemplateRenderer::AppendVariable(std::string_view name, std::string& out) const {
  std::string_view rest = name;
  const std::string_view root = NextPart(rest);
  if (rest.empty()) return;  // user, event, ctx or an unknown name: never a string
  const std::string_view key = NextPart(rest);
  if (root == "user") {
    // The record's own fields first: a trait never hides them.
    if (key == "id" || key == "timezone") {
      if (rest.empty()) out += key == "id" ? user_.id : user_.timezone;
      return;
    }
    if (key == "tags") return;  // a list: nothing as a variable, nothing inside it either
    const json::object* own = key == "traits"         ? &user_.traits
                              : key == "identities"    ? &user_.identities
                              : key == "subscriptions" ? &user_.subscriptions
                                                       : nullptr;
    if (own) {
      if (!rest.empty()) AppendScalar(Follow(own->if_contains(NextPart(rest)), rest), out);
      return;
    }
    AppendScalar(Follow(user_.traits.if_contains(key), rest), out);
  } else if (root == "event") {
    if (!event_ || !event_->is_object()) return;
    const json::object& event = event_->get_object();
    const json::value* v = event.if_contains(key);
    if (!v) {
      const json::value* properties = event.if_contains("properties");
      if (properties && properties->is_object()) v = properties->get_object().if_contains(key);
    }
    AppendScalar(Follow(v, rest), out);
  } else if (root == "ctx") {
    AppendScalar(Follow(ctx_.if_contains(key), rest), out);
  }
}

bool TemplateRenderer::RenderWithMustache(std::string_view text, std::string& out, std::string& error) const {
  ParsedTemplates& parsed = ThreadParsedTemplates();
  std::unique_ptr<mustache> uncached;
  mustache* tmpl = nullptr;
  bool cached = false;
  if (auto it = parsed.find(text); it != parsed.end()) {
    tmpl = it->second.get();
    cached = true;
  } else {
    auto fresh = std::make_unique<mustache>(std::string(text));
    if (!fresh->is_valid()) {
      error = fresh->error_message();
      return false;
    }
    fresh->set_custom_escape(Identity);
    if (text.size() <= kParsedTextBytes) {
      if (parsed.size() >= kParsedEntries) parsed.erase(parsed.begin());
      tmpl = parsed.emplace(std::string(text), std::move(fresh)).first->second.get();
      cached = true;
    } else {
      uncached = std::move(fresh);
      tmpl = uncached.get();
    }
  }

  // Only the roots the text can name: a name is a substring of the text, and only a partial
  // ({{>name}}, which needs a '>') can bring in names from the data itself.
  if (!data_) data_ = std::make_unique<Data>();
  const bool all = text.find('>') != std::string_view::npos;
  if (!data_->has_user && (all || text.find("user") != std::string_view::npos)) {
    data_->root["user"] = UserData(user_);
    data_->has_user = true;
  }
  if (!data_->has_event && (all || text.find("event") != std::string_view::npos)) {
    data_->root["event"] = EventData(event_);
    data_->has_event = true;
  }
  if (!data_->has_ctx && (all || text.find("ctx") != std::string_view::npos)) {
    data_->root["ctx"] = ToData(ctx_);
    data_->has_ctx = true;
  }

  out.clear();
  tmpl->render(data_->root, [&out](const std::string& piece) { out += piece; });
  if (!tmpl->is_valid()) {
    // A partial that did not parse. kainjow keeps the error in the template, so it must not
    // be rendered again from the cache.
    error = tmpl->error_message();
    if (cached) parsed.erase(parsed.find(text));
    return false;
  }
  return true;
}

bool TemplateRenderer::RenderStrings(json::value& value, std::string& error) const {
  std::string path;
  return RenderAt(value, path, error);
}

bool TemplateRenderer::RenderAt(json::value& value, std::string& path, std::string& error) const {
  if (value.is_string()) {
    if (value.get_string().find("{{") == json::string::npos) return true;  // renders to itself
    std::string out, why;
    if (!Render(value.get_string(), out, why)) {
      error = path.empty() ? why : path + ": " + why;
      return false;
    }
    value.get_string().assign(out);
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
