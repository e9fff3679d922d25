#include "server/config.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <set>
#include <span>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "common/thread_name.h"
#include "server/yaml_json.h"

namespace reach::server {

namespace {

constexpr std::array<std::string_view, 13> kTopLevelKeys = {
    "listen", "db", "flows", "api_keys", "webhook_secret", "http", "store", "cpu_affinity",
    "shutdown_timeout_ms", "log_level", "channels", "quiet_hours", "caps"};
constexpr std::array<std::string_view, 5> kHttpKeys = {
    "max_body_bytes", "header_timeout_ms", "idle_timeout_ms", "max_connections", "io_threads"};
constexpr std::array<std::string_view, 8> kStoreKeys = {
    "max_batch_jobs", "max_batch_delay_us", "synchronous", "fsync", "min_fsync_interval_us", "writer_cache_mb",
    "event_wait_sweep_min_stale", "event_wait_sweep_chunk"};
constexpr std::array<std::string_view, 4> kChannelNames = {"wecom", "wechat", "sms", "webhook"};
constexpr std::array<std::string_view, 2> kChannelModes = {"sandbox", "live"};
constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug", "info", "warn",
                                                        "error", "critical", "off"};

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" for the closest candidate within two edits, else "".
std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  size_t best_distance = 3;
  for (std::string_view candidate : candidates) {
    const size_t distance = EditDistance(word, candidate);
    if (distance < best_distance && distance < candidate.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best.empty() ? "" : " (did you mean '" + std::string(best) + "'?)";
}

std::string JoinChoices(std::span<const std::string_view> choices) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) out += i + 1 == choices.size() ? " or " : ", ";
    out += choices[i];
  }
  return out;
}

// A value quoted for an error message, shortened: configs are not secret except where the
// caller says so, but a message should stay one readable line.
std::string Quote(const std::string& text) {
  std::string shown = text.size() > 40 ? text.substr(0, 37) + "..." : text;
  for (char& c : shown)
    if (c == '\n' || c == '\r') c = ' ';
  return "'" + shown + "'";
}

std::vector<std::string> SplitCommaList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const size_t begin = item.find_first_not_of(" \t");
    const size_t end = item.find_last_not_of(" \t");
    if (begin != std::string::npos) out.push_back(item.substr(begin, end - begin + 1));
  }
  return out;
}

// Walks the YAML tree once, filling a Config and collecting every error with its position.
class ConfigReader {
 public:
  explicit ConfigReader(std::string file) : file_(std::move(file)) {}

  void Read(const YAML::Node& root, Config& config);
  const std::vector<std::string>& errors() const { return errors_; }
  void Error(const YAML::Mark& mark, const std::string& message);

 private:
  // Iterates a map, reporting duplicate and unknown keys; calls `on_key(key, value)` for the
  // known ones.
  template <class F>
  void ForEachKey(const YAML::Node& map, std::string_view section,
                  std::span<const std::string_view> known, F&& on_key);
  // Strings and lists of strings: their messages never quote the value, so api_keys and
  // webhook_secret go through them too.
  bool ReadString(const YAML::Node& node, const std::string& what, std::string& out);
  bool ReadStringList(const YAML::Node& node, const std::string& what, std::vector<std::string>& out);
  bool ReadInteger(const YAML::Node& node, const std::string& what, int64_t min, int64_t max,
                   int64_t& out);
  bool ReadChoice(const YAML::Node& node, const std::string& what,
                  std::span<const std::string_view> choices, std::string& out);
  void ReadHttp(const YAML::Node& node, HttpConfig& http);
  void ReadStore(const YAML::Node& node, StoreConfig& store);
  void ReadCpuAffinity(const YAML::Node& node, CpuAffinityConfig& affinity);
  void ReadChannels(const YAML::Node& node, boost::json::value& channels);

  const std::string file_;
  std::vector<std::string> errors_;
};

