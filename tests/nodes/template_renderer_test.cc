// TemplateRenderer's fast paths and caches against its reference semantics
// (template_reference.h: the whole view converted to kainjow data, a kainjow parse per text):
// for every template below, and for a few thousand generated ones, the output, the success and
// the error message must be the same.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "nodes/template_reference.h"
#include "nodes/template_renderer.h"
#include "storage/records.h"

namespace reach::nodes {
namespace {

using testing::ReferenceData;
using testing::ReferenceRender;
using testing::ReferenceRenderStrings;

// The data the templates read: traits that collide with the user's own fields, numbers of
// every JSON kind, booleans, null, lists, nested objects, keys with spaces and non-ASCII.
struct Journey {
  storage::UserRecord user;
  boost::json::value event;
  boost::json::object ctx;

  Journey() {
    user.id = "u1";
    user.timezone = "Asia/Shanghai";
    user.traits = {{"nickname", "Ann"},   {"id", "trait-id"},     {"tags", "trait-tags"},
                   {"age", 31},           {"score", 87.5},        {"whole", 3.0},
                   {"vip", true},         {"churned", false},     {"nothing", nullptr},
                   {"address", {{"city", "Shanghai"}, {"zip", 200000}}},
                   {"昵称", "安"},        {"with space", "ws"},   {"html", "A & B <\"c\">"}};
    user.tags = {"vip", "beta"};
    user.identities = {{"openid", "o-1"}, {"phone", 13800000000}};
    user.subscriptions = {{"sms.send", "subscribed"}};
    event = {{"type", "form_submitted"},
             {"coupon", "top-level"},
             {"properties", {{"coupon", "C9"}, {"source", "ad"}, {"amount", -12.25}, {"items", {1, 2}}}}};
    ctx = {{"n", 42},
           {"big", 18446744073709551615ull},
           {"neg", -7},
           {"half", 2.5},
           {"huge", 1e300},
           {"text", "line1\nline2\r\n"},
           {"items", {"a", "b"}},
           {"empty", boost::json::array()},
           {"vip", true},
           {"none", nullptr},
           {"deep", {{"a", {{"b", {{"c", "abc"}}}}}}},
           {"p", "{{ctx.n}}!"},
           {"bad_partial", "{{#x}}"},
           {"", "empty-key"}};
  }
};

// Renders `text` both ways; fails with the template named when they differ.
void ExpectSameAsReference(const std::string& text, const storage::UserRecord& user, const boost::json::value* event,
                           const boost::json::object& ctx) {
  TemplateRenderer renderer(user, event, ctx);
  ReferenceData reference(user, event, ctx);
  std::string out, error, want_out, want_error;
  bool ok = renderer.Render(text, out, error);
  bool want_ok = ReferenceRender(reference, text, want_out, want_error);
  ASSERT_EQ(ok, want_ok) << "template: " << text << "\nerror: " << error << "\nreference error: " << want_error;
  if (ok) {
    EXPECT_EQ(out, want_out) << "template: " << text;
  } else {
    EXPECT_EQ(error, want_error) << "template: " << text;
  }
}

void ExpectSameAsReference(const std::string& text, const Journey& j = Journey()) {
  ExpectSameAsReference(text, j.user, &j.event, j.ctx);
}

const std::vector<std::string>& Templates() {
  static const std::vector<std::string> kTemplates = {
      // plain text and plain variables (the fast path)
      "", "plain", "Hi {{user.id}}", "{{user.id}}{{user.id}}", "a{{user.nickname}}b{{ctx.n}}c",
      // the user's own fields win over traits; traits at the top; traits still under traits
      "{{user.id}}|{{user.tags}}|{{user.timezone}}|{{user.traits.id}}|{{user.traits.tags}}",
      "{{user.nickname}}|{{user.traits.nickname}}|{{user.identities.openid}}|{{user.subscriptions.sms.send}}",
      "{{user.identities}}|{{user.traits}}|{{user.subscriptions}}|{{user.tags.0}}|{{user.id.x}}|{{user.timezone.x}}",
      // event: own keys win over properties; properties at the top
      "{{event.type}}|{{event.coupon}}|{{event.properties.coupon}}|{{event.source}}|{{event.amount}}",
      "{{event.items}}|{{event.properties}}|{{event.missing}}|{{event.type.x}}",
      // numbers, booleans, null, lists, objects
      "{{ctx.n}} {{ctx.big}} {{ctx.neg}} {{ctx.half}} {{ctx.huge}} {{user.whole}} {{user.score}} {{user.age}}",
      "{{user.identities.phone}}|{{user.address.zip}}",
      "[{{user.vip}}][{{user.churned}}][{{user.nothing}}][{{ctx.none}}][{{ctx.items}}][{{ctx.deep}}]",
      // missing names at every depth, unknown roots, roots themselves
      "[{{ctx.nope}}][{{ctx.deep.a.nope}}][{{ctx.deep.a.b.c.d}}][{{nope.x}}][{{user}}][{{event}}][{{ctx}}]",
      "[{{nope}}][{{id}}][{{n}}]",
      // nested paths
      "{{ctx.deep.a.b.c}}/{{user.address.city}}/{{user.traits.address.city}}",
      // escaping forms and whitespace inside tags
      "{{user.html}}|{{{user.html}}}|{{&user.html}}|{{& user.html }}|{{ user.html }}|{{{ user.html }}}",
      "{{\tuser.nickname\n}}|{{user.with space}}|{{user. nickname}}|{{user.昵称}}",
      "{{ctx.text}}", "a\nb\r\n{{ctx.n}}\n",
      // braces around and inside tags
      "{{{{ctx.n}}}}", "{{{ctx.n}}}}", "}}{{ctx.n}}{{", "{ {{ctx.n}} }", "{{ctx.n}}}", "{{{ctx.n}}",
      // names kainjow treats specially: empty parts, dots, empty
      "{{}}", "{{ }}", "{{.}}", "{{..}}", "{{ctx.}}", "{{.ctx}}", "{{ctx..n}}", "{{user.id.}}", "{{ctx.deep..a}}",
      // sections, inverted sections, lists, booleans (kainjow)
      "{{#ctx.items}}[{{.}}]{{/ctx.items}}", "{{#ctx.vip}}VIP{{/ctx.vip}}{{^ctx.none}}-{{/ctx.none}}{{ctx.nothing}}!",
      "{{#ctx.empty}}x{{/ctx.empty}}{{^ctx.empty}}none{{/ctx.empty}}", "{{#user.address}}{{city}} {{zip}}{{/user.address}}",
      "{{#ctx.deep}}{{a.b.c}}{{ctx.n}}{{/ctx.deep}}", "{{#event}}{{type}}{{/event}}", "{{^event}}no event{{/event}}",
      "{{#user.vip}}\n  standalone\n{{/user.vip}}\n", "  {{#ctx.vip}}\n  x\n  {{/ctx.vip}}\n",
      "{{#ctx.items}}{{user.nickname}}{{/ctx.items}}", "{{#user}}{{id}}{{nickname}}{{/user}}",
      // comments, partials, set delimiters (kainjow)
      "a{{! a comment }}b", "{{!x}}\n{{ctx.n}}", "{{>p}}", "{{#ctx}}{{>p}}{{/ctx}}", "{{#ctx}}{{> p }}{{/ctx}}",
      "{{=<% %>=}}<% ctx.n %>{{ctx.n}}", "{{=<% %>=}}<%#ctx.vip%>v<%/ctx.vip%>",
      // malformed: the same error as kainjow's
      "{{user.id", "Hi {{", "{{", "{{{user.id}}", "{{#a}}open", "{{/b}}", "{{#a}}{{/b}}", "{{#ctx.vip}}x",
      "{{=<%>=}}", "{{= =}}", "{{#ctx}}{{>bad_partial}}{{/ctx}}", "ok {{ctx.n}} then {{#broken}}",
      "{{ctx.n}} {{user.id", "{{ctx.n}}{{/ctx.n}}",
  };
  return kTemplates;
}

TEST(TemplateRendererFastPath, RendersEveryTemplateAsTheReferenceDoes) {
  for (const std::string& text : Templates()) ExpectSameAsReference(text);
}

TEST(TemplateRendererFastPath, RendersEveryTemplateAsTheReferenceDoesWithoutAnEvent) {
  Journey j;
  for (const std::string& text : Templates()) ExpectSameAsReference(text, j.user, nullptr, j.ctx);
  boost::json::value not_an_object = "just text";
  for (const std::string& text : Templates()) ExpectSameAsReference(text, j.user, &not_an_object, j.ctx);
}

TEST(TemplateRendererFastPath, EventWithoutPropertiesOrWithPropertiesNotAnObject) {
  Journey j;
  j.event = {{"type", "t"}};
  for (const std::string& text : Templates()) ExpectSameAsReference(text, j);
  j.event = {{"type", "t"}, {"properties", "not an object"}, {"source", "own"}};
  for (const std::string& text : Templates()) ExpectSameAsReference(text, j);
}

TEST(TemplateRendererFastPath, WritesNumbersAsTheReferenceDoes) {
  Journey j;
  j.ctx = {{"a", 0},         {"b", -0.0},  {"c", 1e15},  {"d", 9007199254740992.0}, {"e", 0.1},
           {"f", -1e-7},     {"g", 1e21},  {"h", -3.0},  {"i", INT64_MIN},          {"j", 123456789.125}};
  ExpectSameAsReference("{{ctx.a}} {{ctx.b}} {{ctx.c}} {{ctx.d}} {{ctx.e}} {{ctx.f}} {{ctx.g}} {{ctx.h}} {{ctx.i}} {{ctx.j}}",
                        j);
}

// Texts built from pieces that exercise the scanner: tags of every kind, names good and bad,
// stray braces and line breaks. Fixed seed: a failure names the template, and reruns find it.
TEST(TemplateRendererFastPath, GeneratedTemplatesRenderAsTheReferenceDoes) {
  const std::vector<std::string> pieces = {
      "Hi ", " ", "\n", "\r\n", "{", "}", "{{", "}}", "}}}", "x", "&", "#", "/", ".", "=",
      "{{user.id}}", "{{user.nickname}}", "{{ user.age }}", "{{{user.html}}}", "{{&user.html}}",
      "{{event.coupon}}", "{{event.source}}", "{{ctx.n}}", "{{ctx.half}}", "{{ctx.deep.a.b.c}}",
      "{{ctx.none}}", "{{ctx.vip}}", "{{ctx.items}}", "{{ctx.nope}}", "{{user.tags}}", "{{user}}",
      "{{#ctx.vip}}", "{{/ctx.vip}}", "{{^ctx.none}}", "{{/ctx.none}}", "{{#ctx.items}}", "{{/ctx.items}}",
      "{{.}}", "{{! c }}", "{{>p}}", "{{=<% %>=}}", "<% ctx.n %>", "{{ctx..n}}", "{{ctx.n.}}", "{{}}",
  };
  Journey j;
  std::mt19937 random(20240611);
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1), length(1, 6);
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    for (size_t n = length(random); n > 0; --n) text += pieces[pick(random)];
    ExpectSameAsReference(text, j);
    if (::testing::Test::HasFailure()) return;  // one template is enough to debug
  }
}

