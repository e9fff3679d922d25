#pragma once
// Helpers for the storage tests: a temporary directory per test, Status matchers, and small
// record builders.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "common/status.h"
#include "storage/records.h"
#include "storage/sqlite_store.h"
#include "storage/store.h"

namespace reach::storage::testing {

inline ::testing::AssertionResult IsOk(const Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.ToString();
}
template <class T>
::testing::AssertionResult IsOk(const Result<T>& result) {
  return IsOk(result.status());
}

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/reach_store_test_XXXXXX";
    char* made = mkdtemp(pattern.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::unique_ptr<Store> OpenOrDie(const StoreOptions& options) {
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(options);
  if (!store.ok()) throw std::runtime_error("open store: " + store.status().ToString());
  return std::move(*store);
}

inline std::unique_ptr<Store> OpenOrDie(const std::string& path) {
  StoreOptions options;
  options.path = path;
  return OpenOrDie(options);
}

inline ExecutionRecord MakeExecution(const std::string& user_id, const std::string& chain,
                                     ExecutionStatus status = ExecutionStatus::kRunning) {
  ExecutionRecord e;
  e.flow = chain + ".flow";
  e.chain = chain;
  e.chain_version = "cv1";
  e.set_version = "sv1";
  e.user_id = user_id;
  e.status = status;
  e.state = {{"frames", boost::json::array{1, 2}}};
  e.ctx = {{"coupon", "SPRING"}};
  e.trace = "a==>b";
  e.created_ms = 1000;
  e.updated_ms = 1000;
  return e;
}

inline EventRecord MakeEvent(const std::string& user_id, const std::string& type, int64_t timestamp_ms,
                             const std::string& message_id = "") {
  EventRecord event;
  event.message_id = message_id;
  event.type = type;
  event.user_id = user_id;
  event.properties = {{"amount", 42}};
  event.timestamp_ms = timestamp_ms;
  event.received_ms = timestamp_ms + 5;
  event.request_id = "req-" + message_id;
  return event;
}

// Runs `sql` on a separate raw connection (to tamper with a file or inspect it behind the
// store's back). Returns the first column of the first row as text, or "" when none.
inline std::string RawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  sqlite3_busy_timeout(db, 5000);
  std::string out;
  sqlite3_stmt* stmt = nullptr;
  const char* tail = sql.c_str();
  // Run every statement; keep the first row of the last one that returns rows.
  while (tail && *tail) {
    if (sqlite3_prepare_v2(db, tail, -1, &stmt, &tail) != SQLITE_OK) {
      std::string error = sqlite3_errmsg(db);
      sqlite3_close(db);
      throw std::runtime_error("raw query: " + error);
    }
    if (stmt == nullptr) break;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

// EXPLAIN QUERY PLAN of `sql` on a raw connection: every step's detail, joined by " | ".
inline std::string QueryPlan(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  std::string plan;
  if (sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      if (!plan.empty()) plan += " | ";
      plan += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
    }
  } else {
    plan = std::string("error: ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return plan;
}

}  // namespace reach::storage::testing