void ConfigReader::Error(const YAML::Mark& mark, const std::string& message) {
  if (mark.is_null())
    errors_.push_back(file_ + ": " + message);
  else
    errors_.push_back(file_ + ":" + std::to_string(mark.line + 1) + ":" +
                      std::to_string(mark.column + 1) + ": " + message);
}

template <class F>
void ConfigReader::ForEachKey(const YAML::Node& map, std::string_view section,
                              std::span<const std::string_view> known, F&& on_key) {
  std::set<std::string> seen;
  const std::string where = section.empty() ? "" : " in " + std::string(section);
  // Range-for keeps the dereferenced pair alive for the body (`it->first` would dangle: the
  // iterator's operator-> returns a temporary proxy).
  for (const auto& entry : map) {
    const YAML::Node key = entry.first;
    const YAML::Node value = entry.second;
    if (!key.IsScalar()) {
      Error(key.Mark(), "keys" + where + " must be plain names");
      continue;
    }
    const std::string& name = key.Scalar();
    if (!seen.insert(name).second) {
      Error(key.Mark(), "duplicate key '" + name + "'" + where);
      continue;
    }
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      Error(key.Mark(), "unknown key '" + name + "'" + where + DidYouMean(name, known));
      continue;
    }
    on_key(name, value);
  }
}

bool ConfigReader::ReadString(const YAML::Node& node, const std::string& what, std::string& out) {
  if (!node.IsScalar()) {
    Error(node.Mark(), what + ": expected a string");
    return false;
  }
  out = node.Scalar();
  return true;
}

bool ConfigReader::ReadStringList(const YAML::Node& node, const std::string& what,
                                  std::vector<std::string>& out) {
  out.clear();
  if (node.IsNull()) return true;
  if (node.IsScalar()) {  // `flows: ./flows` means a list of one
    if (node.Scalar().empty()) {
      Error(node.Mark(), what + ": an entry is empty");
      return false;
    }
    out.push_back(node.Scalar());
    return true;
  }
  if (!node.IsSequence()) {
    Error(node.Mark(), what + ": expected a list of strings");
    return false;
  }
  bool ok = true;
  for (const auto& item : node) {
    if (!item.IsScalar()) {
      Error(item.Mark(), what + ": expected a string in the list");
      ok = false;
    } else if (item.Scalar().empty()) {
      Error(item.Mark(), what + ": an entry is empty");
      ok = false;
    } else {
      out.push_back(item.Scalar());
    }
  }
  return ok;
}

bool ConfigReader::ReadInteger(const YAML::Node& node, const std::string& what, int64_t min,
                               int64_t max, int64_t& out) {
  const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!node.IsScalar()) {
    Error(node.Mark(), what + ": expected " + range);
    return false;
  }
  const std::string& text = node.Scalar();
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    Error(node.Mark(), what + ": expected " + range + ", got " + Quote(text));
    return false;
  }
  out = value;
  return true;
}

bool ConfigReader::ReadChoice(const YAML::Node& node, const std::string& what,
                              std::span<const std::string_view> choices, std::string& out) {
  if (!node.IsScalar()) {
    Error(node.Mark(), what + ": expected one of " + JoinChoices(choices));
    return false;
  }
  const std::string& text = node.Scalar();
  if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
    Error(node.Mark(), what + ": " + Quote(text) + " is not one of " + JoinChoices(choices) +
                           DidYouMean(text, choices));
    return false;
  }
  out = text;
  return true;
}

