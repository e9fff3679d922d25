// See sqlite_wal_vfs.h. The wrapper follows SQLite's VFS shim pattern: the VFS's szOsFile is
// that of the default VFS plus room for a WalFile in front of it; a file that is not a WAL is
// opened by the default VFS directly into the memory SQLite allocated (its methods are the
// default's), a WAL is opened into the tail and gets the methods below, which flush the
// buffer where it matters and pass every call on.

#include "storage/sqlite_wal_vfs.h"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace reach::storage {
namespace {

// Writes gathered beyond this are flushed at once (a large transaction's frames, a migration).
constexpr size_t kMaxBufferedBytes = 8 << 20;
// A buffer that grew past this is freed once written (a commit of ~500 pages fits under it).
constexpr size_t kKeptBufferBytes = 2 << 20;
// The most one write call to the default VFS may carry: the unix VFS masks a write's size with
// 0x1ffff (os_unix.c, seekAndWriteFd), so a larger one would be cut short (and one of exactly
// 128 KiB would write nothing and report a full disk).
constexpr size_t kMaxWriteBytes = 124 << 10;
// A WAL frame header; the page follows it (sqlite3 wal.c: WAL_FRAME_HDRSIZE).
constexpr int kFrameHeaderBytes = 24;

// A database file's sync writes its pages back in steps of about this many bytes, each waited
// for, before the sync itself (see PaceWriteback).
constexpr sqlite3_int64 kPaceStepBytes = 256 << 10;
// The most writes a database file remembers between two syncs (16 bytes each): a transaction
// that writes more (a VACUUM, a migration of a big file) is synced in one go, as without this.
constexpr size_t kMaxPacedWrites = 1 << 20;
// A list that grew past this (a checkpoint of a full 256 MB WAL) is freed once synced.
constexpr size_t kKeptPacedWrites = 1 << 16;

// sqlite3_file_control() opcode of EnablePacedSyncs (SQLite's own are small numbers; a VFS may
// take others, and the default VFS answers SQLITE_NOTFOUND to ones it does not know).
constexpr int kPaceSyncsFileControl = 0x52454143;  // "REAC"

std::atomic<uint64_t> g_writes{0};
std::atomic<uint64_t> g_bytes{0};
std::atomic<uint64_t> g_paced_steps{0};

struct MainFile;

struct WalFile {
  sqlite3_file base;      // pMethods = &kWalMethods
  sqlite3_file* real;     // the default VFS's file, in the same allocation after this struct
  std::string* buffer;    // frames not yet written, starting at buffer_offset
  sqlite3_int64 buffer_offset;
  bool commit_header;     // the last write was a commit frame's header: its page is not buffered
  bool pass_through;      // the device lacks powersafe overwrite: SQLite pads and syncs mid-frame
  MainFile* main;         // the connection's database file, while both are open
};

// A connection's main database file: passed through, except that the release of the WAL write
// lock (shared-memory lock slot 0, WAL_WRITE_LOCK in wal.c) ends the transaction for the
// connection's WAL buffer. A commit leaves nothing buffered (see WalWrite); what is left then
// are frames a transaction spilled before it rolled back. They must never reach the file: once
// the lock is released another connection (another process) may commit frames at the same
// offsets, and writing the stale ones later would overwrite them.
struct MainFile {
  sqlite3_file base;      // pMethods = &kMainMethods
  sqlite3_file* real;
  WalFile* wal;
  // This connection holds the WAL write lock (as seen through xShmLock). WAL writes are
  // buffered only then: in exclusive locking mode SQLite takes no shared-memory locks, and what
  // it writes there goes straight to the file.
  bool write_locked;
  // The writes since the last sync (offset, length), for PaceWriteback: set while the file's
  // syncs are paced (EnablePacedSyncs), nullptr otherwise. `overflowed`: more than
  // kMaxPacedWrites since the last sync.
  std::vector<std::pair<sqlite3_int64, int>>* written;
  bool overflowed;
  // The file's name (SQLite keeps it for the file's life) and a read-only descriptor of it,
  // opened at the first paced sync, for sync_file_range(); -2 once pacing failed (not again).
  // The descriptor must name the file SQLite opened: its device and inode are taken when pacing
  // is asked for and checked (a file restored over the path meanwhile is not paced).
  const char* path;
  int pace_fd;
  dev_t dev;
  ino_t ino;
};

constexpr size_t RoundUp8(size_t n) { return (n + 7) & ~size_t{7}; }
// Where the default VFS's file starts in the allocation SQLite makes for ours.
constexpr size_t kPrefixBytes = RoundUp8(sizeof(WalFile) > sizeof(MainFile) ? sizeof(WalFile) : sizeof(MainFile));

sqlite3_vfs* Real(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }
WalFile* Wal(sqlite3_file* file) { return reinterpret_cast<WalFile*>(file); }
MainFile* Main(sqlite3_file* file) { return reinterpret_cast<MainFile*>(file); }
sqlite3_file* RealOf(sqlite3_file* file) { return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kPrefixBytes); }

