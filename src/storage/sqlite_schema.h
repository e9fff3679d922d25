#pragma once
// The SQLite schema of the store and the migrations that build it. Table layout and the reason
// for every index: docs/storage.md, and the SQL in sqlite_schema.cc.
//
// Versioning: PRAGMA user_version holds the number of migration steps applied; PRAGMA
// application_id marks the file as Reach's. Steps run in order, each in its own transaction
// together with the user_version bump, so a crash between steps leaves a database at a known
// version that the next Open() carries forward.

#include <cstdint>
#include <span>

#include "common/status.h"
#include "storage/sqlite_connection.h"

namespace reach::storage {

struct MigrationStep {
  int version;      // user_version after this step; steps are numbered 1, 2, 3 ...
  const char* sql;  // one or more statements
};

// 'REAC': written to PRAGMA application_id so that `file reach.db` and Open() can tell a Reach
// database from another SQLite file.
inline constexpr int32_t kReachApplicationId = 0x52454143;

// The store's migrations, oldest first. Never edit a released step: add a new one.
std::span<const MigrationStep> SchemaMigrations();

// Switches the file to WAL and brings it to the last version of `steps` (SchemaMigrations() by
// default). Fails with kFailedPrecondition when the file is newer than `steps` know or is an
// SQLite database that is not Reach's; on a failed step, the database stays at the previous
// version and the step's error is returned.
Status MigrateSchema(SqliteConnection& connection);
Status MigrateSchema(SqliteConnection& connection, std::span<const MigrationStep> steps);

}  // namespace reach::storage
