#include "app/run_command.h"

#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include <boost/json.hpp>

#include "common/time_util.h"
#include "dsl/flow_compiler.h"
#include "engine/engine.h"
#include "nodes/builtin_kinds.h"
#include "storage/sqlite_store.h"

namespace reach::app {
namespace {

namespace json = boost::json;

// Prints sends instead of sending them.
class PrintingSink final : public engine::SendSink {
 public:
  explicit PrintingSink(std::ostream& out) : out_(out) {}
  bool Accept(storage::StoreTxn&, const storage::ExecutionRecord&, const std::string& key,
              const engine::SendRequest& request, std::string&) override {
    out_ << "  send " << request.channel << " (" << request.node << ", key " << key
         << "): " << json::serialize(request.payload) << "\n";
    return true;
  }

 private:
  std::ostream& out_;
};

struct TimedEvent {
  json::object event;
  std::string at;  // "" | RFC 3339 | "+90s" relative to the previous input
};

bool ReadFile(const std::string& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  text = s.str();
  return true;
}

// A JSON array of events, or one JSON object per line.
bool ParseEvents(const std::string& text, std::vector<TimedEvent>& out, std::string& error) {
  boost::system::error_code ec;
  json::value all = json::parse(text, ec);
  std::vector<json::value> items;
  if (!ec && all.is_array()) {
    for (auto& v : all.as_array()) items.push_back(v);
  } else {
    std::istringstream lines(text);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      json::value v = json::parse(line, ec);
      if (ec) {
        error = "line " + std::to_string(n) + ": " + ec.message();
        return false;
      }
      items.push_back(std::move(v));
    }
  }
  for (auto& v : items) {
    if (!v.is_object() || !v.as_object().contains("type")) {
      error = "every event needs a \"type\": " + json::serialize(v);
      return false;
    }
    TimedEvent e;
    e.event = v.as_object();
    if (auto* at = e.event.if_contains("at"); at && at->is_string()) e.at = std::string(at->as_string());
    e.event.erase("at");
    out.push_back(std::move(e));
  }
  return true;
}

storage::EventRecord ToRecord(const json::object& o, const std::string& user_id, int64_t now) {
  storage::EventRecord e;
  e.type = std::string(o.at("type").as_string());
  e.user_id = user_id;
  if (auto* p = o.if_contains("properties"); p && p->is_object()) e.properties = p->as_object();
  // Fields other than the envelope's are properties too (a hand-written sample is flat).
  for (const auto& kv : o)
    if (kv.key() != "type" && kv.key() != "properties" && kv.key() != "timestamp" && kv.key() != "user_id" &&
        kv.key() != "message_id")
      e.properties[kv.key()] = kv.value();
  if (auto* m = o.if_contains("message_id"); m && m->is_string()) e.message_id = std::string(m->as_string());
  e.timestamp_ms = now;
  e.received_ms = now;
  return e;
}

}  // namespace

