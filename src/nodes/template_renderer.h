#pragma once
// TemplateRenderer: renders the Mustache templates of message fields (`content:`, `data:`,
// `params:`, `url:`, webhook bodies ...) over the journey's data, with kainjow mustache.
//
// What a template sees (the names follow the expression language, so that what works in
// `if: 'user.nickname == ...'` also works in "Hi {{user.nickname}}"):
//   user   {id, traits, tags, timezone, identities, subscriptions}, plus every trait at the top
//          level when no such key exists there: {{user.nickname}} reads traits.nickname.
//   event  the execution's event {type, user_id, properties, timestamp, ...}, plus every
//          property at the top level likewise: {{event.form_id}} reads properties.form_id.
//   ctx    the execution's data.
//
// JSON -> Mustache: strings as they are; numbers in decimal (integers without ".0"); booleans
// and null as Mustache booleans (for {{#flag}}...{{/flag}} sections; as a variable they render
// nothing); arrays as lists (sections iterate over them); objects as objects. A missing name
// renders nothing, as Mustache specifies.
//
// No HTML escaping: these texts go to WeChat, WeCom, SMS and JSON bodies, not into HTML, and
// an escaped "&amp;" in a text message is a visible bug. {{x}} and {{{x}}} render the same.
//
// How it is fast (the result is the same as converting the whole view to kainjow data and
// parsing every template with kainjow, which tests/nodes/template_renderer_test.cc checks
// against that reference):
//   - a text without "{{" is copied as it is;
//   - a text whose tags are all plain variables ({{a.b.c}}, {{{a.b}}}, {{&a}}) is rendered by
//     walking the JSON directly, without kainjow;
//   - anything else (sections, partials, comments, delimiters, malformed tags) goes to kainjow:
//     its parse is kept in a small per-thread cache keyed by the text (flow files hold few
//     distinct texts), and only the parts of the view the text can name (user, event, ctx) are
//     converted to kainjow data, once per renderer.
//
// Not thread-safe to share across threads while rendering (cheap to build: one per send).

#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "storage/records.h"

namespace reach::nodes {

class TemplateRenderer {
 public:
  // Renders over `user`, `event` (may be null: {{event.*}} renders nothing) and `ctx`, which it
  // reads when rendering and does not copy: they must outlive the renderer and not change
  // while it is used (a send node builds one over its NodeContext and drops it before
  // returning). The deleted overloads refuse temporaries at compile time.
  TemplateRenderer(const storage::UserRecord& user, const boost::json::value* event,
                   const boost::json::object& ctx);
  TemplateRenderer(storage::UserRecord&&, const boost::json::value*, const boost::json::object&) = delete;
  TemplateRenderer(const storage::UserRecord&, const boost::json::value*, boost::json::object&&) = delete;
  ~TemplateRenderer();
  TemplateRenderer(const TemplateRenderer&) = delete;
  TemplateRenderer& operator=(const TemplateRenderer&) = delete;

  // Renders one template into `out`. Returns false with a message in `error` when the template
  // is malformed (an unclosed section, say); `out` is then unspecified.
  bool Render(std::string_view text, std::string& out, std::string& error) const;

  // Renders every string inside `value` in place: the value itself when it is a string, object
  // values and array items at any depth. Keys, numbers, booleans and null are left as they are.
  // Returns false with an error naming the failing path ("textcard.title: ...") on the first
  // malformed template.
  bool RenderStrings(boost::json::value& value, std::string& error) const;

  // The view described above, as JSON (for tests and `reach run`).
  static boost::json::object View(const storage::UserRecord& user, const boost::json::value* event,
                                  const boost::json::object& ctx);

 private:
  bool RenderAt(boost::json::value& value, std::string& path, std::string& error) const;
  // The fast path: false (and `out` unspecified) when `text` holds anything but plain variables.
  bool RenderVariables(std::string_view text, std::string& out) const;
  // Appends what the plain variable `name` renders to (a string or a number; nothing else).
  void AppendVariable(std::string_view name, std::string& out) const;
  // Everything else: kainjow, with the parse cached per thread and the view built lazily.
  bool RenderWithMustache(std::string_view text, std::string& out, std::string& error) const;

  const storage::UserRecord& user_;
  const boost::json::value* event_;
  const boost::json::object& ctx_;
  struct Data;  // the kainjow data tree, built on the first template that needs kainjow
  mutable std::unique_ptr<Data> data_;
};

}  // namespace reach::nodes