void ConfigReader::Read(const YAML::Node& root, Config& config) {
  if (root.IsNull()) return;  // an empty file: all defaults
  if (!root.IsMap()) {
    Error(root.Mark(), "expected a mapping of settings at the top level");
    return;
  }
  ForEachKey(root, "", kTopLevelKeys, [&](const std::string& key, const YAML::Node& value) {
    int64_t number = 0;
    if (key == "listen") {
      std::string listen, host;
      uint16_t port = 0;
      if (!ReadString(value, key, listen)) return;
      if (Status s = ParseListen(listen, host, port); !s.ok()) {
        Error(value.Mark(), "listen: " + s.message());
        return;
      }
      config.listen = listen;
    } else if (key == "db") {
      std::string db;
      if (!ReadString(value, key, db)) return;
      if (db.empty()) return Error(value.Mark(), "db: expected a file path");
      config.db = db;
    } else if (key == "flows") {
      ReadStringList(value, key, config.flows);
    } else if (key == "api_keys") {
      ReadStringList(value, key, config.api_keys);
    } else if (key == "webhook_secret") {
      if (!value.IsNull()) ReadString(value, key, config.webhook_secret);
    } else if (key == "http") {
      ReadHttp(value, config.http);
    } else if (key == "store") {
      ReadStore(value, config.store);
    } else if (key == "cpu_affinity") {
      ReadCpuAffinity(value, config.cpu_affinity);
    } else if (key == "shutdown_timeout_ms") {
      if (ReadInteger(value, key, 0, 3'600'000, number)) config.shutdown_timeout_ms = number;
    } else if (key == "log_level") {
      ReadChoice(value, key, kLogLevels, config.log_level);
    } else if (key == "channels") {
      ReadChannels(value, config.channels);
    } else if (key == "quiet_hours") {
      config.quiet_hours = YamlToJson(value);
    } else if (key == "caps") {
      config.caps = YamlToJson(value);
    }
  });
}

void ConfigReader::ReadHttp(const YAML::Node& node, HttpConfig& http) {
  if (node.IsNull()) return;
  if (!node.IsMap()) return Error(node.Mark(), "http: expected a mapping");
  ForEachKey(node, "http", kHttpKeys, [&](const std::string& key, const YAML::Node& value) {
    const std::string what = "http." + key;
    int64_t n = 0;
    if (key == "max_body_bytes") {
      if (ReadInteger(value, what, 1, int64_t{1} << 30, n)) http.max_body_bytes = static_cast<uint64_t>(n);
    } else if (key == "header_timeout_ms") {
      if (ReadInteger(value, what, 1, 3'600'000, n)) http.header_timeout_ms = n;
    } else if (key == "idle_timeout_ms") {
      if (ReadInteger(value, what, 1, 86'400'000, n)) http.idle_timeout_ms = n;
    } else if (key == "max_connections") {
      if (ReadInteger(value, what, 1, 1'000'000, n)) http.max_connections = static_cast<uint64_t>(n);
    } else if (key == "io_threads") {
      if (ReadInteger(value, what, 1, 256, n)) http.io_threads = static_cast<int>(n);
    }
  });
}

