#include "nodes/wecom_message_node.h"

#include <algorithm>

#include <boost/json/value.hpp>

#include "nodes/field_checks.h"
#include "nodes/runtime_support.h"

namespace reach::nodes {
namespace {

using Type = SubField::Type;

constexpr int64_t kMaxArticles = 8;        // WeCom: a news message holds 1 to 8 articles
constexpr int64_t kMaxContentItems = 10;   // WeCom: miniprogram_notice content_item, at most 10
constexpr int64_t kMaxDuplicateCheckSeconds = 4 * 3600;

// The content field that goes with each msgtype.
struct ContentField {
  std::string_view msgtype;
  std::string_view field;
};
constexpr ContentField kContentFields[] = {{"text", "content"},
                                           {"markdown", "content"},
                                           {"textcard", "textcard"},
                                           {"news", "news"},
                                           {"miniprogram_notice", "miniprogram_notice"}};

std::optional<boost::json::object> ReadNews(dsl::FieldReader& fields, const dsl::YamlNode& news) {
  if (!news.is_map()) {
    fields.ErrorAt(news, "field 'news' must be a map, not " + std::string(news.Describe()));
    return std::nullopt;
  }
  if (!CheckKeys(fields, news, "news", {"articles"})) return std::nullopt;
  const dsl::YamlNode* articles = RequireSub(fields, news, "news", "articles");
  if (!articles) return std::nullopt;
  if (!articles->is_sequence() || articles->items.empty() ||
      static_cast<int64_t>(articles->items.size()) > kMaxArticles) {
    fields.ErrorAt(*articles, "field 'news.articles' must be a list of 1 to 8 articles, not " +
                                  (articles->is_sequence() ? std::to_string(articles->items.size()) + " articles"
                                                           : std::string(articles->Describe())));
    return std::nullopt;
  }
  boost::json::array list;
  bool ok = true;
  for (size_t i = 0; i < articles->items.size(); ++i) {
    const dsl::YamlNode& item = articles->items[i];
    const std::string path = "news.articles[" + std::to_string(i) + "]";
    auto article = ReadSubMap(fields, item, path,
                              {{"title", Type::kTemplate, true},
                               {"description", Type::kTemplate},
                               {"url", Type::kUrl},
                               {"picurl", Type::kUrl},
                               {"appid", Type::kTemplate},
                               {"pagepath", Type::kTemplate}});
    if (!article) {
      ok = false;
      continue;
    }
    // WeCom: "url or the mini program must be given".
    if (!article->contains("url") && !article->contains("appid")) {
      fields.ErrorAt(item, "field '" + path + "' needs 'url' or 'appid' (where a tap on the article leads)");
      ok = false;
      continue;
    }
    list.push_back(std::move(*article));
  }
  if (!ok) return std::nullopt;
  return boost::json::object{{"articles", std::move(list)}};
}

std::optional<boost::json::object> ReadMiniprogramNotice(dsl::FieldReader& fields, const dsl::YamlNode& node) {
  auto out = ReadSubMap(fields, node, "miniprogram_notice",
                        {{"appid", Type::kTemplate, true},
                         {"page", Type::kTemplate},
                         {"title", Type::kTemplate, true},
                         {"description", Type::kTemplate},
                         {"emphasis_first_item", Type::kBool},
                         {"content_item", Type::kByCaller}});
  if (!out) return std::nullopt;
  const dsl::YamlNode* items = node.Find("content_item");
  if (!items) return out;
  if (!items->is_sequence() || static_cast<int64_t>(items->items.size()) > kMaxContentItems) {
    fields.ErrorAt(*items, "field 'miniprogram_notice.content_item' must be a list of at most 10 {key, value} maps");
    return std::nullopt;
  }
  boost::json::array list;
  bool ok = true;
  for (size_t i = 0; i < items->items.size(); ++i) {
    auto item = ReadSubMap(fields, items->items[i], "miniprogram_notice.content_item[" + std::to_string(i) + "]",
                           {{"key", Type::kTemplate, true}, {"value", Type::kTemplate, true}});
    if (item) list.push_back(std::move(*item));
    else ok = false;
  }
  if (!ok) return std::nullopt;
  (*out)["content_item"] = std::move(list);
  return out;
}

// Reads the content field for `msgtype` into config.content; rejects the others.
void ReadContent(dsl::FieldReader& fields, const std::optional<std::string>& msgtype,
                 WecomMessageConfig& config) {
  std::string_view wanted;
  for (const ContentField& c : kContentFields)
    if (msgtype && *msgtype == c.msgtype) wanted = c.field;
  for (std::string_view field : {"content", "textcard", "news", "miniprogram_notice"}) {
    if (field == wanted || !msgtype) {
      fields.Get(field);  // known either way; without a valid msgtype there is nothing to check
      continue;
    }
    RejectField(fields, field,
                "field '" + std::string(field) + "' does not apply to msgtype '" + *msgtype + "'");
  }
  if (wanted.empty()) return;
  if (wanted == "content") {
    if (auto text = fields.Template("content", /*required=*/true)) config.content = {{"content", *text}};
    return;
  }
  const dsl::YamlNode* node = fields.Require(wanted);
  if (!node) return;
  std::optional<boost::json::object> content;
  if (wanted == "textcard") {
    content = ReadSubMap(fields, *node, "textcard",
                         {{"title", Type::kTemplate, true},
                          {"description", Type::kTemplate, true},
                          {"url", Type::kUrl, true},
                          {"btntxt", Type::kTemplate}});
  } else if (wanted == "news") {
    content = ReadNews(fields, *node);
  } else {
    content = ReadMiniprogramNotice(fields, *node);
  }
  if (content) config.content = std::move(*content);
}

// `enable_duplicate_check:` true/false, or WeCom's own 1/0.
std::optional<bool> ReadFlag(dsl::FieldReader& fields, std::string_view key) {
  const dsl::YamlNode* node = fields.Get(key);
  if (!node) return std::nullopt;
  if (node->IsPlainBool()) return fields.Boolean(key);
  if (node->is_scalar() && node->style == dsl::YamlNode::Style::kPlain && (node->scalar == "0" || node->scalar == "1"))
    return node->scalar == "1";
  fields.ErrorAt(*node, "field '" + std::string(key) + "' must be true or false (or 1 or 0)");
  return std::nullopt;
}

// Renders recipient templates, drops the ones that render empty and duplicates, and joins the
// rest with `|` as WeCom wants ("zhangsan|lisi").
bool RenderRecipients(const TemplateRenderer& renderer, const std::vector<std::string>& templates,
                      std::vector<std::string>& out, std::string& error) {
  for (const std::string& text : templates) {
    std::string value;
    if (!renderer.Render(text, value, error)) return false;
    if (!value.empty() && std::find(out.begin(), out.end(), value) == out.end()) out.push_back(std::move(value));
  }
  return true;
}

std::string JoinBar(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += '|';
    out += item;
  }
  return out;
}

}  // namespace

