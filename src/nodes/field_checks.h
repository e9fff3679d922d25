#pragma once
// Checks that several node kinds share, on top of dsl::FieldReader's typed readers: a field
// restricted to a set of words, "exactly one of" groups, and nested maps (`textcard:`,
// `window:`, `miniprogram:`) whose sub-fields FieldReader does not track.
//
// Every function reports its problems through the FieldReader (so `fields.failed()` turns true)
// and returns nullopt / null / false for a value that is wrong. Messages are lower-case and say
// what is wrong and what is expected; a nested field is named by its path: "field 'textcard.title'".

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "dsl/node_kind.h"

namespace reach::nodes {

// "'a', 'b' or 'c'"
std::string QuotedAlternatives(std::initializer_list<std::string_view> words);

// The string value of `key` when it is one of `allowed`. Absent: nullopt, or (when `required`)
// the FieldReader's "needs field" error. Otherwise reports
// "field 'msgtype' must be one of text, textcard, markdown, news, miniprogram_notice, not 'txt'".
std::optional<std::string> ReadOneOf(dsl::FieldReader& fields, std::string_view key,
                                     std::initializer_list<std::string_view> allowed,
                                     bool required = false);

// For kinds that take exactly one of a group of fields (delay: duration | until | window).
// Marks every key known; returns the one present, or reports
// "node kind 'delay' needs one of 'duration', 'until' or 'window'" at the declaration, or
// "node kind 'delay' takes one of 'duration', 'until' or 'window', not both 'duration' and 'until'"
// at the second one, and returns nullopt.
std::optional<std::string> ReadExactlyOneOf(dsl::FieldReader& fields,
                                            std::initializer_list<std::string_view> keys);

// Reports `key` when present: "field 'sender' does not apply to mode 'welcome'" style messages
// built by the caller. Marks the key known either way (it is a field of the kind, just not of
// this variant). Returns true when the field was absent.
bool RejectField(dsl::FieldReader& fields, std::string_view key, std::string_view why);

// `key`'s value when it is a map (null when absent; reports "field 'k' must be a map, not a
// list" otherwise).
const dsl::YamlNode* ReadMap(dsl::FieldReader& fields, std::string_view key, bool required = false);

// Reports every key of `map` not in `allowed`, at the key: "unknown field 'titel' in
// 'textcard' (did you mean 'title'?)". `path` names the map ("textcard", "news.articles[0]").
// Returns true when all keys are known.
bool CheckKeys(dsl::FieldReader& fields, const dsl::YamlNode& map, std::string_view path,
               std::initializer_list<std::string_view> allowed);

// The sub-field `key` of `map`; reports "field 'textcard' needs 'title'" at the map when absent.
const dsl::YamlNode* RequireSub(dsl::FieldReader& fields, const dsl::YamlNode& map,
                                std::string_view path, std::string_view key);

// A Mustache template held by a nested YAML value: a scalar with balanced `{{ }}`. `path` is the
// field path used in messages ("textcard.title"). Errors point at the value's first character
// (FieldReader does not expose the SourceSet needed for an exact column inside a nested value).
std::optional<std::string> TemplateAt(dsl::FieldReader& fields, const dsl::YamlNode& node,
                                      std::string_view path);

// One sub-field of a nested map, for ReadSubMap.
struct SubField {
  enum class Type : uint8_t {
    kTemplate,  // a Mustache template string
    kUrl,       // a template string that is an http(s) URL (or starts with a template tag)
    kBool,      // true / false
    kByCaller,  // any value: a known key that the caller reads itself (a nested list, say)
  };
  std::string_view key;
  Type type = Type::kTemplate;
  bool required = false;
};

// Reads a nested map whose sub-fields are all scalars: checks that `node` is a map, that it has
// no unknown key and every required one, and each value's type. Returns the map as JSON
// (template strings and booleans, in file order), or nullopt after reporting what was wrong.
std::optional<boost::json::object> ReadSubMap(dsl::FieldReader& fields, const dsl::YamlNode& node,
                                              std::string_view path,
                                              std::initializer_list<SubField> sub_fields);

// `app:` of the send kinds: which configured provider account sends. A name of letters, digits,
// `_`, `-` or `.`; "default" when absent. Whether it is configured is checked at deploy time.
std::string ReadAppName(dsl::FieldReader& fields);

// A field holding one template or a list of templates (recipients). nullopt when absent or wrong.
std::optional<std::vector<std::string>> ReadTemplateList(dsl::FieldReader& fields, std::string_view key);

// Offset of the first `{{` without a matching `}}` (before the next `{{`), or npos.
size_t UnclosedTemplateTag(std::string_view text);

// True when the text is a literal http:// or https:// URL, or starts with a template tag (whose
// value can only be checked when rendered).
bool LooksLikeHttpUrl(std::string_view text);

}  // namespace reach::nodes