void ConfigReader::ReadStore(const YAML::Node& node, StoreConfig& store) {
  if (node.IsNull()) return;
  if (!node.IsMap()) return Error(node.Mark(), "store: expected a mapping");
  ForEachKey(node, "store", kStoreKeys, [&](const std::string& key, const YAML::Node& value) {
    const std::string what = "store." + key;
    int64_t n = 0;
    if (key == "max_batch_jobs") {
      if (ReadInteger(value, what, 1, 1'000'000, n)) store.max_batch_jobs = static_cast<uint64_t>(n);
    } else if (key == "max_batch_delay_us") {
      if (ReadInteger(value, what, 0, 10'000'000, n)) store.max_batch_delay_us = n;
    } else if (key == "synchronous") {
      static constexpr std::array<std::string_view, 2> kModes = {"full", "normal"};
      std::string mode;
      if (ReadChoice(value, what, kModes, mode)) store.synchronous_full = mode == "full";
    } else if (key == "fsync") {
      static constexpr std::array<std::string_view, 2> kWhere = {"overlapped", "in_commit"};
      std::string where;
      if (ReadChoice(value, what, kWhere, where)) store.fsync_overlapped = where == "overlapped";
    } else if (key == "min_fsync_interval_us") {
      if (ReadInteger(value, what, 0, 1'000'000, n)) store.min_fsync_interval_us = n;
    } else if (key == "writer_cache_mb") {
      if (ReadInteger(value, what, 1, 65'536, n)) store.writer_cache_mb = n;
    } else if (key == "event_wait_sweep_min_stale") {
      if (ReadInteger(value, what, 0, 1'000'000'000'000, n)) store.event_wait_sweep_min_stale = n;
    } else if (key == "event_wait_sweep_chunk") {
      if (ReadInteger(value, what, 1, 1'000'000, n)) store.event_wait_sweep_chunk = static_cast<int>(n);
    }
  });
}

void ConfigReader::ReadCpuAffinity(const YAML::Node& node, CpuAffinityConfig& affinity) {
  if (node.IsNull()) return;
  if (!node.IsMap()) return Error(node.Mark(), "cpu_affinity: expected a mapping of thread roles to CPU lists");
  ForEachKey(node, "cpu_affinity", kThreadRoles, [&](const std::string& role, const YAML::Node& value) {
    const std::string what = "cpu_affinity." + role;
    if (!value.IsScalar()) return Error(value.Mark(), what + ": expected a CPU list such as 0, 2-3 or \"0,2\"");
    Result<std::vector<int>> cpus = ParseCpuList(value.Scalar());
    if (!cpus.ok()) return Error(value.Mark(), what + ": " + cpus.status().message());
    if (std::vector<int>* out = affinity.Of(role)) *out = std::move(*cpus);
  });
}

// Channel settings are the channels' own business (later), except the names and `mode`, which
// decide whether anything real is sent. Values under a channel may be secrets: no message here
// quotes one.
void ConfigReader::ReadChannels(const YAML::Node& node, boost::json::value& channels) {
  channels = Config::DefaultChannels();
  if (node.IsNull()) return;
  if (!node.IsMap()) return Error(node.Mark(), "channels: expected a mapping of channel names");
  ForEachKey(node, "channels", kChannelNames, [&](const std::string& name, const YAML::Node& value) {
    if (value.IsNull()) return;  // `sms:` alone: defaults
    if (!value.IsMap()) return Error(value.Mark(), "channels." + name + ": expected a mapping");
    boost::json::value settings = YamlToJson(value);
    const YAML::Node mode = value["mode"];
    if (mode) {
      std::string chosen;
      if (!ReadChoice(mode, "channels." + name + ".mode", kChannelModes, chosen)) return;
      settings.as_object()["mode"] = chosen;
    } else {
      settings.as_object()["mode"] = "sandbox";
    }
    channels.as_object()[name] = std::move(settings);
  });
}

}  // namespace

boost::json::value Config::DefaultChannels() {
  boost::json::object channels;
  for (std::string_view name : kChannelNames) channels[name] = boost::json::object{{"mode", "sandbox"}};
  return channels;
}

std::string Config::Redacted() const {
  boost::json::object out;
  out["listen"] = listen;
  out["db"] = db;
  boost::json::array flow_list;
  for (const auto& f : flows) flow_list.push_back(boost::json::string(f));
  out["flows"] = std::move(flow_list);
  boost::json::array keys;
  for (size_t i = 0; i < api_keys.size(); ++i) keys.push_back("***");
  out["api_keys"] = std::move(keys);
  out["webhook_secret"] = webhook_secret.empty() ? "" : "***";
  out["http"] = boost::json::object{{"max_body_bytes", http.max_body_bytes},
                                    {"header_timeout_ms", http.header_timeout_ms},
                                    {"idle_timeout_ms", http.idle_timeout_ms},
                                    {"max_connections", http.max_connections},
                                    {"io_threads", http.io_threads}};
  out["store"] = boost::json::object{{"max_batch_jobs", store.max_batch_jobs},
                                     {"max_batch_delay_us", store.max_batch_delay_us},
                                     {"synchronous", store.synchronous_full ? "full" : "normal"},
                                     {"fsync", store.fsync_overlapped ? "overlapped" : "in_commit"},
                                     {"min_fsync_interval_us", store.min_fsync_interval_us},
                                     {"writer_cache_mb", store.writer_cache_mb},
                                     {"event_wait_sweep_min_stale", store.event_wait_sweep_min_stale},
                                     {"event_wait_sweep_chunk", store.event_wait_sweep_chunk}};
  boost::json::object affinity;
  for (const auto& [role, cpus] : cpu_affinity.ByRole())
    if (!cpus->empty()) affinity[role] = FormatCpuList(*cpus);
  out["cpu_affinity"] = std::move(affinity);
  out["shutdown_timeout_ms"] = shutdown_timeout_ms;
  out["log_level"] = log_level;
  out["channels"] = RedactSecrets(channels);
  out["quiet_hours"] = RedactSecrets(quiet_hours);
  out["caps"] = RedactSecrets(caps);
  return PrettyJson(out) + "\n";
}

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Status ParseListen(const std::string& listen, std::string& host, uint16_t& port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::Invalid("expected HOST:PORT, e.g. 127.0.0.1:8080");
  std::string h = listen.substr(0, colon);
  const std::string p = listen.substr(colon + 1);
  if (!h.empty() && h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return Status::Invalid("an IPv6 address must be written [ADDRESS]:PORT");
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string::npos) {
    return Status::Invalid("an IPv6 address must be written [ADDRESS]:PORT");
  }
  if (h.empty()) return Status::Invalid("the host is missing (use 0.0.0.0 for every interface)");
  if (h.find_first_of(" \t/") != std::string::npos) return Status::Invalid("the host '" + h + "' is not valid");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value > 65535)
    return Status::Invalid("the port must be a number from 0 to 65535");
  host = h;
  port = static_cast<uint16_t>(value);
  return Status::Ok();
}