void Discard(WalFile* f) {
  f->buffer->clear();
  f->commit_header = false;
  if (f->buffer->capacity() > kKeptBufferBytes) std::string().swap(*f->buffer);
}

int Flush(WalFile* f) {
  f->commit_header = false;
  int rc = SQLITE_OK;
  const std::string& buffer = *f->buffer;
  for (size_t done = 0; done < buffer.size() && rc == SQLITE_OK; done += kMaxWriteBytes) {
    const size_t n = std::min(kMaxWriteBytes, buffer.size() - done);
    rc = f->real->pMethods->xWrite(f->real, buffer.data() + done, static_cast<int>(n),
                                   f->buffer_offset + static_cast<sqlite3_int64>(done));
    g_writes.fetch_add(1, std::memory_order_relaxed);
    g_bytes.fetch_add(n, std::memory_order_relaxed);
  }
  f->buffer->clear();
  // A large transaction (a migration, a big deploy) does not keep its buffer for the life of
  // the connection.
  if (f->buffer->capacity() > kKeptBufferBytes) std::string().swap(*f->buffer);
  return rc;
}

int WalClose(sqlite3_file* file) {
  WalFile* f = Wal(file);
  if (f->main != nullptr) {
    f->main->wal = nullptr;
    f->main = nullptr;
  }
  const int flushed = Flush(f);
  const int rc = f->real->pMethods->xClose(f->real);
  delete f->buffer;
  f->buffer = nullptr;
  return flushed != SQLITE_OK ? flushed : rc;
}

int WalRead(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, out, amount, offset);
}

int WriteThrough(WalFile* f, const void* data, int amount, sqlite3_int64 offset) {
  g_writes.fetch_add(1, std::memory_order_relaxed);
  g_bytes.fetch_add(static_cast<uint64_t>(amount), std::memory_order_relaxed);
  return f->real->pMethods->xWrite(f->real, data, amount, offset);
}

int WalWrite(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  WalFile* f = Wal(file);
  if (f->pass_through || f->main == nullptr || !f->main->write_locked) {
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
    return WriteThrough(f, data, amount, offset);
  }
  std::string& buffer = *f->buffer;
  if (!buffer.empty() && offset != f->buffer_offset + static_cast<sqlite3_int64>(buffer.size())) {
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  }
  if (f->commit_header) {
    // The commit frame's page: written at once, so that nothing is left behind when the
    // COMMIT returns.
    f->commit_header = false;
    return WriteThrough(f, data, amount, offset);
  }
  // Bytes 4..7 of a frame header: the database size in pages after a commit, 0 in every other
  // frame. A commit frame's header goes out at once with everything before it: the commit may
  // end here (SQLite rewrites the headers of a transaction's frames, the commit frame's last,
  // when it wrote a page twice) or with the page that follows, which is written through.
  const auto* bytes = static_cast<const unsigned char*>(data);
  const bool commit_header =
      amount == kFrameHeaderBytes && (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
  if (buffer.empty()) f->buffer_offset = offset;
  try {
    buffer.append(static_cast<const char*>(data), static_cast<size_t>(amount));
  } catch (const std::bad_alloc&) {
    // No memory for the buffer: what it holds, then this write, straight to the file.
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
    const int rc = WriteThrough(f, data, amount, offset);
    f->commit_header = commit_header;
    return rc;
  }
  if (commit_header) {
    const int rc = Flush(f);
    f->commit_header = true;
    return rc;
  }
  if (amount == kFrameHeaderBytes) return SQLITE_OK;
  if (buffer.size() >= kMaxBufferedBytes) return Flush(f);
  return SQLITE_OK;
}

int WalTruncate(sqlite3_file* file, sqlite3_int64 size) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xTruncate(f->real, size);
}

int WalSync(sqlite3_file* file, int flags) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

int WalFileSize(sqlite3_file* file, sqlite3_int64* size) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileSize(f->real, size);
}

