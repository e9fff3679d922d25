#pragma once
// The store's SQLite VFS: the platform's default VFS, except that a connection's writes to its
// -wal file are gathered and handed to the OS once per commit instead of twice per page.
//
// SQLite appends a WAL frame as two write() calls (its 24-byte header, then the page), so a
// commit that changed 300 pages made 600 system calls on the writer thread — about a
// microsecond each on a virtual machine, more than the copy itself. This VFS keeps consecutive
// WAL writes in a buffer and hands them to the OS in one call when the commit frame's header
// is written (the header that carries the database size), then writes the commit frame's page
// at once: two calls a commit. It also writes the buffer before any other operation on the
// file (read, sync, truncate, size, lock, close), when a write is not contiguous, and when the
// buffer reaches its limit. So a commit's frames are in the file, in order, before COMMIT
// returns and before the WAL index (shared memory) says they exist: readers, the checkpointer
// and the sync thread's fdatasync() see exactly what they saw without it. A failed write fails
// the COMMIT, as it would have. A crash before those writes loses only a transaction that had
// not committed. (SQLite may rewrite the headers of a transaction's frames after writing them,
// the commit frame's last, when the transaction wrote a page twice; each is preceded by a read,
// which writes the buffer, and the commit frame's is written at once as above.)
//
// A transaction that rolls back may leave frames it spilled (a transaction larger than the page
// cache writes some frames before its commit) in the buffer: they are dropped when the
// connection releases the WAL write lock, which the VFS sees on the database file (its
// xShmLock), so that they can never be written over frames another connection (another
// process) commits at the same offsets afterwards. The database file is otherwise passed on
// untouched but for its syncs (below); journals and temporary files go straight to the default
// VFS. A database file without powersafe overwrite (e.g. a `psow=0` URI) gets its WAL writes
// unbuffered: SQLite pads its commits there and publishes frames that follow no commit header.
//
// On a connection that asks for it (EnablePacedSyncs: the store's checkpointer), a sync of the
// database file (a checkpoint ends with one) first writes back the pages written since the last
// sync in steps of ~256 KiB, sorted, waiting for each (sync_file_range), then syncs as before (a
// sync of up to 512 KiB written is not paced). An fsync() alone queued a checkpoint's 4-16 MB at
// once, and the WAL fdatasync()s that acknowledge events (the store's sync thread) waited behind
// all of it. Not on the writer's connection: its own checkpoint at the WAL's bound holds up the
// batches, so it wants the fastest sync, and steps waited for one by one take longer in all.

#include <cstdint>

struct sqlite3;

namespace reach::storage {

// The VFS's name for sqlite3_open_v2(), registered (not as the default) on first call.
const char* WalBatchingVfsName();

// Paces the syncs of `db`'s main database file from now on (see above); false when the file is
// not this VFS's (or cannot be stat'd, or no memory).
bool EnablePacedSyncs(sqlite3* db);

// Process-wide counts of what the -wal files of this VFS handed to the OS (write calls and
// bytes) and of the steps database-file syncs were paced in. For tests and benchmarks.
struct WalVfsCounters {
  uint64_t writes = 0;
  uint64_t bytes = 0;
  uint64_t paced_steps = 0;  // sync_file_range() steps of database-file syncs
};
WalVfsCounters WalVfsCountersNow();

}  // namespace reach::storage
