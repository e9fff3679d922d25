// The send kinds at run time: each renders its templates over {user, event, ctx} and hands the
// provider-shaped payload (WIRE.md) to NodeContext::Send; a missing identity, a template that
// does not render and a refused send fail the node. Also the template renderer itself.
#include <string>

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "nodes/runtime_test_util.h"
#include "nodes/template_renderer.h"

namespace reach::nodes {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::FakeNodeContext;
using testing::Show;
using testing::TestNode;

std::string Json(const boost::json::value& v) { return boost::json::serialize(v); }

// A user with every identity, a few traits, an event and ctx that the templates below use.
FakeNodeContext Journey() {
  FakeNodeContext ctx;
  ctx.user_record.traits = {{"nickname", "Ann"}, {"name", "Ann Li"}, {"city", "Shanghai"}};
  ctx.user_record.identities = {{"openid", "o-1"},
                                {"phone", "13800000000"},
                                {"external_userid", "wmEx1"},
                                {"wecom_userid", "zhangsan"}};
  ctx.event = {{"type", "form_submitted"}, {"properties", {{"source", "ad"}, {"coupon", "C9"}}}};
  ctx.ctx_json = {{"src", "ad"}, {"owner", "lisi"}, {"staff_userid", "zhangsan"}, {"course_id", 42}};
  return ctx;
}

// Runs a send node that must succeed; returns its one payload as JSON text.
std::string PayloadOf(const std::string& yaml, FakeNodeContext ctx = Journey()) {
  TestNode n = TestNode::Of(yaml);
  engine::NodeOutcome out = n.Run(ctx);
  EXPECT_EQ(Show(out), "done null");
  if (ctx.sends.size() != 1) {
    ADD_FAILURE() << "expected one send, got " << ctx.sends.size();
    return "";
  }
  EXPECT_EQ(ctx.sends[0].channel, n.def.type);
  EXPECT_EQ(ctx.sends[0].node, "n1");
  return Json(ctx.sends[0].payload);
}

std::string FailureOf(const std::string& yaml, FakeNodeContext ctx = Journey()) {
  engine::NodeOutcome out = TestNode::Of(yaml).Run(ctx);
  EXPECT_TRUE(ctx.sends.empty());
  return Show(out);
}

// ---- wechat.template / wechat.subscribe ----

const char* const kTemplateMessage =
    "type: wechat.template\ntemplate_id: TPL_WELCOME\n"
    "url: \"https://shop.example.com/sale?u={{user.id}}\"\n"
    "miniprogram: {appid: wx123, pagepath: \"pages/sale/index?from={{ctx.src}}\"}\n"
    "data:\n  first: \"Hi {{user.nickname}} & <friends>\"\n"
    "  remark: {value: \"Reply 1 for {{event.coupon}}\", color: \"#173177\"}\n";

TEST(WechatTemplateRuntime, SendsTheTemplateMessageToTheOpenid) {
  EXPECT_EQ(PayloadOf(kTemplateMessage),
            R"({"app":"default","touser":"o-1","template_id":"TPL_WELCOME",)"
            R"("url":"https://shop.example.com/sale?u=u1",)"
            R"("miniprogram":{"appid":"wx123","pagepath":"pages/sale/index?from=ad"},)"
            R"("data":{"first":{"value":"Hi Ann & <friends>"},"remark":{"value":"Reply 1 for C9","color":"#173177"}}})");
}

TEST(WechatTemplateRuntime, NotesTheSend) {
  FakeNodeContext ctx = Journey();
  TestNode::Of(kTemplateMessage).Run(ctx);
  EXPECT_EQ(ctx.notes, std::vector<std::string>{"send wechat.template to o-1"});
}

TEST(WechatTemplateRuntime, WithoutOpenidFailsAsMissingIdentity) {
  FakeNodeContext ctx = Journey();
  ctx.user_record.identities.erase("openid");
  EXPECT_EQ(FailureOf(kTemplateMessage, ctx), "failed MissingIdentity: user has no openid");
}

TEST(WechatTemplateRuntime, RefusedSendFailsAsSendError) {
  FakeNodeContext ctx = Journey();
  ctx.refuse_sends = true;
  EXPECT_EQ(FailureOf(kTemplateMessage, ctx), "failed SendError: outbox is full");
  EXPECT_TRUE(ctx.notes.empty());
}

TEST(WechatTemplateRuntime, BrokenTemplateFailsAsTemplateError) {
  std::string out = FailureOf("type: wechat.template\ntemplate_id: T\ndata: {first: \"{{#ctx.src}}open\"}\n");
  EXPECT_THAT(out, StartsWith("failed TemplateError: template in 'data' does not render: first.value: "));
}

TEST(WechatSubscribeRuntime, SendsValuesWithoutColor) {
  FakeNodeContext ctx = Journey();
  ctx.ctx_json.as_object()["course"] = "Yoga";
  ctx.ctx_json.as_object()["start_time"] = "2026-01-02 10:00";
  EXPECT_EQ(PayloadOf("type: wechat.subscribe\napp: mp\ntemplate_id: TPL_REMIND\n"
                      "data: {thing1: \"{{ctx.course}}\", time2: \"{{ctx.start_time}}\"}\n"
                      "page: \"pages/course/index?id={{ctx.course_id}}\"\nminiprogram_state: formal\nlang: zh_CN\n",
                      ctx),
            R"({"app":"mp","touser":"o-1","template_id":"TPL_REMIND","page":"pages/course/index?id=42",)"
            R"("miniprogram_state":"formal","lang":"zh_CN",)"
            R"("data":{"thing1":{"value":"Yoga"},"time2":{"value":"2026-01-02 10:00"}}})");
}

TEST(WechatSubscribeRuntime, WithoutOpenidFailsAsMissingIdentity) {
  FakeNodeContext ctx = Journey();
  ctx.user_record.identities["openid"] = "";
  EXPECT_EQ(FailureOf("type: wechat.subscribe\ntemplate_id: T\ndata: {a: x}\n", ctx),
            "failed MissingIdentity: user has no openid");
}

// ---- sms.send ----

TEST(SmsSendRuntime, AliyunSendsTemplateParamAsAJsonString) {
  FakeNodeContext ctx = Journey();
  ctx.user_record.traits["name"] = "张三";
  ctx.ctx_json.as_object()["code"] = 1234;
  TestNode n = TestNode::Of(
      "type: sms.send\nprovider: aliyun\ntemplate_code: SMS_71390007\nsign_name: Example Shop\n"
      "params: {customer: \"{{user.name}}\", code: \"{{ctx.code}}\"}\n");
  ASSERT_EQ(Show(n.Run(ctx)), "done null");
  ASSERT_EQ(ctx.sends.size(), 1u);
  boost::json::object& payload = ctx.sends[0].payload;
  EXPECT_EQ(payload.at("TemplateParam"), R"({"customer":"张三","code":"1234"})");
  payload.erase("TemplateParam");
  EXPECT_EQ(Json(payload), R"({"app":"default","provider":"aliyun","PhoneNumbers":"13800000000",)"
                           R"("SignName":"Example Shop","TemplateCode":"SMS_71390007"})");
  EXPECT_EQ(ctx.notes.at(0), "send sms.send to 13800000000");
}

TEST(SmsSendRuntime, TencentSendsE164NumbersAndPositionalParams) {
  EXPECT_EQ(PayloadOf("type: sms.send\nprovider: tencent\ntemplate_id: \"449739\"\nparams: [\"{{user.nickname}}\", \"5\"]\n"),
            R"({"app":"default","provider":"tencent","PhoneNumberSet":["+8613800000000"],)"
            R"("TemplateId":"449739","TemplateParamSet":["Ann","5"]})");
}

TEST(SmsSendRuntime, PhoneFieldOverridesTheIdentity) {
  FakeNodeContext ctx = Journey();
  ctx.user_record.identities.erase("phone");
  ctx.ctx_json.as_object()["phone"] = "+447700900123";
  EXPECT_EQ(PayloadOf("type: sms.send\nprovider: tencent\ntemplate_id: \"1\"\nphone: \"{{ctx.phone}}\"\n", ctx),
            R"({"app":"default","provider":"tencent","PhoneNumberSet":["+447700900123"],"TemplateId":"1"})");
  EXPECT_EQ(FailureOf("type: sms.send\nprovider: aliyun\ntemplate_code: S\nphone: \"{{ctx.nope}}\"\n", ctx),
            "failed MissingIdentity: field 'phone' renders empty");
}

TEST(SmsSendRuntime, WithoutPhoneFailsAsMissingIdentity) {
  FakeNodeContext ctx = Journey();
  ctx.user_record.identities.erase("phone");
  EXPECT_EQ(FailureOf("type: sms.send\nprovider: aliyun\ntemplate_code: S\n", ctx),
            "failed MissingIdentity: user has no phone");
}

// ---- wecom.message ----

TEST(WecomMessageRuntime, TextToTheCurrentUserAndRenderedRecipients) {
  EXPECT_EQ(PayloadOf("type: wecom.message\nto_user: true\ntouser: [\"{{ctx.owner}}\", \"{{ctx.missing}}\"]\n"
                      "totag: \"7\"\nmsgtype: text\ncontent: \"New lead {{user.name}} from {{event.source}}\"\n"
                      "safe: 1\nenable_duplicate_check: true\nduplicate_check_interval: 10m\n"),
            R"({"app":"default","touser":"lisi|zhangsan","totag":"7","msgtype":"text",)"
            R"("text":{"content":"New lead Ann Li from ad"},"safe":1,"enable_duplicate_check":1,)"
            R"("duplicate_check_interval":600})");
}

TEST(WecomMessageRuntime, TextcardToAPartyLeavesDuplicateCheckToTheChannel) {
  FakeNodeContext ctx = Journey();
  TestNode n = TestNode::Of(
      "type: wecom.message\napp: sales\ntoparty: \"2\"\nmsgtype: textcard\ntextcard:\n"
      "  title: \"Lead {{user.name}}\"\n  description: \"{{user.city}}\"\n  url: \"https://crm/{{user.id}}\"\n");
  ASSERT_EQ(Show(n.Run(ctx)), "done null");
  EXPECT_EQ(Json(ctx.sends.at(0).payload),
            R"({"app":"sales","toparty":"2","msgtype":"textcard",)"
            R"("textcard":{"title":"Lead Ann Li","description":"Shanghai","url":"https://crm/u1"},"safe":0})");
  EXPECT_EQ(ctx.notes.at(0), "send wecom.message to party 2");
}

TEST(WecomMessageRuntime, WithoutWecomUseridFailsAsMissingIdentity) {
  FakeNodeContext ctx = Journey();
  ctx.user_record.identities.erase("wecom_userid");
  EXPECT_EQ(FailureOf("type: wecom.message\nto_user: true\nmsgtype: text\ncontent: hi\n", ctx),
            "failed MissingIdentity: user has no wecom_userid");
}

TEST(WecomMessageRuntime, RecipientsThatRenderEmptyFail) {
  EXPECT_EQ(FailureOf("type: wecom.message\ntouser: \"{{ctx.missing}}\"\nmsgtype: text\ncontent: hi\n"),
            "failed MissingIdentity: no recipient: 'touser', 'toparty' and 'totag' all render empty");
}

// ---- wecom.customer_message ----

TEST(WecomCustomerMessageRuntime, MassSendToTheCurrentCustomer) {
  EXPECT_EQ(PayloadOf("type: wecom.customer_message\nsender: \"{{ctx.staff_userid}}\"\n"
                      "text: \"Day 1 tip for {{user.nickname}}\"\nattachments:\n"
                      "  - {msgtype: link, link: {title: Guide, url: \"https://example.com/start?u={{user.id}}\"}}\n"),
            R"({"app":"default","chat_type":"single","external_userid":["wmEx1"],"sender":"zhangsan",)"
            R"("text":{"content":"Day 1 tip for Ann"},)"
            R"("attachments":[{"msgtype":"link","link":{"title":"Guide","url":"https://example.com/start?u=u1"}}]})");
}

TEST(WecomCustomerMessageRuntime, GroupSendNeedsNoCustomerIdentity) {
  FakeNodeContext ctx = Journey();
  ctx.user_record.identities.erase("external_userid");
  EXPECT_EQ(PayloadOf("type: wecom.customer_message\nchat_type: group\nsender: \"{{ctx.staff_userid}}\"\ntext: Hello\n", ctx),
            R"({"app":"default","chat_type":"group","sender":"zhangsan","text":{"content":"Hello"}})");
}

TEST(WecomCustomerMessageRuntime, MassWithoutExternalUseridFailsAsMissingIdentity) {
  FakeNodeContext ctx = Journey();
  ctx.user_record.identities.erase("external_userid");
  EXPECT_EQ(FailureOf("type: wecom.customer_message\ntext: hi\n", ctx),
            "failed MissingIdentity: user has no external_userid");
}

TEST(WecomCustomerMessageRuntime, WelcomeUsesTheEventsWelcomeCode) {
  FakeNodeContext ctx = Journey();
  ctx.event = {{"type", "add_external_contact"}, {"properties", {{"welcome_code", "WC1"}, {"staff_name", "Zhang"}}}};
  EXPECT_EQ(PayloadOf("type: wecom.customer_message\nmode: welcome\ntext: \"Hi {{user.nickname}}, I'm {{event.staff_name}}\"\n", ctx),
            R"({"app":"default","welcome_code":"WC1","text":{"content":"Hi Ann, I'm Zhang"}})");
}

TEST(WecomCustomerMessageRuntime, WelcomeWithoutCodeFails) {
  EXPECT_THAT(FailureOf("type: wecom.customer_message\nmode: welcome\ntext: hi\n"),
              StartsWith("failed MissingWelcomeCode: the event has no welcome_code"));
}

// ---- webhook ----

TEST(WebhookRuntime, SendsMethodUrlHeadersAndARenderedMapBody) {
  EXPECT_EQ(PayloadOf("type: webhook\nurl: \"https://crm.example.com/hooks/lead?u={{user.id}}\"\nmethod: put\n"
                      "headers: {X-Source: reach, X-User: \"{{user.nickname}}\"}\n"
                      "body: {user: \"{{user.id}}\", city: \"{{user.city}}\", score: 5, vip: true}\n"
                      "secret: CRM_HOOK_SECRET\n"),
            R"({"method":"PUT","url":"https://crm.example.com/hooks/lead?u=u1",)"
            R"("headers":{"X-Source":"reach","X-User":"Ann"},)"
            R"("body":{"user":"u1","city":"Shanghai","score":5,"vip":true},"secret":"CRM_HOOK_SECRET"})");
}

TEST(WebhookRuntime, StringBodyAndGetWithoutBody) {
  EXPECT_EQ(PayloadOf("type: webhook\nurl: \"https://x.example/h\"\nbody: \"name={{user.nickname}}\"\n"),
            R"({"method":"POST","url":"https://x.example/h","headers":{},"body":"name=Ann"})");
  EXPECT_EQ(PayloadOf("type: webhook\nurl: \"https://x.example/h\"\nmethod: GET\n"),
            R"({"method":"GET","url":"https://x.example/h","headers":{}})");
}

TEST(WebhookRuntime, RenderedUrlMustBeHttp) {
  FakeNodeContext ctx = Journey();
  ctx.ctx_json.as_object()["base"] = "file:///etc";
  EXPECT_EQ(FailureOf("type: webhook\nurl: \"{{ctx.base}}/passwd\"\n", ctx),
            "failed TemplateError: field 'url' renders to 'file:///etc/passwd', not an http:// or https:// URL");
}

TEST(WebhookRuntime, HeaderValuesCannotInjectHeaders) {
  FakeNodeContext ctx = Journey();
  ctx.user_record.traits["nickname"] = "Ann\r\nX-Admin: 1";
  EXPECT_EQ(FailureOf("type: webhook\nurl: \"https://x.example/h\"\nheaders: {X-User: \"{{user.nickname}}\"}\n", ctx),
            "failed TemplateError: header 'X-User' renders with a line break");
}

// ---- the renderer ----

std::string Render(const std::string& text, const FakeNodeContext& ctx = Journey()) {
  TemplateRenderer renderer(ctx.user_record, &ctx.event, ctx.ctx_json.as_object());
  std::string out, error;
  EXPECT_TRUE(renderer.Render(text, out, error)) << error;
  return out;
}

TEST(TemplateRenderer, ReadsTraitsAndPropertiesAtTheTopLikeExpressions) {
  EXPECT_EQ(Render("{{user.nickname}}/{{user.traits.city}}/{{user.identities.openid}}"), "Ann/Shanghai/o-1");
  EXPECT_EQ(Render("{{event.type}}/{{event.source}}/{{event.properties.coupon}}"), "form_submitted/ad/C9");
  FakeNodeContext ctx = Journey();
  ctx.user_record.traits["id"] = "trait-id";  // a trait never hides the user's own fields
  EXPECT_EQ(Render("{{user.id}}", ctx), "u1");
}

TEST(TemplateRenderer, DoesNotEscapeHtml) {
  FakeNodeContext ctx = Journey();
  ctx.user_record.traits["nickname"] = "A & B <\"c\">";
  EXPECT_EQ(Render("{{user.nickname}}|{{{user.nickname}}}|{{&user.nickname}}", ctx),
            "A & B <\"c\">|A & B <\"c\">|A & B <\"c\">");
}

TEST(TemplateRenderer, WritesNumbersAsPeopleDo) {
  FakeNodeContext ctx = Journey();
  ctx.ctx_json = {{"i", 42}, {"whole", 3.0}, {"half", 2.5}, {"neg", -7}};
  EXPECT_EQ(Render("{{ctx.i}} {{ctx.whole}} {{ctx.half}} {{ctx.neg}}", ctx), "42 3 2.5 -7");
}

TEST(TemplateRenderer, SectionsOverListsAndBooleansAndMissingNames) {
  FakeNodeContext ctx = Journey();
  ctx.ctx_json = {{"items", {"a", "b"}}, {"vip", true}, {"none", nullptr}};
  EXPECT_EQ(Render("{{#ctx.items}}[{{.}}]{{/ctx.items}}", ctx), "[a][b]");
  EXPECT_EQ(Render("{{#ctx.vip}}VIP{{/ctx.vip}}{{^ctx.none}}-{{/ctx.none}}{{ctx.nothing}}!", ctx), "VIP-!");
}

TEST(TemplateRenderer, WithoutEventRendersEventNamesEmpty) {
  FakeNodeContext ctx = Journey();
  TemplateRenderer renderer(ctx.user_record, nullptr, ctx.ctx_json.as_object());
  std::string out, error;
  ASSERT_TRUE(renderer.Render("[{{event.type}}]", out, error));
  EXPECT_EQ(out, "[]");
}

TEST(TemplateRenderer, MalformedTemplateIsAnError) {
  FakeNodeContext ctx = Journey();
  TemplateRenderer renderer(ctx.user_record, &ctx.event, ctx.ctx_json.as_object());
  std::string out, error;
  EXPECT_FALSE(renderer.Render("{{#a}}open", out, error));
  EXPECT_THAT(error, HasSubstr("a"));
  boost::json::value v = {{"x", {{"y", {"ok", "{{/b}}"}}}}};
  EXPECT_FALSE(renderer.RenderStrings(v, error));
  EXPECT_THAT(error, StartsWith("x.y[1]: "));
}

}  // namespace
}  // namespace reach::nodes