int WalLock(sqlite3_file* file, int level) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xLock(f->real, level);
}

int WalUnlock(sqlite3_file* file, int level) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xUnlock(f->real, level);
}

int WalCheckReservedLock(sqlite3_file* file, int* out) {
  WalFile* f = Wal(file);
  return f->real->pMethods->xCheckReservedLock(f->real, out);
}

int WalFileControl(sqlite3_file* file, int op, void* arg) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileControl(f->real, op, arg);
}

int WalSectorSize(sqlite3_file* file) { return Wal(file)->real->pMethods->xSectorSize(Wal(file)->real); }

int WalDeviceCharacteristics(sqlite3_file* file) {
  return Wal(file)->real->pMethods->xDeviceCharacteristics(Wal(file)->real);
}

// A WAL file never has shared memory or memory maps of its own (those are the database
// file's); these pass on for completeness, and only when the default VFS has them.
int WalShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  sqlite3_file* real = Wal(file)->real;
  return real->pMethods->iVersion >= 2 ? real->pMethods->xShmMap(real, region, size, extend, out) : SQLITE_IOERR;
}
int WalShmLock(sqlite3_file* file, int offset, int n, int flags) {
  sqlite3_file* real = Wal(file)->real;
  return real->pMethods->iVersion >= 2 ? real->pMethods->xShmLock(real, offset, n, flags) : SQLITE_IOERR;
}
void WalShmBarrier(sqlite3_file* file) {
  sqlite3_file* real = Wal(file)->real;
  if (real->pMethods->iVersion >= 2) real->pMethods->xShmBarrier(real);
}
int WalShmUnmap(sqlite3_file* file, int remove) {
  sqlite3_file* real = Wal(file)->real;
  return real->pMethods->iVersion >= 2 ? real->pMethods->xShmUnmap(real, remove) : SQLITE_OK;
}
int WalFetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  WalFile* f = Wal(file);
  *out = nullptr;
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->iVersion >= 3 ? f->real->pMethods->xFetch(f->real, offset, amount, out) : SQLITE_OK;
}
int WalUnfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  sqlite3_file* real = Wal(file)->real;
  return real->pMethods->iVersion >= 3 ? real->pMethods->xUnfetch(real, offset, page) : SQLITE_OK;
}

const sqlite3_io_methods kWalMethods = {
    3,
    WalClose,
    WalRead,
    WalWrite,
    WalTruncate,
    WalSync,
    WalFileSize,
    WalLock,
    WalUnlock,
    WalCheckReservedLock,
    WalFileControl,
    WalSectorSize,
    WalDeviceCharacteristics,
    WalShmMap,
    WalShmLock,
    WalShmBarrier,
    WalShmUnmap,
    WalFetch,
    WalUnfetch,
};

// ---- the main database file: every call passed on; xShmLock also ends a WAL buffer ----------

sqlite3_file* R(sqlite3_file* file) { return Main(file)->real; }
int MainClose(sqlite3_file* file) {
  MainFile* m = Main(file);
  delete m->written;
  m->written = nullptr;
  if (m->pace_fd >= 0) ::close(m->pace_fd);
  m->pace_fd = -1;
  if (m->wal != nullptr) {
    m->wal->main = nullptr;
    m->wal = nullptr;
  }
  return m->real->pMethods->xClose(m->real);
}
int MainRead(sqlite3_file* f, void* out, int n, sqlite3_int64 off) { return R(f)->pMethods->xRead(R(f), out, n, off); }
int MainWrite(sqlite3_file* f, const void* d, int n, sqlite3_int64 off) {
  MainFile* m = Main(f);
  if (m->written != nullptr && !m->overflowed) {
    if (m->written->size() < kMaxPacedWrites) {
      try {
        m->written->emplace_back(off, n);
      } catch (const std::bad_alloc&) {
        m->overflowed = true;
      }
    } else {
      m->overflowed = true;
    }
  }
  return R(f)->pMethods->xWrite(R(f), d, n, off);
}
int MainTruncate(sqlite3_file* f, sqlite3_int64 size) { return R(f)->pMethods->xTruncate(R(f), size); }

