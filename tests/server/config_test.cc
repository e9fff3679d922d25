// Config: defaults, every section, errors with file:line:col (unknown keys with a suggestion),
// environment overrides, and that secrets stay out of errors and the redacted rendering.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <unistd.h>

#include "server/config.h"

namespace reach::server {
namespace {

EnvLookup NoEnv() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Config ParseOk(std::string_view yaml, const EnvLookup& env = NoEnv()) {
  Result<Config> config = ParseConfig(yaml, "reach.yaml", env);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return config.ok() ? *config : Config{};
}

std::string ParseError(std::string_view yaml) {
  Result<Config> config = ParseConfig(yaml, "reach.yaml", NoEnv());
  EXPECT_FALSE(config.ok());
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  return config.status().message();
}

TEST(Config, NoFile_GivesTheDocumentedDefaults) {
  Result<Config> loaded = LoadConfig("", NoEnv());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Config& config = *loaded;
  EXPECT_EQ(config.listen, "127.0.0.1:8080");
  EXPECT_EQ(config.db, "./var/reach.db");
  EXPECT_EQ(config.flows, std::vector<std::string>{"./flows"});
  EXPECT_TRUE(config.api_keys.empty());
  EXPECT_TRUE(config.webhook_secret.empty());
  EXPECT_EQ(config.http.max_body_bytes, 1u << 20);
  EXPECT_EQ(config.http.header_timeout_ms, 10000);
  EXPECT_EQ(config.http.idle_timeout_ms, 60000);
  EXPECT_EQ(config.http.max_connections, 1024u);
  EXPECT_EQ(config.http.io_threads, 1);
  EXPECT_EQ(config.store.max_batch_jobs, 1024u);
  EXPECT_EQ(config.store.max_batch_delay_us, 0);
  EXPECT_TRUE(config.store.synchronous_full);
  EXPECT_TRUE(config.store.fsync_overlapped);
  EXPECT_EQ(config.store.min_fsync_interval_us, 500);
  EXPECT_EQ(config.store.writer_cache_mb, 16);
  EXPECT_EQ(config.store.event_wait_sweep_min_stale, 10000);
  EXPECT_EQ(config.store.event_wait_sweep_chunk, 1000);
  EXPECT_EQ(config.shutdown_timeout_ms, 10000);
  EXPECT_EQ(config.log_level, "info");
  for (const char* channel : {"wecom", "wechat", "sms", "webhook"})
    EXPECT_EQ(config.channels.at(channel).at("mode"), "sandbox") << channel;
  EXPECT_TRUE(config.quiet_hours.is_null());
  EXPECT_TRUE(config.caps.is_null());
}

TEST(Config, EmptyFile_IsAllDefaults) {
  Config config = ParseOk("");
  EXPECT_EQ(config.listen, "127.0.0.1:8080");
  EXPECT_EQ(config.source, "reach.yaml");
}

TEST(Config, EverySection_IsRead) {
  Config config = ParseOk(R"(
listen: "[::1]:9090"
db: /var/lib/reach/reach.db
flows: [/etc/reach/flows, ./extra.yaml]
api_keys: [k1, k2]
webhook_secret: s3cret
http:
  max_body_bytes: 2048
  header_timeout_ms: 500
  idle_timeout_ms: 1000
  max_connections: 10
  io_threads: 4
store: {max_batch_jobs: 64, max_batch_delay_us: 250, synchronous: normal, fsync: in_commit, writer_cache_mb: 64,
        min_fsync_interval_us: 0, event_wait_sweep_min_stale: 0, event_wait_sweep_chunk: 200}
cpu_affinity: {io: 0, writer: "1-2", checkpointer: "0,3"}
shutdown_timeout_ms: 0
log_level: debug
channels:
  wecom:
    mode: live
    corp_id: ww123
    corp_secret: abc
    agent_id: 1000002
  sms:
quiet_hours: {start: "22:00", end: "08:00", tz: Asia/Shanghai}
caps: [{channel: sms, per: 1d, max: 3}]
)");
  EXPECT_EQ(config.listen, "[::1]:9090");
  EXPECT_EQ(config.db, "/var/lib/reach/reach.db");
  EXPECT_EQ(config.flows, (std::vector<std::string>{"/etc/reach/flows", "./extra.yaml"}));
  EXPECT_EQ(config.api_keys, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(config.webhook_secret, "s3cret");
  EXPECT_EQ(config.http.max_body_bytes, 2048u);
  EXPECT_EQ(config.http.header_timeout_ms, 500);
  EXPECT_EQ(config.http.idle_timeout_ms, 1000);
  EXPECT_EQ(config.http.max_connections, 10u);
  EXPECT_EQ(config.http.io_threads, 4);
  EXPECT_EQ(config.store.max_batch_jobs, 64u);
  EXPECT_EQ(config.store.max_batch_delay_us, 250);
  EXPECT_FALSE(config.store.synchronous_full);
  EXPECT_FALSE(config.store.fsync_overlapped);
  EXPECT_EQ(config.store.min_fsync_interval_us, 0);
  EXPECT_EQ(config.store.writer_cache_mb, 64);
  EXPECT_EQ(config.store.event_wait_sweep_min_stale, 0);
  EXPECT_EQ(config.store.event_wait_sweep_chunk, 200);
  EXPECT_EQ(config.cpu_affinity.io, (std::vector<int>{0}));
  EXPECT_EQ(config.cpu_affinity.writer, (std::vector<int>{1, 2}));
  EXPECT_EQ(config.cpu_affinity.checkpointer, (std::vector<int>{0, 3}));
  EXPECT_TRUE(config.cpu_affinity.sync.empty());
  EXPECT_TRUE(config.cpu_affinity.timer.empty());
  EXPECT_EQ(config.shutdown_timeout_ms, 0);
  EXPECT_EQ(config.log_level, "debug");
  const auto& wecom = config.channels.at("wecom").as_object();
  EXPECT_EQ(wecom.at("mode"), "live");
  EXPECT_EQ(wecom.at("corp_id"), "ww123");
  EXPECT_EQ(wecom.at("agent_id"), 1000002);  // plain scalars get their JSON types
  EXPECT_EQ(config.channels.at("sms").at("mode"), "sandbox");
  EXPECT_EQ(config.channels.at("wechat").at("mode"), "sandbox");  // not mentioned: default
  EXPECT_EQ(config.quiet_hours.at("start"), "22:00");               // quoted: a string
  EXPECT_EQ(config.caps.at(0).at("max"), 3);
}

TEST(Config, ChannelWithoutMode_IsSandboxed) {
  Config config = ParseOk("channels:\n  webhook: {url: 'https://example.com/hook'}\n");
  EXPECT_EQ(config.channels.at("webhook").at("mode"), "sandbox");
  EXPECT_EQ(config.channels.at("webhook").at("url"), "https://example.com/hook");
}

TEST(Config, FlowsAsASingleString_IsAListOfOne) {
  EXPECT_EQ(ParseOk("flows: ./mine").flows, std::vector<std::string>{"./mine"});
}

TEST(Config, UnknownKeys_AreErrorsWithPositionAndSuggestion) {
  const std::string message = ParseError("listen: 127.0.0.1:8080\nlisten_addr: x\nhtp:\n  a: 1\n"
                                         "http:\n  max_body: 5\n  io_threds: 2\n");
  EXPECT_NE(message.find("reach.yaml:2:1: unknown key 'listen_addr'"), std::string::npos) << message;
  EXPECT_NE(message.find("reach.yaml:3:1: unknown key 'htp' (did you mean 'http'?)"), std::string::npos)
      << message;
  EXPECT_NE(message.find("reach.yaml:6:3: unknown key 'max_body' in http"), std::string::npos) << message;
  EXPECT_NE(message.find("reach.yaml:7:3: unknown key 'io_threds' in http (did you mean 'io_threads'?)"),
            std::string::npos)
      << message;
}

TEST(Config, BadValues_AreAllReportedOnePerLine) {
  const std::string message = ParseError(
      "http:\n  max_body_bytes: lots\n  io_threads: 0\n"
      "store:\n  synchronous: fulll\n  fsync: incommit\n  min_fsync_interval_us: -1\n"
      "log_level: verbose\n"
      "listen: localhost\n"
      "flows: {a: b}\n");
  EXPECT_EQ(message,
            "reach.yaml:2:19: http.max_body_bytes: expected an integer from 1 to 1073741824, got 'lots'\n"
            "reach.yaml:3:15: http.io_threads: expected an integer from 1 to 256, got '0'\n"
            "reach.yaml:5:16: store.synchronous: 'fulll' is not one of full or normal (did you mean 'full'?)\n"
            "reach.yaml:6:10: store.fsync: 'incommit' is not one of overlapped or in_commit (did you mean "
            "'in_commit'?)\n"
            "reach.yaml:7:26: store.min_fsync_interval_us: expected an integer from 0 to 1000000, got '-1'\n"
            "reach.yaml:8:12: log_level: 'verbose' is not one of trace, debug, info, warn, error, "
            "critical or off\n"
            "reach.yaml:9:9: listen: expected HOST:PORT, e.g. 127.0.0.1:8080\n"
            "reach.yaml:10:8: flows: expected a list of strings");
}

TEST(Config, DuplicateKeysAndUnknownChannels_AreErrors) {
  const std::string message = ParseError("db: a.db\ndb: b.db\nchannels:\n  wecon: {}\n"
                                         "  sms: {mode: production}\n");
  EXPECT_NE(message.find("reach.yaml:2:1: duplicate key 'db'"), std::string::npos) << message;
  EXPECT_NE(message.find("reach.yaml:4:3: unknown key 'wecon' in channels (did you mean 'wecom'?)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("reach.yaml:5:15: channels.sms.mode: 'production' is not one of sandbox or live"),
            std::string::npos)
      << message;
}

TEST(Config, YamlSyntaxError_HasItsPosition) {
  const std::string message = ParseError("http:\n  max_body_bytes: [1, 2\n");
  EXPECT_EQ(message.rfind("reach.yaml:", 0), 0u) << message;
  EXPECT_NE(message.find(":3:"), std::string::npos) << message;
}

TEST(Config, SecretsNeverAppearInErrors) {
  const std::string message = ParseError(
      "api_keys: [topsecretkey1, {nested: topsecretkey2}]\n"
      "webhook_secret: [topsecretkey3]\n"
      "channels:\n  wecom: [topsecretkey4]\n");
  EXPECT_EQ(message.find("topsecret"), std::string::npos) << message;
  EXPECT_NE(message.find("reach.yaml:1:27: api_keys: expected a string in the list"), std::string::npos)
      << message;
  EXPECT_NE(message.find("reach.yaml:2:17: webhook_secret: expected a string"), std::string::npos)
      << message;
  EXPECT_NE(message.find("reach.yaml:4:10: channels.wecom: expected a mapping"), std::string::npos)
      << message;
}

TEST(Config, Environment_AddsApiKeysAndOverridesTheWebhookSecret) {
  Config config = ParseOk("api_keys: [file-key]\nwebhook_secret: from-file\n",
                          Env({{"REACH_API_KEY", " env-1, env-2 ,,file-key"},
                               {"REACH_WEBHOOK_SECRET", "from-env"}}));
  EXPECT_EQ(config.api_keys, (std::vector<std::string>{"file-key", "env-1", "env-2"}));
  EXPECT_EQ(config.webhook_secret, "from-env");

  Result<Config> defaults = LoadConfig("", Env({{"REACH_API_KEY", "only"}}));
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->api_keys, std::vector<std::string>{"only"});
}

TEST(Config, Redacted_HidesSecretsAndReadsBack) {
  Config config = ParseOk(R"(
api_keys: [key-aaaa, key-bbbb]
webhook_secret: whsec-cccc
channels:
  wecom: {mode: live, corp_id: ww1, corp_secret: secret-dddd, token: tok-eeee, encoding_aes_key: aes-ffff}
caps: {sms: {api_key: gggg, max: 3}}
)");
  const std::string text = config.Redacted();
  for (const char* secret : {"key-aaaa", "key-bbbb", "whsec-cccc", "secret-dddd", "tok-eeee",
                             "aes-ffff", "gggg"})
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " leaked:\n" << text;
  EXPECT_NE(text.find("\"corp_id\": \"ww1\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"api_keys\": [\n    \"***\",\n    \"***\"\n  ]"), std::string::npos) << text;
  EXPECT_NE(text.find("\"webhook_secret\": \"***\""), std::string::npos) << text;

  // The rendering is JSON, hence YAML, and loads back to the same non-secret settings.
  Config again = ParseOk(text);
  EXPECT_EQ(again.listen, config.listen);
  EXPECT_EQ(again.http.max_body_bytes, config.http.max_body_bytes);
  EXPECT_EQ(again.channels.at("wecom").at("mode"), "live");
  EXPECT_EQ(again.Redacted(), text);
}

TEST(Config, CpuAffinity_BadListsAndRolesAreErrorsWithPositions) {
  const std::string message = ParseError("cpu_affinity:\n  writer: 3-1\n  io: [0]\n  wrtier: 0\n  timer: x\n");
  EXPECT_NE(message.find("reach.yaml:2:11: cpu_affinity.writer: CPU list '3-1': the range '3-1' is reversed"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("reach.yaml:3:7: cpu_affinity.io: expected a CPU list"), std::string::npos) << message;
  EXPECT_NE(message.find("reach.yaml:4:3: unknown key 'wrtier' in cpu_affinity (did you mean 'writer'?)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("reach.yaml:5:10: cpu_affinity.timer: CPU list 'x': 'x' is not a CPU number"),
            std::string::npos)
      << message;
}

TEST(Config, CpuAffinity_RendersAsListsAndReadsBack) {
  Config config = ParseOk("cpu_affinity: {io: 0, writer: \"1,2,3\", timer: 5}\n");
  const std::string text = config.Redacted();
  EXPECT_NE(text.find(R"("cpu_affinity": {
    "io": "0",
    "writer": "1-3",
    "timer": "5"
  })"),
            std::string::npos)
      << text;
  Config again = ParseOk(text);
  EXPECT_EQ(again.cpu_affinity.writer, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(again.cpu_affinity.timer, (std::vector<int>{5}));
}

TEST(Config, Redacted_DefaultsRenderExactly) {
  EXPECT_EQ(Config{}.Redacted(), R"({
  "listen": "127.0.0.1:8080",
  "db": "./var/reach.db",
  "flows": [
    "./flows"
  ],
  "api_keys": [],
  "webhook_secret": "",
  "http": {
    "max_body_bytes": 1048576,
    "header_timeout_ms": 10000,
    "idle_timeout_ms": 60000,
    "max_connections": 1024,
    "io_threads": 1
  },
  "store": {
    "max_batch_jobs": 1024,
    "max_batch_delay_us": 0,
    "synchronous": "full",
    "fsync": "overlapped",
    "min_fsync_interval_us": 500,
    "writer_cache_mb": 16,
    "event_wait_sweep_min_stale": 10000,
    "event_wait_sweep_chunk": 1000
  },
  "cpu_affinity": {},
  "shutdown_timeout_ms": 10000,
  "log_level": "info",
  "channels": {
    "wecom": {
      "mode": "sandbox"
    },
    "wechat": {
      "mode": "sandbox"
    },
    "sms": {
      "mode": "sandbox"
    },
    "webhook": {
      "mode": "sandbox"
    }
  },
  "quiet_hours": null,
  "caps": null
}
)");
}

TEST(Config, LoadConfig_ReadsAFileAndNamesItInErrors) {
  const auto dir = std::filesystem::temp_directory_path() / ("reach_config_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "reach.yaml").string();
  {
    std::ofstream(path) << "listen: 0.0.0.0:0\nlog_lvl: info\n";
  }
  Result<Config> bad = LoadConfig(path, NoEnv());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), path + ":2:1: unknown key 'log_lvl' (did you mean 'log_level'?)");
  {
    std::ofstream(path) << "listen: 0.0.0.0:0\n";
  }
  Result<Config> good = LoadConfig(path, NoEnv());
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->listen, "0.0.0.0:0");
  EXPECT_EQ(good->source, path);
  EXPECT_EQ(LoadConfig((dir / "missing.yaml").string(), NoEnv()).status().code(), StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(Config, ParseListen_SplitsHostAndPort) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(ParseListen("127.0.0.1:8080", host, port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(ParseListen("[::1]:0", host, port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(ParseListen("localhost:65535", host, port).ok());
  EXPECT_EQ(host, "localhost");
  EXPECT_FALSE(ParseListen("127.0.0.1", host, port).ok());
  EXPECT_FALSE(ParseListen(":8080", host, port).ok());
  EXPECT_FALSE(ParseListen("::1:8080", host, port).ok());
  EXPECT_FALSE(ParseListen("host:65536", host, port).ok());
  EXPECT_FALSE(ParseListen("host:80a", host, port).ok());
  EXPECT_FALSE(ParseListen("host:", host, port).ok());
}

}  // namespace
}  // namespace reach::server