std::shared_ptr<const dsl::NodeConfig> WecomMessageKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<WecomMessageConfig>();
  config->app = ReadAppName(fields);

  auto touser = ReadTemplateList(fields, "touser");
  auto toparty = ReadTemplateList(fields, "toparty");
  auto totag = ReadTemplateList(fields, "totag");
  auto to_user = fields.Boolean("to_user");
  if (touser) config->touser = std::move(*touser);
  if (toparty) config->toparty = std::move(*toparty);
  if (totag) config->totag = std::move(*totag);
  config->to_current_user = to_user.value_or(false);
  // A recipient field that was present but wrong has been reported; do not add "needs a
  // recipient" on top of it.
  const bool recipient_error = (fields.Has("touser") && !touser) || (fields.Has("toparty") && !toparty) ||
                               (fields.Has("totag") && !totag) || (fields.Has("to_user") && !to_user);
  if (!recipient_error && config->touser.empty() && config->toparty.empty() && config->totag.empty() &&
      !config->to_current_user) {
    fields.ErrorAt(to_user ? "to_user" : "touser",
                   "node kind 'wecom.message' needs a recipient: 'touser', 'toparty', 'totag' or "
                   "'to_user: true' (the current user)");
  }

  auto msgtype = ReadOneOf(fields, "msgtype", {"text", "textcard", "markdown", "news", "miniprogram_notice"},
                           /*required=*/true);
  if (msgtype) config->msgtype = *msgtype;
  ReadContent(fields, msgtype, *config);

  if (auto safe = fields.Integer("safe", false, 0, 1)) config->safe = static_cast<int>(*safe);
  config->enable_duplicate_check = ReadFlag(fields, "enable_duplicate_check");
  if (auto interval = fields.DurationMillis("duplicate_check_interval")) {
    if (*interval % 1000 != 0 || *interval > kMaxDuplicateCheckSeconds * 1000) {
      fields.ErrorAt("duplicate_check_interval",
                     "field 'duplicate_check_interval' must be whole seconds, at most 4h (14400 seconds)");
    } else if (config->enable_duplicate_check == false) {
      fields.ErrorAt("duplicate_check_interval",
                     "field 'duplicate_check_interval' has no effect with enable_duplicate_check: false");
    } else {
      config->duplicate_check_interval_seconds = *interval / 1000;
    }
  }
  if (fields.failed()) return nullptr;
  return config;
}