TEST(TemplateRendererFastPath, RenderStringsMatchesTheReferenceIncludingErrorPaths) {
  Journey j;
  TemplateRenderer renderer(j.user, &j.event, j.ctx);
  ReferenceData reference(j.user, &j.event, j.ctx);
  const std::vector<boost::json::value> values = {
      boost::json::parse(R"({"first":{"value":"Hi {{user.nickname}}"},"n":3,"b":true,"z":null,"k":"fixed"})"),
      boost::json::parse(R"(["{{ctx.n}}",["{{#ctx.items}}{{.}}{{/ctx.items}}",{"x":"{{event.coupon}}"}]])"),
      boost::json::parse(R"({"x":{"y":["ok","{{/b}}"]}})"),
      boost::json::parse(R"({"a":["{{ctx.n}}",{"b":"{{user.id"}]})"),
      boost::json::parse(R"("{{#open}}")"),
  };
  for (const boost::json::value& value : values) {
    boost::json::value got = value, want = value;
    std::string error, want_error;
    bool ok = renderer.RenderStrings(got, error);
    ASSERT_EQ(ok, ReferenceRenderStrings(reference, want, want_error)) << boost::json::serialize(value);
    if (ok) {
      EXPECT_EQ(got, want);
    } else {
      EXPECT_EQ(error, want_error);
    }
  }
}

// ---- the per-thread cache of kainjow parses and the lazily built view ----

TEST(TemplateRendererCache, CachedParseRendersEachRenderersOwnData) {
  const std::string text = "{{#ctx.vip}}VIP {{/ctx.vip}}{{user.nickname}}";
  Journey a, b;
  b.ctx["vip"] = false;
  b.user.traits["nickname"] = "Bob";
  std::string out, error;
  ASSERT_TRUE(TemplateRenderer(a.user, &a.event, a.ctx).Render(text, out, error));
  EXPECT_EQ(out, "VIP Ann");
  ASSERT_TRUE(TemplateRenderer(b.user, &b.event, b.ctx).Render(text, out, error));
  EXPECT_EQ(out, "Bob");
}

TEST(TemplateRendererCache, PartialThatFailsDoesNotBreakTheNextRenderOfTheSameText) {
  const std::string text = "{{#ctx}}{{>q}}{{/ctx}}";
  Journey bad, good;
  bad.ctx["q"] = "{{#unclosed}}";
  good.ctx["q"] = "{{ctx.n}}";
  std::string out, error;
  EXPECT_FALSE(TemplateRenderer(bad.user, &bad.event, bad.ctx).Render(text, out, error));
  EXPECT_EQ(error, "Unclosed section \"unclosed\" at 0");
  error.clear();
  ASSERT_TRUE(TemplateRenderer(good.user, &good.event, good.ctx).Render(text, out, error)) << error;
  EXPECT_EQ(out, "42");
  ExpectSameAsReference(text, bad);
  ExpectSameAsReference(text, good);
}

TEST(TemplateRendererCache, MoreDistinctTextsThanTheCacheHoldsStillRender) {
  Journey j;
  TemplateRenderer renderer(j.user, &j.event, j.ctx);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 300; ++i) {
      std::string text = "{{#ctx.vip}}" + std::to_string(i) + "{{/ctx.vip}}";
      std::string out, error;
      ASSERT_TRUE(renderer.Render(text, out, error)) << error;
      EXPECT_EQ(out, std::to_string(i));
    }
  }
}

TEST(TemplateRendererCache, LongTextsRenderWithoutBeingCached) {
  Journey j;
  std::string text = "{{#ctx.vip}}" + std::string(10000, 'x') + "{{ctx.n}}{{/ctx.vip}}";
  ExpectSameAsReference(text, j);
  ExpectSameAsReference(text + "{{#open}}", j);
}

TEST(TemplateRendererCache, ViewBuiltForOneRootServesLaterTemplatesNamingOthers) {
  // The first kainjow template names only ctx; later ones on the same renderer name user and
  // event, whose parts must be added then.
  Journey j;
  TemplateRenderer renderer(j.user, &j.event, j.ctx);
  ReferenceData reference(j.user, &j.event, j.ctx);
  for (const std::string text : {"{{#ctx.vip}}{{ctx.n}}{{/ctx.vip}}", "{{#ctx.vip}}{{user.nickname}}{{/ctx.vip}}",
                                 "{{#ctx.vip}}{{event.source}}{{/ctx.vip}}", "{{#ctx}}{{>p}}{{/ctx}}"}) {
    std::string out, error, want;
    ASSERT_TRUE(renderer.Render(text, out, error)) << error;
    ASSERT_TRUE(ReferenceRender(reference, text, want, error));
    EXPECT_EQ(out, want) << text;
  }
}

TEST(TemplateRendererCache, PartialFromDataSeesEveryRoot) {
  // A partial's text comes from the data, so it can name a root the template does not.
  Journey j;
  j.ctx["p"] = "{{user.nickname}}/{{event.source}}";
  ExpectSameAsReference("{{#ctx}}{{>p}}{{/ctx}}", j);
  TemplateRenderer renderer(j.user, &j.event, j.ctx);
  std::string out, error;
  ASSERT_TRUE(renderer.Render("{{#ctx}}{{>p}}{{/ctx}}", out, error)) << error;
  EXPECT_EQ(out, "Ann/ad");
}

}  // namespace
}  // namespace reach::nodes
