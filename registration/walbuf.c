/*
** eventreg-walbuf: the default VFS with the writes to a write-ahead log
** gathered into one write per run of frames.
**
** SQLite writes each WAL frame with two calls (its 24-byte header, then the
** page), so a commit of 80 pages is 160 pwrite(2) calls before its fsync.
** Through this VFS the frames of a commit stay in a buffer and reach the file
** in one write per 120 KiB, at the latest when SQLite next touches the log in
** any other way: the fsync that ends a commit under synchronous=FULL, a read,
** a size, a truncate, a close. The fsync therefore covers every frame of the
** commit, and a commit is published to other connections in the shared-memory
** index after its fsync, so they never see a frame that is still buffered.
** Under a weaker synchronous setting, where no fsync ends the commit, the
** memory barrier before the index is published passes the log down instead
** (a failed write there cannot be reported: eventreg's writer runs FULL).
*/
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "walbuf.h"

#define WALBUF_NAME "eventreg-walbuf"
#define WALBUF_MAX (4 << 20)  /* pass the buffer down before it would grow past this */
#define WALBUF_KEEP (1 << 20) /* and give back a buffer larger than this at an fsync */

typedef struct walbufFile walbufFile;
struct walbufFile {
  sqlite3_file base;  /* pMethods is &walbufMethods */
  sqlite3_file *real; /* the default VFS's file, right after this struct */
  int isWal;
  /* a log: the writes not passed down yet, one contiguous run from off */
  char *buf;
  int len, cap;
  sqlite3_int64 off;
  /* a main database: its open log; a log: its main database */
  walbufFile *peer;
  /* a main database: the name SQLite opened it by, and the next open one */
  const char *name;
  walbufFile *next;
};

static sqlite3_vfs *below;
static sqlite3_vfs walbufVfs;
/* logs opened through this VFS, writes SQLite made to them, writes passed down */
static unsigned long long nLogs, nTaken, nPassed;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* guards dbs and peer links */
static walbufFile *dbs;

/* The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the
** length with 0x1ffff), so the buffer goes down in pieces of 120 KiB. */
#define WALBUF_PIECE (120 << 10)