engine::NodeOutcome WecomMessageKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  const auto& config = static_cast<const WecomMessageConfig&>(*node.config);
  TemplateRenderer renderer = RendererFor(ctx);
  std::string error;
  std::vector<std::string> touser, toparty, totag;
  if (!RenderRecipients(renderer, config.touser, touser, error)) return TemplateFailed("touser", error);
  if (!RenderRecipients(renderer, config.toparty, toparty, error)) return TemplateFailed("toparty", error);
  if (!RenderRecipients(renderer, config.totag, totag, error)) return TemplateFailed("totag", error);
  if (config.to_current_user) {
    std::string userid = IdentityOf(ctx.user(), "wecom_userid");
    if (userid.empty()) return MissingIdentity("wecom_userid");
    if (std::find(touser.begin(), touser.end(), userid) == touser.end()) touser.push_back(std::move(userid));
  }
  if (touser.empty() && toparty.empty() && totag.empty())
    return engine::NodeOutcome::Failed("no recipient: 'touser', 'toparty' and 'totag' all render empty",
                                       "MissingIdentity");

  // WIRE.md: {"touser", "toparty", "totag", "msgtype", <msgtype>: {...}, "agentid", "safe",
  // "enable_duplicate_check", "duplicate_check_interval"}. agentid is the channel's (it belongs
  // to the configured app); enable_duplicate_check is left to it when the file says nothing.
  boost::json::value content = config.content;
  if (!renderer.RenderStrings(content, error)) return TemplateFailed(config.msgtype, error);
  boost::json::object payload;
  payload["app"] = config.app;
  if (!touser.empty()) payload["touser"] = JoinBar(touser);
  if (!toparty.empty()) payload["toparty"] = JoinBar(toparty);
  if (!totag.empty()) payload["totag"] = JoinBar(totag);
  payload["msgtype"] = config.msgtype;
  payload[config.msgtype] = std::move(content);
  payload["safe"] = config.safe;
  if (config.enable_duplicate_check) payload["enable_duplicate_check"] = *config.enable_duplicate_check ? 1 : 0;
  if (config.duplicate_check_interval_seconds)
    payload["duplicate_check_interval"] = *config.duplicate_check_interval_seconds;

  std::string recipient = JoinBar(touser);
  if (!toparty.empty()) recipient += (recipient.empty() ? "" : ", ") + std::string("party ") + JoinBar(toparty);
  if (!totag.empty()) recipient += (recipient.empty() ? "" : ", ") + std::string("tag ") + JoinBar(totag);
  return Deliver(node, ctx, std::move(payload), recipient);
}

}  // namespace reach::nodes