Result<Config> ParseConfig(std::string_view yaml, const std::string& file_name, const EnvLookup& env) {
  Config config;
  config.source = file_name;
  ConfigReader reader(file_name.empty() ? "<config>" : file_name);
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    reader.Read(root, config);
  } catch (const YAML::Exception& e) {
    // e.msg is yaml-cpp's description of the syntax error; it does not quote the document.
    reader.Error(e.mark, e.msg);
  } catch (const std::exception& e) {
    reader.Error(YAML::Mark::null_mark(), std::string("cannot read the configuration: ") + e.what());
  }
  if (!reader.errors().empty()) {
    std::string message;
    for (const auto& error : reader.errors()) {
      if (!message.empty()) message += '\n';
      message += error;
    }
    return Status::Invalid(message);
  }

  if (env) {
    if (auto keys = env("REACH_API_KEY")) {
      for (auto& key : SplitCommaList(*keys))
        if (std::find(config.api_keys.begin(), config.api_keys.end(), key) == config.api_keys.end())
          config.api_keys.push_back(std::move(key));
    }
    if (auto secret = env("REACH_WEBHOOK_SECRET"); secret && !secret->empty())
      config.webhook_secret = *secret;
  }
  return config;
}

Result<Config> LoadConfig(const std::string& path, const EnvLookup& env) {
  if (path.empty()) return ParseConfig("", "", env);
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    const int error = errno;
    if (error == ENOENT) return Status::NotFound("config file '" + path + "' does not exist");
    return Status::Io("cannot open config file '" + path + "': " + std::strerror(error));
  }
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) return Status::Io("cannot read config file '" + path + "'");
  return ParseConfig(text.str(), path, env);
}

Result<Config> LoadConfig(const std::string& path) { return LoadConfig(path, ProcessEnvironment()); }

}  // namespace reach::server
