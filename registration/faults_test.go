package registration

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestDiskFullAndReadOnly: when the database cannot take writes, sign-ups
// fail with ErrUnavailable (503 at the edge), reads go on, nothing is half
// written, and it recovers by itself when the fault ends.
func TestDiskFullAndReadOnly(t *testing.T) {
	ctx := context.Background()
	for _, fault := range []struct {
		name, on, off string
	}{
		// max_page_count at the current size is a full disk to SQLite (SQLITE_FULL).
		{"disk full", "PRAGMA max_page_count = %d", "PRAGMA max_page_count = 4294967294"},
		{"read-only", "PRAGMA query_only = 1", "PRAGMA query_only = 0"},
	} {
		t.Run(fault.name, func(t *testing.T) {
			clock := newTestClock(t0)
			svc := newSQLiteService(t, clock)
			e := mustEvent(t, svc, map[string]any{"slug": "fault", "capacity": 100})
			for i := range 3 {
				if _, err := signup(svc, "fault", fmt.Sprintf("before%d@example.com", i)); err != nil {
					t.Fatal(err)
				}
			}
			var pages int
			if err := svc.store.w.GetContext(ctx, &pages, "PRAGMA page_count"); err != nil {
				t.Fatal(err)
			}
			on := fault.on
			if fault.name == "disk full" {
				on = fmt.Sprintf(on, pages)
			}
			if _, err := svc.store.w.ExecContext(ctx, on); err != nil {
				t.Fatal(err)
			}
			// Enough sign-ups at once to need new pages, through group commit.
			errs := make(chan error, 200)
			for i := range 200 {
				go func() {
					_, err := svc.Signup(ctx, "fault", SignupInput{Name: "During", Email: fmt.Sprintf("during%d-with-a-long-address-to-fill-pages@example.com", i)}, "")
					errs <- err
				}()
			}
			failed := 0
			for range 200 {
				if err := <-errs; err != nil {
					if !errors.Is(err, ErrUnavailable) {
						t.Fatalf("sign-up failed with %v, want ErrUnavailable", err)
					}
					failed++
				}
			}
			if failed == 0 {
				t.Fatalf("no sign-up failed under the fault")
			}
			// Reads keep working, and the rows agree with the counters.
			got, err := svc.Event(ctx, "fault")
			if err != nil {
				t.Fatalf("read under the fault: %v", err)
			}
			counts, err := svc.Store().Counts(ctx, e.ID)
			if err != nil || counts.Confirmed != got.Confirmed || counts.Confirmed != 3+200-failed {
				t.Fatalf("counts %+v, counter %d, failed %d, err %v", counts, got.Confirmed, failed, err)
			}
			if _, err := svc.store.w.ExecContext(ctx, fault.off); err != nil {
				t.Fatal(err)
			}
			if _, err := signup(svc, "fault", "after@example.com"); err != nil {
				t.Fatalf("after the fault: %v", err)
			}
			var check string
			if err := svc.store.r.GetContext(ctx, &check, "PRAGMA integrity_check"); err != nil || check != "ok" {
				t.Fatalf("integrity_check %q %v", check, err)
			}
		})
	}
}
