package registration

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWALBufferCommitIsDurable: when a sign-up is answered, its frames are
// not only in the log but on the disk: the fsync that ended the commit came
// after the buffer was passed down, so none of the log's pages is still dirty
// or being written back (cachestat(2) reads that from the page cache).
func TestWALBufferCommitIsDurable(t *testing.T) {
	dir := t.TempDir()
	dirtyPages := func(path string) uint64 {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var st unix.Cachestat_t
		if err := unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{}, &st, 0); err != nil {
			t.Skipf("cachestat: %v", err)
		}
		return st.Dirty + st.Writeback
	}
	// The check means something only where an fsync leaves pages clean.
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, make([]byte, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(probe, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if n := dirtyPages(probe); n != 0 {
		t.Skipf("%d pages dirty right after an fsync on this file system", n)
	}

	clock := newTestClock(t0)
	store := openTestStore(t, filepath.Join(dir, "test.db"))
	svc := newTestService(t, store, clock)
	mustEvent(t, svc, map[string]any{"slug": "durable"})
	wal := filepath.Join(dir, "test.db-wal")
	for i := range 20 {
		if _, err := signup(svc, "durable", fmt.Sprintf("one%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
		if n := dirtyPages(wal); n != 0 {
			t.Fatalf("sign-up %d answered with %d pages of the log not yet on disk", i, n)
		}
	}
	// Many at once: batches of the group commit.
	for round := range 5 {
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := range 100 {
			wg.Go(func() {
				if _, err := signup(svc, "durable", fmt.Sprintf("many%d-%d@example.com", round, i)); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if n := dirtyPages(wal); n != 0 {
			t.Fatalf("round %d: 100 sign-ups answered with %d pages of the log not yet on disk", round, n)
		}
	}
}