// Before a sync of the database file (a checkpoint's, at its end), hands the pages written
// since the last one to the disk in steps of ~kPaceStepBytes, waiting for each
// (sync_file_range WAIT_BEFORE | WRITE | WAIT_AFTER), sorted by offset. A plain fsync() queues
// them all at once — 4-16 MB after a checkpoint — and the WAL fdatasync()s that acknowledge
// events, running beside it on the sync thread, waited behind that queue (docs/benchmarks.md:
// the slowest requests sat on those checkpoints). In steps, a WAL sync waits behind one step
// at most. The sync that follows still makes everything durable (and flushes the device's
// cache); this only orders the writes. Returns an I/O error when a step reported one (the sync
// would too: each descriptor sees a writeback error once); any other failure (a file system
// without sync_file_range) stops the pacing of this file and leaves the sync to do it all.
int PaceWriteback(MainFile* m) {
  std::vector<std::pair<sqlite3_int64, int>>& written = *m->written;
  // Up to two steps' worth, the fsync alone queues no more than a step would: no pacing (it
  // would add a wait for the disk before the fsync's own, on the writer at the WAL's bound).
  sqlite3_int64 bytes_written = 0;
  for (const auto& w : written) bytes_written += w.second;
  const bool pace = bytes_written > 2 * kPaceStepBytes && !m->overflowed && m->pace_fd != -2 && m->path != nullptr;
  if (pace && m->pace_fd < 0) {
    m->pace_fd = ::open(m->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (m->pace_fd >= 0 && (::fstat(m->pace_fd, &st) != 0 || st.st_dev != m->dev || st.st_ino != m->ino)) {
      ::close(m->pace_fd);
      m->pace_fd = -1;
    }
    if (m->pace_fd < 0) m->pace_fd = -2;
  }
  int rc = SQLITE_OK;
  if (pace && m->pace_fd >= 0) {
    std::sort(written.begin(), written.end());
    constexpr unsigned kFlags = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
    sqlite3_int64 from = written.front().first, to = from, bytes = 0;
    auto step = [&] {
      if (to <= from) return true;
      int r;
      do {
        r = ::sync_file_range(m->pace_fd, from, to - from, kFlags);
      } while (r != 0 && errno == EINTR);
      if (r == 0) {
        g_paced_steps.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
      if (errno == EIO || errno == ENOSPC) {
        rc = SQLITE_IOERR_FSYNC;
      } else {
        ::close(m->pace_fd);
        m->pace_fd = -2;
      }
      return false;
    };
    bool ok = true;
    for (const auto& [offset, length] : written) {
      if (bytes >= kPaceStepBytes) {
        if (!(ok = step())) break;
        from = offset;
        bytes = 0;
      }
      to = std::max(to, offset + length);
      bytes += length;
    }
    if (ok) step();
  }
  written.clear();
  m->overflowed = false;
  // A big transaction's list is not kept for the life of the connection.
  if (written.capacity() > kKeptPacedWrites) std::vector<std::pair<sqlite3_int64, int>>().swap(written);
  return rc;
}

int MainSync(sqlite3_file* f, int flags) {
  MainFile* m = Main(f);
  const int paced = m->written != nullptr ? PaceWriteback(m) : SQLITE_OK;
  const int rc = R(f)->pMethods->xSync(R(f), flags);
  return rc != SQLITE_OK ? rc : paced;
}
int MainFileSize(sqlite3_file* f, sqlite3_int64* size) { return R(f)->pMethods->xFileSize(R(f), size); }
int MainLock(sqlite3_file* f, int level) { return R(f)->pMethods->xLock(R(f), level); }
int MainUnlock(sqlite3_file* f, int level) { return R(f)->pMethods->xUnlock(R(f), level); }
int MainCheckReservedLock(sqlite3_file* f, int* out) { return R(f)->pMethods->xCheckReservedLock(R(f), out); }
int MainFileControl(sqlite3_file* f, int op, void* arg) {
  if (op == kPaceSyncsFileControl) {
    MainFile* m = Main(f);
    if (arg == nullptr || *static_cast<int*>(arg) == 0) {
      delete m->written;
      m->written = nullptr;
      return SQLITE_OK;
    }
    if (m->written != nullptr) return SQLITE_OK;
    // The identity a paced sync checks its descriptor against, taken now: this file's, as long
    // as nothing replaced the path since SQLite opened it.
    struct stat st;
    if (m->path == nullptr || ::stat(m->path, &st) != 0) return SQLITE_IOERR;
    m->written = new (std::nothrow) std::vector<std::pair<sqlite3_int64, int>>();
    if (m->written == nullptr) return SQLITE_NOMEM;
    m->overflowed = false;
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    return SQLITE_OK;
  }
  return R(f)->pMethods->xFileControl(R(f), op, arg);
}
int MainSectorSize(sqlite3_file* f) { return R(f)->pMethods->xSectorSize(R(f)); }
int MainDeviceCharacteristics(sqlite3_file* f) { return R(f)->pMethods->xDeviceCharacteristics(R(f)); }
int MainShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return R(f)->pMethods->xShmMap(R(f), region, size, extend, out);
}
int MainShmLock(sqlite3_file* f, int offset, int n, int flags) {
  MainFile* m = Main(f);
  // Slot 0 is WAL_WRITE_LOCK (wal.c); its exclusive unlock ends the connection's write transaction.
  const bool write_lock = offset == 0 && (flags & SQLITE_SHM_EXCLUSIVE) != 0;
  if (write_lock && (flags & SQLITE_SHM_UNLOCK) != 0) {
    m->write_locked = false;
    if (m->wal != nullptr) Discard(m->wal);
  }
  const int rc = R(f)->pMethods->xShmLock(R(f), offset, n, flags);
  if (write_lock && (flags & SQLITE_SHM_LOCK) != 0 && rc == SQLITE_OK) m->write_locked = true;
  return rc;
}
void MainShmBarrier(sqlite3_file* f) { R(f)->pMethods->xShmBarrier(R(f)); }
int MainShmUnmap(sqlite3_file* f, int remove) { return R(f)->pMethods->xShmUnmap(R(f), remove); }
int MainFetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) { return R(f)->pMethods->xFetch(R(f), off, n, out); }
int MainUnfetch(sqlite3_file* f, sqlite3_int64 off, void* page) { return R(f)->pMethods->xUnfetch(R(f), off, page); }