int Run(const RunArgs& args, std::ostream& out, std::ostream& err) {
  // Flow files.
  std::vector<std::pair<std::string, std::string>> files;
  {
    dsl::FlowCompiler probe(nodes::BuiltinKinds());
    for (const auto& p : args.files)
      if (Status s = probe.AddPath(p); !s.ok()) {
        err << "reach run: " << s.message() << "\n";
        return 1;
      }
    for (uint32_t i = 0; i < probe.sources().size(); ++i)
      files.emplace_back(probe.sources().name(i), probe.sources().text(i));
  }
  // Inputs.
  engine::ManualClock clock;
  if (!args.now.empty()) {
    auto t = ParseTimestampMillis(args.now);
    if (!t) {
      err << "reach run: --now must be an RFC 3339 time such as 2026-11-22T10:00:00+08:00\n";
      return 2;
    }
    clock.Set(*t);
  } else {
    clock.Set(engine::SystemClock().NowMillis());
  }
  storage::UserRecord user;
  user.id = "user-1";
  if (!args.user_json.empty()) {
    boost::system::error_code ec;
    json::value u = json::parse(args.user_json, ec);
    if (ec || !u.is_object()) {
      err << "reach run: --user must be a JSON object: " << (ec ? ec.message() : "not an object") << "\n";
      return 2;
    }
    const json::object& o = u.as_object();
    if (auto* id = o.if_contains("id"); id && id->is_string()) user.id = std::string(id->as_string());
    if (auto* t = o.if_contains("traits"); t && t->is_object()) user.traits = t->as_object();
    if (auto* t = o.if_contains("tags"); t && t->is_array()) user.tags = t->as_array();
    if (auto* t = o.if_contains("timezone"); t && t->is_string()) user.timezone = std::string(t->as_string());
    if (auto* t = o.if_contains("identities"); t && t->is_object()) user.identities = t->as_object();
    if (auto* t = o.if_contains("subscriptions"); t && t->is_object()) user.subscriptions = t->as_object();
    // Other top-level fields are traits (a hand-written sample user is flat).
    for (const auto& kv : o)
      if (kv.key() != "id" && kv.key() != "traits" && kv.key() != "tags" && kv.key() != "timezone" &&
          kv.key() != "identities" && kv.key() != "subscriptions")
        user.traits[kv.key()] = kv.value();
  }
  json::object trigger;
  if (!args.event_json.empty()) {
    boost::system::error_code ec;
    json::value v = json::parse(args.event_json, ec);
    if (ec || !v.is_object() || !v.as_object().contains("type") || !v.as_object().at("type").is_string()) {
      err << "reach run: --event must be a JSON object with a \"type\"\n";
      return 2;
    }
    trigger = v.as_object();
  }
  std::vector<TimedEvent> later;
  if (!args.events_file.empty()) {
    std::string text, error;
    if (!ReadFile(args.events_file, text)) {
      err << "reach run: cannot read " << args.events_file << "\n";
      return 2;
    }
    if (!ParseEvents(text, later, error)) {
      err << "reach run: " << args.events_file << ": " << error << "\n";
      return 2;
    }
  }

  // A throw-away store.
  std::string dir = (std::filesystem::temp_directory_path() / "reach-run-XXXXXX").string();
  if (!mkdtemp(dir.data())) {
    err << "reach run: cannot create a temporary directory\n";
    return 1;
  }
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};
  storage::StoreOptions options;
  options.path = dir + "/run.db";
  options.synchronous_full = false;
  auto store = storage::OpenSqliteStore(options);
  if (!store.ok()) {
    err << "reach run: " << store.status().message() << "\n";
    return 1;
  }
  PrintingSink sink(out);
  engine::Engine engine(nodes::BuiltinKinds(), nodes::BuiltinExecutors(), clock, &sink);
  engine.set_note_sink([&](int64_t, const std::string& line) { out << "  " << line << "\n"; });

  std::string errors;
  Status s = (*store)->Write([&](storage::StoreTxn& txn) { return engine.Deploy(txn, files, errors); });
  if (!s.ok()) {
    err << errors;
    return 1;
  }
  if (engine.current()->FindChain(args.chain) == dsl::kNone) {
    err << "reach run: no chain named '" << args.chain << "'\n";
    return 1;
  }
  user.created_ms = user.updated_ms = clock.NowMillis();
  int64_t execution_id = 0;
  std::string refused;
  out << "at " << FormatTimestamp(clock.NowMillis()) << ": start " << args.chain << " for " << user.id << "\n";
  s = (*store)->Write([&](storage::StoreTxn& txn) -> Status {
    if (Status p = txn.PutUser(user); !p.ok()) return p;
    json::value ev;
    if (!trigger.empty()) {
      storage::EventRecord rec = ToRecord(trigger, user.id, clock.NowMillis());
      if (auto r = txn.InsertEvent(rec); !r.ok()) return r.status();
      ev = engine::EventJson(rec);
    }
    return engine.Start(txn, args.chain, user.id, ev, "run", execution_id, refused);
  });
  if (!s.ok()) {
    err << "reach run: " << s.message() << "\n";
    return 1;
  }
  if (!execution_id) {
    err << "reach run: not started: " << refused << "\n";
    return 1;
  }

  auto reader = (*store)->NewReader();
  auto status_of = [&]() {
    auto e = reader->GetExecution(execution_id);
    return e.ok() && *e ? (*e)->status : storage::ExecutionStatus::kFailed;
  };
  size_t next_event = 0;
  int inputs = 0;
  while (status_of() == storage::ExecutionStatus::kWaiting && inputs++ < args.max_inputs) {
    // The next input is the next given event unless a timer is due before it.
    std::optional<int64_t> timer_due;
    s = (*store)->Write([&](storage::StoreTxn& txn) -> Status {
      auto r = txn.NextTimerDue();
      if (!r.ok()) return r.status();
      timer_due = *r;
      return Status::Ok();
    });
    std::optional<int64_t> event_at;
    if (next_event < later.size()) {
      const std::string& at = later[next_event].at;
      if (at.empty()) event_at = clock.NowMillis();
      else if (at[0] == '+') {
        auto d = ParseDurationMillis(at.substr(1));
        event_at = clock.NowMillis() + (d ? *d : 0);
      } else {
        auto t = ParseTimestampMillis(at);
        event_at = t ? std::max(*t, clock.NowMillis()) : clock.NowMillis();
      }
    }
    if (event_at && (!timer_due || *event_at <= *timer_due)) {
      clock.Set(std::max(clock.NowMillis(), *event_at));
      storage::EventRecord rec = ToRecord(later[next_event].event, user.id, clock.NowMillis());
      ++next_event;
      out << "at " << FormatTimestamp(clock.NowMillis()) << ": event " << rec.type << "\n";
      engine::EventOutcome outcome;
      s = (*store)->Write([&](storage::StoreTxn& txn) { return engine.HandleEvent(txn, rec, outcome); });
    } else if (timer_due) {
      clock.Set(std::max(clock.NowMillis(), *timer_due));
      out << "at " << FormatTimestamp(clock.NowMillis()) << ": timer\n";
      int fired = 0;
      s = (*store)->Write([&](storage::StoreTxn& txn) { return engine.FireDueTimers(txn, fired); });
    } else {
      break;  // waiting for an event that was not given
    }
    if (!s.ok()) {
      err << "reach run: " << s.message() << "\n";
      return 1;
    }
  }
  auto e = reader->GetExecution(execution_id);
  if (!e.ok() || !*e) {
    err << "reach run: the execution vanished\n";
    return 1;
  }
  const storage::ExecutionRecord& exec = **e;
  out << "status: " << storage::ExecutionStatusName(exec.status);
  if (!exec.error.empty()) out << " (" << exec.error << ")";
  if (exec.status == storage::ExecutionStatus::kWaiting) out << " (no more events given)";
  out << "\n";
  out << "trace: " << exec.trace << "\n";
  (*store)->Close();
  return exec.status == storage::ExecutionStatus::kFailed ? 1 : 0;
}

}  // namespace reach::app
