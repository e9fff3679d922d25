#pragma once
// YAML subtrees kept as JSON (the config's opaque `channels`, `quiet_hours`, `caps`), and the
// indented JSON the redacted config is printed as. Internal to the config adapter: takes
// yaml-cpp nodes, never throws.

#include <string>
#include <string_view>

#include <boost/json/value.hpp>
#include <yaml-cpp/yaml.h>

namespace reach::server {

// Converts `node`: maps -> objects (keys as strings), sequences -> arrays, plain scalars by
// YAML 1.2 core schema (null/~/empty -> null, true/false -> bool, integers -> int64, decimals
// -> double, anything else a string), quoted or !!str scalars -> strings. Undefined -> null.
boost::json::value YamlToJson(const YAML::Node& node);

// True when a key name looks like it holds a secret (secret, token, password, passwd, key,
// credential, private; case-insensitive, anywhere in the name).
bool IsSecretName(std::string_view name);

// A deep copy of `value` with the value of every secret-looking key replaced by "***".
boost::json::value RedactSecrets(const boost::json::value& value);

// `value` as JSON indented by two spaces per level (empty objects and arrays stay `{}` / `[]`).
std::string PrettyJson(const boost::json::value& value);

}  // namespace reach::server