const sqlite3_io_methods kMainMethods = {
    3,
    MainClose,
    MainRead,
    MainWrite,
    MainTruncate,
    MainSync,
    MainFileSize,
    MainLock,
    MainUnlock,
    MainCheckReservedLock,
    MainFileControl,
    MainSectorSize,
    MainDeviceCharacteristics,
    MainShmMap,
    MainShmLock,
    MainShmBarrier,
    MainShmUnmap,
    MainFetch,
    MainUnfetch,
};

int VfsOpen(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* real = Real(vfs);
  if ((flags & SQLITE_OPEN_MAIN_DB) != 0) {
    MainFile* m = Main(file);
    m->base.pMethods = nullptr;
    m->real = RealOf(file);
    m->wal = nullptr;
    m->write_locked = false;
    m->written = nullptr;
    m->overflowed = false;
    m->path = name;
    m->pace_fd = -1;
    m->dev = 0;
    m->ino = 0;
    const int rc = real->xOpen(real, name, m->real, flags, out_flags);
    if (rc != SQLITE_OK) return rc;  // the default VFS leaves no methods set on failure
    // The default VFS's methods are version 3 (shared memory and memory maps) on Linux; with
    // an older one the file is used as it is, unwrapped (and its WAL is not buffered).
    if (m->real->pMethods->iVersion < 3) {
      m->real->pMethods->xClose(m->real);
      return real->xOpen(real, name, file, flags, out_flags);
    }
    m->base.pMethods = &kMainMethods;
    return SQLITE_OK;
  }
  if ((flags & SQLITE_OPEN_WAL) == 0) return real->xOpen(real, name, file, flags, out_flags);
  WalFile* f = Wal(file);
  f->base.pMethods = nullptr;
  f->real = RealOf(file);
  const int rc = real->xOpen(real, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // The default VFS may have set its methods on failure; SQLite then calls our xClose only
    // if ours are set, so close theirs here.
    if (f->real->pMethods != nullptr) f->real->pMethods->xClose(f->real);
    return rc;
  }
  f->buffer = new (std::nothrow) std::string();
  if (f->buffer == nullptr) {
    f->real->pMethods->xClose(f->real);
    return SQLITE_NOMEM;
  }
  f->buffer_offset = 0;
  f->commit_header = false;
  // The buffer must end with the connection's write transaction: the database file (opened
  // first, by this VFS) learns which WAL is its own. Not wrapped (an old default VFS): the WAL
  // is passed through.
  // Nor is it buffered when the database file lacks powersafe overwrite (wal.c decides from the
  // database file's characteristics, e.g. a `psow=0` URI): SQLite then pads a commit to the
  // sector with copies of its last frame and syncs in the middle of one, and publishes frames
  // that are not behind a commit header.
  f->main = nullptr;
  f->pass_through = true;
  sqlite3_file* db = sqlite3_database_file_object(name);
  if (db != nullptr && db->pMethods == &kMainMethods) {
    f->main = Main(db);
    f->main->wal = f;
    f->pass_through = (db->pMethods->xDeviceCharacteristics(db) & SQLITE_IOCAP_POWERSAFE_OVERWRITE) == 0;
  }
  f->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

int VfsDelete(sqlite3_vfs* vfs, const char* name, int sync_dir) { return Real(vfs)->xDelete(Real(vfs), name, sync_dir); }
int VfsAccess(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Real(vfs)->xAccess(Real(vfs), name, flags, out);
}
int VfsFullPathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
  return Real(vfs)->xFullPathname(Real(vfs), name, size, out);
}
void* VfsDlOpen(sqlite3_vfs* vfs, const char* name) { return Real(vfs)->xDlOpen(Real(vfs), name); }
void VfsDlError(sqlite3_vfs* vfs, int size, char* out) { Real(vfs)->xDlError(Real(vfs), size, out); }
void (*VfsDlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Real(vfs)->xDlSym(Real(vfs), handle, symbol);
}
void VfsDlClose(sqlite3_vfs* vfs, void* handle) { Real(vfs)->xDlClose(Real(vfs), handle); }
int VfsRandomness(sqlite3_vfs* vfs, int size, char* out) { return Real(vfs)->xRandomness(Real(vfs), size, out); }
int VfsSleep(sqlite3_vfs* vfs, int micros) { return Real(vfs)->xSleep(Real(vfs), micros); }
int VfsCurrentTime(sqlite3_vfs* vfs, double* out) { return Real(vfs)->xCurrentTime(Real(vfs), out); }
int VfsGetLastError(sqlite3_vfs* vfs, int size, char* out) { return Real(vfs)->xGetLastError(Real(vfs), size, out); }
int VfsCurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Real(vfs)->xCurrentTimeInt64(Real(vfs), out);
}
int VfsSetSystemCall(sqlite3_vfs* vfs, const char* name, sqlite3_syscall_ptr call) {
  return Real(vfs)->xSetSystemCall(Real(vfs), name, call);
}
sqlite3_syscall_ptr VfsGetSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Real(vfs)->xGetSystemCall(Real(vfs), name);
}
const char* VfsNextSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Real(vfs)->xNextSystemCall(Real(vfs), name);
}

