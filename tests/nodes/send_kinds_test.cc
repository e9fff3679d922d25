// The send kinds (wecom.*, wechat.*, sms.send, webhook): valid declarations compile to the
// request parts they describe; each validation error has its exact message and line:col.
#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "nodes/kind_test_util.h"
#include "nodes/sms_send_node.h"
#include "nodes/webhook_node.h"
#include "nodes/wechat_subscribe_node.h"
#include "nodes/wechat_template_node.h"
#include "nodes/wecom_customer_message_node.h"
#include "nodes/wecom_message_node.h"

namespace reach::nodes {
namespace {

using dsl::NodeRole;
using ::testing::ElementsAre;
using ::testing::Pair;
using testing::CompileOk;
using testing::ErrorsOf;

std::string Json(const boost::json::value& v) { return boost::json::serialize(v); }

// ---- wecom.message ----

TEST(WecomMessageKind, TextToTheCurrentUser) {
  auto c = CompileOk("type: wecom.message\nto_user: true\nmsgtype: text\ncontent: \"Hi {{user.name}}\"\n");
  EXPECT_EQ(c.role(), NodeRole::kCommon);
  EXPECT_TRUE(c.spec->CanSuspend());
  const auto& config = c.as<WecomMessageConfig>();
  EXPECT_EQ(config.app, "default");
  EXPECT_TRUE(config.to_current_user);
  EXPECT_EQ(config.msgtype, "text");
  EXPECT_EQ(Json(config.content), R"({"content":"Hi {{user.name}}"})");
  EXPECT_EQ(config.enable_duplicate_check, std::nullopt);
}

TEST(WecomMessageKind, TextcardToPartiesAndTags) {
  auto c = CompileOk(
      "type: wecom.message\napp: sales\ntoparty: [\"2\", \"{{ctx.dept}}\"]\ntotag: \"7\"\nmsgtype: textcard\n"
      "textcard:\n  title: \"Lead {{user.name}}\"\n  description: new\n  url: \"https://crm/{{user.id}}\"\n"
      "safe: 1\nenable_duplicate_check: 1\nduplicate_check_interval: 10m\n");
  const auto& config = c.as<WecomMessageConfig>();
  EXPECT_EQ(config.app, "sales");
  EXPECT_THAT(config.toparty, ElementsAre("2", "{{ctx.dept}}"));
  EXPECT_THAT(config.totag, ElementsAre("7"));
  EXPECT_EQ(Json(config.content), R"({"title":"Lead {{user.name}}","description":"new","url":"https://crm/{{user.id}}"})");
  EXPECT_EQ(config.safe, 1);
  EXPECT_EQ(config.enable_duplicate_check, true);
  EXPECT_EQ(config.duplicate_check_interval_seconds, 600);
}

TEST(WecomMessageKind, NewsAndMiniprogramNotice) {
  auto news = CompileOk(
      "type: wecom.message\ntouser: \"@all\"\nmsgtype: news\nnews:\n  articles:\n"
      "    - {title: Sale, url: \"https://x/sale\", picurl: \"https://x/p.png\"}\n"
      "    - {title: App, appid: wx1, pagepath: pages/index}\n");
  EXPECT_EQ(news.as<WecomMessageConfig>().content.at("articles").as_array().size(), 2u);
  auto notice = CompileOk(
      "type: wecom.message\ntouser: [zhangsan]\nmsgtype: miniprogram_notice\n"
      "miniprogram_notice:\n  appid: wx1\n  title: Meeting\n  emphasis_first_item: true\n"
      "  content_item: [{key: Room, value: \"{{ctx.room}}\"}]\n");
  EXPECT_EQ(Json(notice.as<WecomMessageConfig>().content),
            R"({"appid":"wx1","title":"Meeting","emphasis_first_item":true,"content_item":[{"key":"Room","value":"{{ctx.room}}"}]})");
}

TEST(WecomMessageKind, MsgtypeMustBeKnown) {
  EXPECT_THAT(ErrorsOf("type: wecom.message\nto_user: true\nmsgtype: txt\n"),
              ElementsAre("3:10: field 'msgtype' must be one of text, textcard, markdown, news, miniprogram_notice, "
                          "not 'txt'"));
  EXPECT_THAT(ErrorsOf("type: wecom.message\nto_user: true\n"),
              ElementsAre("1:1: node kind 'wecom.message' needs field 'msgtype'"));
}

TEST(WecomMessageKind, NeedsARecipient) {
  EXPECT_THAT(ErrorsOf("type: wecom.message\nmsgtype: text\ncontent: hi\n"),
              ElementsAre("1:1: node kind 'wecom.message' needs a recipient: 'touser', 'toparty', 'totag' or "
                          "'to_user: true' (the current user)"));
  EXPECT_THAT(ErrorsOf("type: wecom.message\nto_user: false\nmsgtype: text\ncontent: hi\n"),
              ElementsAre("2:10: node kind 'wecom.message' needs a recipient: 'touser', 'toparty', 'totag' or "
                          "'to_user: true' (the current user)"));
  EXPECT_THAT(ErrorsOf("type: wecom.message\ntouser: {a: b}\nmsgtype: text\ncontent: hi\n"),
              ElementsAre("2:9: field 'touser' must be a string or a list of strings, not a map"));
  EXPECT_THAT(ErrorsOf("type: wecom.message\ntouser: [\"{{user.id\"]\nmsgtype: text\ncontent: hi\n"),
              ElementsAre("2:10: unclosed template tag '{{' in field 'touser[0]'"));
}

TEST(WecomMessageKind, ContentMustMatchTheMsgtype) {
  EXPECT_THAT(ErrorsOf("type: wecom.message\nto_user: true\nmsgtype: text\n"),
              ElementsAre("1:1: node kind 'wecom.message' needs field 'content'"));
  EXPECT_THAT(ErrorsOf("type: wecom.message\nto_user: true\nmsgtype: markdown\ncontent: x\ntextcard: {title: t}\n"),
              ElementsAre("5:11: field 'textcard' does not apply to msgtype 'markdown'"));
  EXPECT_THAT(ErrorsOf("type: wecom.message\nto_user: true\nmsgtype: text\ncontent: \"Hi {{user.name\"\n"),
              ElementsAre("4:14: unclosed template tag '{{' in field 'content'"));
}

TEST(WecomMessageKind, NestedContentIsChecked) {
  const std::string head = "type: wecom.message\nto_user: true\n";
  EXPECT_THAT(ErrorsOf(head + "msgtype: textcard\ntextcard: {title: t, description: d}\n"),
              ElementsAre("4:11: field 'textcard' needs 'url'"));
  EXPECT_THAT(ErrorsOf(head + "msgtype: textcard\ntextcard: {titel: t, description: d, url: \"https://x\"}\n"),
              ElementsAre("4:11: field 'textcard' needs 'title'",
                          "4:12: unknown field 'titel' in 'textcard' (did you mean 'title'?)"));
  EXPECT_THAT(ErrorsOf(head + "msgtype: textcard\ntextcard: {title: t, description: d, url: crm/lead}\n"),
              ElementsAre("4:43: field 'textcard.url' must be an http:// or https:// URL, not 'crm/lead'"));
  EXPECT_THAT(ErrorsOf(head + "msgtype: news\nnews: {articles: []}\n"),
              ElementsAre("4:18: field 'news.articles' must be a list of 1 to 8 articles, not 0 articles"));
  EXPECT_THAT(ErrorsOf(head + "msgtype: news\nnews:\n  articles:\n    - {title: t}\n"),
              ElementsAre("6:7: field 'news.articles[0]' needs 'url' or 'appid' (where a tap on the article leads)"));
  EXPECT_THAT(ErrorsOf(head + "msgtype: miniprogram_notice\nminiprogram_notice: {appid: a, title: t, "
                              "emphasis_first_item: yes}\n"),
              ElementsAre("4:63: field 'miniprogram_notice.emphasis_first_item' must be true or false"));
}

TEST(WecomMessageKind, Options) {
  const std::string head = "type: wecom.message\nto_user: true\nmsgtype: text\ncontent: hi\n";
  EXPECT_THAT(ErrorsOf(head + "safe: 2\n"), ElementsAre("5:7: field 'safe' must be between 0 and 1"));
  EXPECT_THAT(ErrorsOf(head + "enable_duplicate_check: maybe\n"),
              ElementsAre("5:25: field 'enable_duplicate_check' must be true or false (or 1 or 0)"));
  EXPECT_THAT(ErrorsOf(head + "duplicate_check_interval: 5h\n"),
              ElementsAre("5:27: field 'duplicate_check_interval' must be whole seconds, at most 4h (14400 seconds)"));
  EXPECT_THAT(ErrorsOf(head + "enable_duplicate_check: false\nduplicate_check_interval: 60\n"),
              ElementsAre("6:27: field 'duplicate_check_interval' has no effect with enable_duplicate_check: false"));
  EXPECT_THAT(ErrorsOf(head + "app: \"my app\"\n"),
              ElementsAre("5:6: field 'app' must name a configured app (letters, digits, '_', '-', '.'), not 'my app'"));
}

// ---- wecom.customer_message ----

TEST(WecomCustomerMessageKind, MassWithAttachments) {
  auto c = CompileOk(
      "type: wecom.customer_message\nsender: \"{{ctx.owner}}\"\ntext: \"Hi {{user.name}}\"\nattachments:\n"
      "  - {msgtype: image, image: {media_id: M1}}\n"
      "  - {msgtype: link, link: {title: Sale, url: \"https://x/s\"}}\n");
  EXPECT_EQ(c.role(), NodeRole::kCommon);
  const auto& config = c.as<WecomCustomerMessageConfig>();
  EXPECT_EQ(config.mode, WecomCustomerMessageConfig::Mode::kMass);
  EXPECT_EQ(config.chat_type, "single");
  EXPECT_EQ(config.sender, "{{ctx.owner}}");
  EXPECT_EQ(config.text, "Hi {{user.name}}");
  EXPECT_EQ(Json(config.attachments),
            R"([{"msgtype":"image","image":{"media_id":"M1"}},{"msgtype":"link","link":{"title":"Sale","url":"https://x/s"}}])");
}

TEST(WecomCustomerMessageKind, Welcome) {
  auto c = CompileOk("type: wecom.customer_message\nmode: welcome\ntext: Welcome!\n");
  EXPECT_EQ(c.as<WecomCustomerMessageConfig>().mode, WecomCustomerMessageConfig::Mode::kWelcome);
  EXPECT_THAT(ErrorsOf("type: wecom.customer_message\nmode: welcome\nsender: a\ntext: hi\n"),
              ElementsAre("3:9: field 'sender' does not apply to mode 'welcome' (the welcome message goes from the "
                          "staff member the customer just added)"));
}

TEST(WecomCustomerMessageKind, Errors) {
  EXPECT_THAT(ErrorsOf("type: wecom.customer_message\nmode: broadcast\ntext: hi\n"),
              ElementsAre("2:7: field 'mode' must be one of mass, welcome, not 'broadcast'"));
  EXPECT_THAT(ErrorsOf("type: wecom.customer_message\n"),
              ElementsAre("1:1: node kind 'wecom.customer_message' needs 'text' or 'attachments'"));
  EXPECT_THAT(ErrorsOf("type: wecom.customer_message\nchat_type: group\ntext: hi\n"),
              ElementsAre("1:1: a wecom.customer_message with chat_type group needs 'sender' (the staff member "
                          "whose customer groups receive it)"));
  EXPECT_THAT(ErrorsOf("type: wecom.customer_message\nchat_type: room\ntext: hi\n"),
              ElementsAre("2:12: field 'chat_type' must be one of single, group, not 'room'"));
  std::string ten = "type: wecom.customer_message\nattachments:\n";
  for (int i = 0; i < 10; ++i) ten += "  - {msgtype: file, file: {media_id: m}}\n";
  EXPECT_THAT(ErrorsOf(ten), ElementsAre("3:3: field 'attachments' holds 10 attachments; WeCom takes at most 9"));
  EXPECT_THAT(ErrorsOf("type: wecom.customer_message\nattachments: [{msgtype: gif, gif: {}}]\n"),
              ElementsAre("2:25: field 'attachments[0].msgtype' must be one of image, link, miniprogram, video, "
                          "file, not 'gif'"));
  EXPECT_THAT(ErrorsOf("type: wecom.customer_message\nattachments: [{msgtype: link, link: {title: t}}]\n"),
              ElementsAre("2:37: field 'attachments[0].link' needs 'url'"));
  EXPECT_THAT(ErrorsOf("type: wecom.customer_message\nattachments: [{msgtype: image, image: {}}]\n"),
              ElementsAre("2:39: field 'attachments[0].image' needs 'media_id' or 'pic_url'"));
  EXPECT_THAT(ErrorsOf("type: wecom.customer_message\nattachments: [{msgtype: video, video: {media_id: m}, "
                       "file: {media_id: m}}]\n"),
              ElementsAre("2:54: unknown field 'file' in 'attachments[0]' (expected 'msgtype' or 'video')"));
}

// ---- wechat.template ----

TEST(WechatTemplateKind, DataTakesTemplatesOrValueColorMaps) {
  auto c = CompileOk(
      "type: wechat.template\ntemplate_id: TPL_WELCOME\n"
      "data: {first: \"Hi {{user.nickname}}\", remark: {value: \"Reply 1\", color: \"#173177\"}}\n"
      "url: \"https://shop/{{user.id}}\"\nminiprogram: {appid: wx1, pagepath: pages/index}\n");
  EXPECT_EQ(c.role(), NodeRole::kCommon);
  const auto& config = c.as<WechatTemplateConfig>();
  EXPECT_EQ(config.template_id, "TPL_WELCOME");
  EXPECT_EQ(Json(config.data),
            R"({"first":{"value":"Hi {{user.nickname}}"},"remark":{"value":"Reply 1","color":"#173177"}})");
  EXPECT_EQ(config.url, "https://shop/{{user.id}}");
  EXPECT_EQ(Json(*config.miniprogram), R"({"appid":"wx1","pagepath":"pages/index"})");
}

TEST(WechatTemplateKind, Errors) {
  EXPECT_THAT(ErrorsOf("type: wechat.template\ndata: {a: b}\n"),
              ElementsAre("1:1: node kind 'wechat.template' needs field 'template_id'"));
  EXPECT_THAT(ErrorsOf("type: wechat.template\ntemplate_id: T\n"),
              ElementsAre("1:1: node kind 'wechat.template' needs field 'data'"));
  EXPECT_THAT(ErrorsOf("type: wechat.template\ntemplate_id: T\ndata: {a: {value: v, color: red}}\n"),
              ElementsAre("3:29: field 'data.a.color' must be a color like #173177, not 'red'"));
  EXPECT_THAT(ErrorsOf("type: wechat.template\ntemplate_id: T\ndata: {a: {colour: \"#000000\"}}\n"),
              ElementsAre("3:11: field 'data.a' needs 'value'",
                          "3:12: unknown field 'colour' in 'data.a' (did you mean 'color'?)"));
  EXPECT_THAT(ErrorsOf("type: wechat.template\ntemplate_id: T\ndata: {a: b}\nurl: shop/sale\n"),
              ElementsAre("4:6: field 'url' must be an http:// or https:// URL, not 'shop/sale'"));
  EXPECT_THAT(ErrorsOf("type: wechat.template\ntemplate_id: T\ndata: {a: b}\nminiprogram: {pagepath: p}\n"),
              ElementsAre("4:14: field 'miniprogram' needs 'appid'"));
}

// ---- wechat.subscribe ----

TEST(WechatSubscribeKind, CompilesDataAndOptions) {
  auto c = CompileOk(
      "type: wechat.subscribe\ntemplate_id: TPL\ndata: {thing1: \"{{ctx.course}}\", time2: \"{{ctx.at}}\"}\n"
      "page: \"pages/c?id={{ctx.id}}\"\nminiprogram_state: trial\nlang: en_US\n");
  const auto& config = c.as<WechatSubscribeConfig>();
  EXPECT_EQ(Json(config.data), R"({"thing1":"{{ctx.course}}","time2":"{{ctx.at}}"})");
  EXPECT_EQ(config.miniprogram_state, "trial");
  EXPECT_EQ(config.lang, "en_US");
  EXPECT_TRUE(c.spec->CanSuspend());
}

TEST(WechatSubscribeKind, Errors) {
  EXPECT_THAT(ErrorsOf("type: wechat.subscribe\ntemplate_id: T\ndata: {a: {value: v}}\n"),
              ElementsAre("3:11: field 'data.a' must be a template string: subscribe messages take no {value, "
                          "color} maps"));
  EXPECT_THAT(ErrorsOf("type: wechat.subscribe\ntemplate_id: T\ndata: {a: b}\nminiprogram_state: prod\n"),
              ElementsAre("4:20: field 'miniprogram_state' must be one of developer, trial, formal, not 'prod'"));
  EXPECT_THAT(ErrorsOf("type: wechat.subscribe\ntemplate_id: T\ndata: {a: b}\nlang: zh\n"),
              ElementsAre("4:7: field 'lang' must be one of zh_CN, en_US, zh_HK, zh_TW, not 'zh'"));
}

// ---- sms.send ----

TEST(SmsSendKind, Aliyun) {
  auto c = CompileOk("type: sms.send\nprovider: aliyun\ntemplate_code: SMS_71390007\nsign_name: Reach\n"
                     "params: {customer: \"{{user.name}}\", code: 1234}\n");
  EXPECT_EQ(c.role(), NodeRole::kCommon);
  const auto& config = c.as<SmsSendConfig>();
  EXPECT_EQ(config.provider, SmsSendConfig::Provider::kAliyun);
  EXPECT_EQ(config.template_ref, "SMS_71390007");
  EXPECT_EQ(config.sign_name, "Reach");
  EXPECT_THAT(config.params, ElementsAre(Pair("customer", "{{user.name}}"), Pair("code", "1234")));
  EXPECT_EQ(config.phone, std::nullopt);
}

TEST(SmsSendKind, TencentTakesAListOfParams) {
  auto c = CompileOk("type: sms.send\nprovider: tencent\ntemplate_id: 449739\nparams: [\"{{user.name}}\", 5]\n"
                     "phone: \"{{ctx.phone}}\"\n");
  const auto& config = c.as<SmsSendConfig>();
  EXPECT_EQ(config.template_ref, "449739");
  EXPECT_THAT(config.params, ElementsAre(Pair("", "{{user.name}}"), Pair("", "5")));
  EXPECT_EQ(config.phone, "{{ctx.phone}}");
}

TEST(SmsSendKind, Errors) {
  EXPECT_THAT(ErrorsOf("type: sms.send\nprovider: twilio\n"),
              ElementsAre("2:11: field 'provider' must be one of aliyun, tencent, not 'twilio'"));
  EXPECT_THAT(ErrorsOf("type: sms.send\nprovider: aliyun\n"),
              ElementsAre("1:1: node kind 'sms.send' needs field 'template_code'"));
  EXPECT_THAT(ErrorsOf("type: sms.send\nprovider: aliyun\ntemplate_id: SMS_1\n"),
              ElementsAre("1:1: node kind 'sms.send' needs field 'template_code'",
                          "3:14: field 'template_id' is for provider tencent; aliyun takes 'template_code'"));
  EXPECT_THAT(ErrorsOf("type: sms.send\nprovider: tencent\ntemplate_id: SMS_1\n"),
              ElementsAre("3:14: field 'template_id' must be a tencent template id (digits), not 'SMS_1'"));
  EXPECT_THAT(ErrorsOf("type: sms.send\nprovider: aliyun\ntemplate_code: S\nparams: [a]\n"),
              ElementsAre("4:9: field 'params' must be a map of templates for provider aliyun (its TemplateParam "
                          "is a JSON object), not a list"));
}

// ---- webhook ----

TEST(WebhookKind, CompilesTheRequest) {
  auto c = CompileOk(
      "type: webhook\nurl: \"https://crm/hooks?u={{user.id}}\"\nmethod: put\nheaders: {X-Source: reach}\n"
      "body: {user: \"{{user.id}}\", n: 3, tags: [a, \"{{ctx.t}}\"]}\nsecret: CRM_SECRET\n"
      "map_response: {crm_id: /data/id, whole: \"\"}\ntimeout: 10s\n");
  EXPECT_EQ(c.role(), NodeRole::kCommon);
  EXPECT_FALSE(c.spec->CanSuspend());
  const auto& config = c.as<WebhookConfig>();
  EXPECT_EQ(config.method, "PUT");
  EXPECT_THAT(config.headers, ElementsAre(Pair("X-Source", "reach")));
  EXPECT_EQ(Json(*config.body), R"({"user":"{{user.id}}","n":3,"tags":["a","{{ctx.t}}"]})");
  EXPECT_EQ(config.secret, "CRM_SECRET");
  EXPECT_THAT(config.map_response, ElementsAre(Pair("crm_id", "/data/id"), Pair("whole", "")));
  EXPECT_EQ(CompileOk("type: webhook\nurl: \"{{ctx.callback}}\"\n").as<WebhookConfig>().method, "POST");
}

TEST(WebhookKind, Errors) {
  EXPECT_THAT(ErrorsOf("type: webhook\n"), ElementsAre("1:1: node kind 'webhook' needs field 'url'"));
  EXPECT_THAT(ErrorsOf("type: webhook\nurl: ftp://x\n"),
              ElementsAre("2:6: field 'url' must be an http:// or https:// URL, not 'ftp://x'"));
  EXPECT_THAT(ErrorsOf("type: webhook\nurl: https://x\nmethod: FETCH\n"),
              ElementsAre("3:9: field 'method' must be one of GET, POST, PUT, PATCH, DELETE, not 'FETCH'"));
  EXPECT_THAT(ErrorsOf("type: webhook\nurl: https://x\nmethod: GET\nbody: {a: 1}\n"),
              ElementsAre("4:7: field 'body' cannot be sent with method GET"));
  EXPECT_THAT(ErrorsOf("type: webhook\nurl: https://x\nheaders: {\"Bad Name\": x, Host: y}\n"),
              ElementsAre("3:11: 'Bad Name' is not a valid header name",
                          "3:26: header 'Host' is set by Reach and cannot be given in 'headers'"));
  EXPECT_THAT(ErrorsOf("type: webhook\nurl: https://x\nmap_response: {id: data.id}\n"),
              ElementsAre("3:20: field 'map_response.id' must be a JSON pointer such as /data/id (\"\" for the whole "
                          "response), not 'data.id'"));
  EXPECT_THAT(ErrorsOf("type: webhook\nurl: https://x\nbody: {a: \"{{user.id\"}\n"),
              ElementsAre("3:11: unclosed template tag '{{' in field 'body.a'"));
  EXPECT_THAT(ErrorsOf("type: webhook\nurl: https://x\nsecret: \"a b\"\n"),
              ElementsAre("3:9: field 'secret' must name a signing key (letters, digits, '_', '-', '.'), not 'a b'"));
  EXPECT_THAT(ErrorsOf("type: webhook\nurl: https://x\nresponse: {a: /b}\n"),
              ElementsAre("3:1: unknown field 'response' for node kind 'webhook'"));
}

TEST(WebhookKind, JsonPointers) {
  EXPECT_TRUE(IsJsonPointer(""));
  EXPECT_TRUE(IsJsonPointer("/a/0/~0~1"));
  EXPECT_FALSE(IsJsonPointer("a"));
  EXPECT_FALSE(IsJsonPointer("/a~2"));
  EXPECT_FALSE(IsJsonPointer("/a~"));
}

}  // namespace
}  // namespace reach::nodes
