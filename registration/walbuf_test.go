package registration

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The writer's log goes through walbuf.c: its writes are gathered and passed
// down in a few large ones, and every commit is in the file when it returns,
// whatever else reads the database at the time.

// TestWALBufferGathersWrites: a commit of many pages reaches the log in a few
// writes, not two per page.
func TestWALBufferGathersWrites(t *testing.T) {
	ctx := context.Background()
	logs0, _, _ := walbufCounts()
	store := openTestStore(t, filepath.Join(t.TempDir(), "test.db"))
	if logs, _, _ := walbufCounts(); logs == logs0 {
		t.Fatalf("the writer did not open its log through %q (%q)", "eventreg-walbuf", walbufVFS)
	}
	if _, err := store.w.ExecContext(ctx, `CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB)`); err != nil {
		t.Fatal(err)
	}
	_, taken0, passed0 := walbufCounts()
	// 300 rows of 2,000 bytes: about 150 new pages in one commit.
	if _, err := store.w.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 300)
		INSERT INTO filler (body) SELECT randomblob(2000) FROM n`); err != nil {
		t.Fatal(err)
	}
	_, taken, passed := walbufCounts()
	taken, passed = taken-taken0, passed-passed0
	if taken < 300 || passed == 0 || passed*20 > taken {
		t.Fatalf("SQLite wrote %d times to the log, %d writes went down; want at least 300 and under a twentieth", taken, passed)
	}
}

// TestWALBufferCommitIsInTheFile: the moment a commit returns, the files hold
// it: a copy taken then, as a power cut would leave them once the disk has
// what the fsync sent, opens with every row, in small and large commits
// (the latter pass the 4 MiB buffer and the 120 KiB pieces).
func TestWALBufferCommitIsInTheFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store := openTestStore(t, filepath.Join(dir, "test.db"))
	if _, err := store.w.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0; CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB)`); err != nil {
		t.Fatal(err)
	}
	want := 0
	for i, rows := range []int{1, 7, 64, 3000} { // 3,000 × 2,000 bytes: about 6 MiB of log
		if _, err := store.w.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
			INSERT INTO filler (body) SELECT randomblob(2000) FROM n`, rows); err != nil {
			t.Fatal(err)
		}
		want += rows
		copyDir := filepath.Join(dir, fmt.Sprintf("copy%d", i))
		if err := os.Mkdir(copyDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"test.db", "test.db-wal"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(copyDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		db, err := sql.Open("sqlite3", filepath.Join(copyDir, "test.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		var n int
		var check string
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM filler`).Scan(&n); err != nil || n != want {
			t.Fatalf("after a commit of %d rows the copy holds %d of %d (%v)", rows, n, want, err)
		}
		if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("copy after a commit of %d rows: integrity_check %q (%v)", rows, check, err)
		}
	}
}

// TestWALBufferReadersSeeCommits: readers on their own connections see each
// commit as soon as it returns and never a torn page, with the writer at
// synchronous=FULL (the log is passed down at the fsync) and at NORMAL (no
// fsync: at the barrier before the commit is published).
func TestWALBufferReadersSeeCommits(t *testing.T) {
	for _, mode := range []string{"FULL", "NORMAL"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			store := openTestStore(t, filepath.Join(t.TempDir(), "test.db"))
			if _, err := store.w.ExecContext(ctx, `PRAGMA synchronous = `+mode+`; CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB)`); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			stop := make(chan struct{})
			errs := make(chan error, 4)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					last := 0
					for {
						select {
						case <-stop:
							return
						default:
						}
						var n int
						var sum int64
						if err := store.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(length(body)), 0) FROM filler`).Scan(&n, &sum); err != nil {
							errs <- err
							return
						}
						if n < last || sum != int64(n)*1000 {
							errs <- fmt.Errorf("reader saw %d rows (%d before) of %d bytes", n, last, sum)
							return
						}
						last = n
					}
				}()
			}
			for i := range 200 {
				if _, err := store.w.ExecContext(ctx, `INSERT INTO filler (body) VALUES (randomblob(1000))`); err != nil {
					t.Fatal(err)
				}
				var n int
				if err := store.r.QueryRowContext(ctx, `SELECT count(*) FROM filler`).Scan(&n); err != nil || n != i+1 {
					t.Fatalf("after commit %d a reader sees %d rows (%v)", i+1, n, err)
				}
			}
			close(stop)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			var check string
			if err := store.r.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
				t.Fatalf("integrity_check %q (%v)", check, err)
			}
		})
	}
}