constexpr const char kVfsName[] = "reach-wal-batch";

}  // namespace

const char* WalBatchingVfsName() {
  static std::once_flag once;
  static sqlite3_vfs vfs;
  std::call_once(once, [] {
    sqlite3_initialize();
    sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
    // The default VFS on Linux is "unix" (version 3); anything older is used as it is.
    if (real == nullptr || real->iVersion < 3) return;
    vfs = *real;
    vfs.szOsFile = static_cast<int>(kPrefixBytes + static_cast<size_t>(real->szOsFile));
    vfs.pNext = nullptr;
    vfs.zName = kVfsName;
    vfs.pAppData = real;
    vfs.xOpen = VfsOpen;
    vfs.xDelete = VfsDelete;
    vfs.xAccess = VfsAccess;
    vfs.xFullPathname = VfsFullPathname;
    vfs.xDlOpen = VfsDlOpen;
    vfs.xDlError = VfsDlError;
    vfs.xDlSym = VfsDlSym;
    vfs.xDlClose = VfsDlClose;
    vfs.xRandomness = VfsRandomness;
    vfs.xSleep = VfsSleep;
    vfs.xCurrentTime = VfsCurrentTime;
    vfs.xGetLastError = VfsGetLastError;
    vfs.xCurrentTimeInt64 = VfsCurrentTimeInt64;
    vfs.xSetSystemCall = VfsSetSystemCall;
    vfs.xGetSystemCall = VfsGetSystemCall;
    vfs.xNextSystemCall = VfsNextSystemCall;
    sqlite3_vfs_register(&vfs, 0);
  });
  // nullptr (the default VFS) when it could not be wrapped.
  return vfs.zName;
}

bool EnablePacedSyncs(sqlite3* db) {
  int on = 1;
  return sqlite3_file_control(db, "main", kPaceSyncsFileControl, &on) == SQLITE_OK;
}

WalVfsCounters WalVfsCountersNow() {
  WalVfsCounters counters;
  counters.writes = g_writes.load(std::memory_order_relaxed);
  counters.bytes = g_bytes.load(std::memory_order_relaxed);
  counters.paced_steps = g_paced_steps.load(std::memory_order_relaxed);
  return counters;
}

}  // namespace reach::storage