static int flush(walbufFile *p) {
  int n = p->len;
  p->len = 0;
  for (int at = 0; at < n; at += WALBUF_PIECE) {
    int k = n - at < WALBUF_PIECE ? n - at : WALBUF_PIECE;
    __atomic_fetch_add(&nPassed, 1, __ATOMIC_RELAXED);
    int rc = p->real->pMethods->xWrite(p->real, p->buf + at, k, p->off + at);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

#define REAL(f) (((walbufFile *)(f))->real)
#define FLUSHED(f)                                    \
  do {                                                \
    walbufFile *p_ = (walbufFile *)(f);               \
    if (p_->isWal && p_->len) {                       \
      int rc_ = flush(p_);                            \
      if (rc_ != SQLITE_OK) return rc_;               \
    }                                                 \
  } while (0)

static int wbClose(sqlite3_file *f) {
  walbufFile *p = (walbufFile *)f;
  int rc = p->isWal ? flush(p) : SQLITE_OK;
  pthread_mutex_lock(&mu);
  if (p->peer) p->peer->peer = 0;
  p->peer = 0;
  if (!p->isWal) {
    for (walbufFile **q = &dbs; *q; q = &(*q)->next) {
      if (*q == p) {
        *q = p->next;
        break;
      }
    }
  }
  pthread_mutex_unlock(&mu);
  free(p->buf);
  p->buf = 0;
  int rc2 = p->real->pMethods->xClose(p->real);
  return rc != SQLITE_OK ? rc : rc2;
}

static int wbRead(sqlite3_file *f, void *z, int n, sqlite3_int64 off) {
  FLUSHED(f);
  return REAL(f)->pMethods->xRead(REAL(f), z, n, off);
}

static int wbWrite(sqlite3_file *f, const void *z, int n, sqlite3_int64 off) {
  walbufFile *p = (walbufFile *)f;
  if (!p->isWal) return p->real->pMethods->xWrite(p->real, z, n, off);
  __atomic_fetch_add(&nTaken, 1, __ATOMIC_RELAXED);
  if (p->len && (off != p->off + p->len || p->len + n > WALBUF_MAX)) {
    int rc = flush(p);
    if (rc != SQLITE_OK) return rc;
  }
  if (p->len + n > p->cap) {
    int cap = p->cap ? p->cap : 64 << 10;
    while (cap < p->len + n && cap < WALBUF_MAX) cap *= 2;
    char *b = cap >= p->len + n ? realloc(p->buf, cap) : 0;
    if (!b) { /* too large to buffer, or no memory: write it through */
      int rc = flush(p);
      if (rc != SQLITE_OK) return rc;
      __atomic_fetch_add(&nPassed, 1, __ATOMIC_RELAXED);
      return p->real->pMethods->xWrite(p->real, z, n, off);
    }
    p->buf = b;
    p->cap = cap;
  }
  if (p->len == 0) p->off = off;
  memcpy(p->buf + p->len, z, n);
  p->len += n;
  return SQLITE_OK;
}

static int wbTruncate(sqlite3_file *f, sqlite3_int64 size) {
  FLUSHED(f);
  return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int wbSync(sqlite3_file *f, int flags) {
  FLUSHED(f);
  walbufFile *p = (walbufFile *)f;
  if (p->cap > WALBUF_KEEP) { /* a large transaction's buffer is not kept for the small ones */
    free(p->buf);
    p->buf = 0;
    p->cap = 0;
  }
  return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int wbFileSize(sqlite3_file *f, sqlite3_int64 *size) {
  FLUSHED(f);
  return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int wbLock(sqlite3_file *f, int level) {
  FLUSHED(f);
  return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int wbUnlock(sqlite3_file *f, int level) {
  FLUSHED(f);
  return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int wbCheckReservedLock(sqlite3_file *f, int *out) {
  return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int wbFileControl(sqlite3_file *f, int op, void *arg) {
  FLUSHED(f);
  return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int wbSectorSize(sqlite3_file *f) {
  return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int wbDeviceCharacteristics(sqlite3_file *f) {
  return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int wbShmMap(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp) {
  return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int wbShmLock(sqlite3_file *f, int offset, int n, int flags) {
  return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

/* The barrier comes before SQLite publishes a commit in the index: the
** log's frames must be in the file by then. The log is this connection's,
** used by one thread at a time with its database, so no lock is needed. */
static void wbShmBarrier(sqlite3_file *f) {
  walbufFile *p = (walbufFile *)f;
  if (p->peer && p->peer->len) flush(p->peer);
  p->real->pMethods->xShmBarrier(p->real);
}

static int wbShmUnmap(sqlite3_file *f, int deleteFlag) {
  return REAL(f)->pMethods->xShmUnmap(REAL(f), deleteFlag);
}

static int wbFetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp) {
  return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}

static int wbUnfetch(sqlite3_file *f, sqlite3_int64 off, void *pp) {
  return REAL(f)->pMethods->xUnfetch(REAL(f), off, pp);
}

static const sqlite3_io_methods walbufMethods = {
    3,
    wbClose,
    wbRead,
    wbWrite,
    wbTruncate,
    wbSync,
    wbFileSize,
    wbLock,
    wbUnlock,
    wbCheckReservedLock,
    wbFileControl,
    wbSectorSize,
    wbDeviceCharacteristics,
    wbShmMap,
    wbShmLock,
    wbShmBarrier,
    wbShmUnmap,
    wbFetch,
    wbUnfetch,
};

/* Main databases and logs are wrapped; journals and temporary files go to
** the default VFS as they are, in the same (larger) allocation. */
static int wbOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *outFlags) {
  (void)vfs;
  if (!(flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL))) return below->xOpen(below, name, f, flags, outFlags);
  walbufFile *p = (walbufFile *)f;
  memset(p, 0, sizeof *p);
  p->real = (sqlite3_file *)&p[1];
  int rc = below->xOpen(below, name, p->real, flags, outFlags);
  if (rc != SQLITE_OK) {
    if (p->real->pMethods) p->real->pMethods->xClose(p->real);
    return rc;
  }
  if (p->real->pMethods->iVersion < 3) { /* no shared memory: nothing to wrap for */
    p->real->pMethods->xClose(p->real);
    return SQLITE_IOERR;
  }
  p->base.pMethods = &walbufMethods;
  pthread_mutex_lock(&mu);
  if (flags & SQLITE_OPEN_WAL) {
    p->isWal = 1;
    __atomic_fetch_add(&nLogs, 1, __ATOMIC_RELAXED);
    const char *db = sqlite3_filename_database(name);
    for (walbufFile *d = dbs; d; d = d->next) {
      if (d->name == db) {
        d->peer = p;
        p->peer = d;
        break;
      }
    }
  } else {
    p->name = name;
    p->next = dbs;
    dbs = p;
  }
  pthread_mutex_unlock(&mu);
  return SQLITE_OK;
}

int walbuf_register(void) {
  if (below) return SQLITE_OK;
  sqlite3_vfs *dflt = sqlite3_vfs_find(0);
  if (!dflt) return SQLITE_IOERR;
  below = dflt;
  walbufVfs = *dflt;
  walbufVfs.pNext = 0;
  walbufVfs.zName = WALBUF_NAME;
  walbufVfs.szOsFile = (int)sizeof(walbufFile) + dflt->szOsFile;
  walbufVfs.xOpen = wbOpen;
  return sqlite3_vfs_register(&walbufVfs, 0);
}

void walbuf_counts(unsigned long long *logs, unsigned long long *taken, unsigned long long *passed) {
  *logs = __atomic_load_n(&nLogs, __ATOMIC_RELAXED);
  *taken = __atomic_load_n(&nTaken, __ATOMIC_RELAXED);
  *passed = __atomic_load_n(&nPassed, __ATOMIC_RELAXED);
}
