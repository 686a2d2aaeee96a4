package registration

// The store suite: one function, run against SQLite always and against
// PostgreSQL when EVENTREG_TEST_POSTGRES holds a URL (see testdb_test.go).
// Each engine gets one fresh database shared by the subtests, which use
// their own events.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"
)

func TestStore(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		store := open()
		// A clock off the microsecond: both engines keep microseconds.
		clock := newTestClock(t0.Add(123456789 * time.Nanosecond))
		svc := newTestService(t, store, clock)

		t.Run("ready", func(t *testing.T) {
			if err := store.Ready(ctx); err != nil {
				t.Fatal(err)
			}
			if err := store.Migrate(ctx); err != nil {
				t.Fatalf("migrating twice: %v", err)
			}
		})

		t.Run("events", func(t *testing.T) {
			e := mustEvent(t, svc, map[string]any{"slug": "ev-one", "title": "第一场 webinar", "capacity": 0,
				"waitlist": false, "kind": "online_summit", "state": "draft"})
			if e.ID == 0 {
				t.Fatal("no id")
			}
			_, err := svc.CreateEvent(ctx, rawFields(t, map[string]any{"slug": "ev-one", "kind": "webinar", "title": "Again"}))
			if !errors.Is(err, ErrSlugTaken) {
				t.Fatalf("taken slug: %v", err)
			}
			// Generated slugs step aside for taken ones.
			a := mustEvent(t, svc, map[string]any{"title": "Same Title"})
			b := mustEvent(t, svc, map[string]any{"title": "Same Title"})
			if a.Slug != "same-title" || b.Slug == a.Slug || !strings.HasPrefix(b.Slug, "same-title-") {
				t.Errorf("generated slugs %q %q", a.Slug, b.Slug)
			}
			got, err := store.EventBySlug(ctx, "ev-one")
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != "第一场 webinar" || got.Capacity == nil || *got.Capacity != 0 || got.Waitlist ||
				got.Kind != KindOnlineSummit || got.State != StateDraft || got.StartsAt != nil ||
				fmt.Sprint(got.Reminders) != fmt.Sprint(Durations{24 * time.Hour, time.Hour}) {
				t.Errorf("read back %+v", got)
			}
			if _, err := store.EventBySlug(ctx, "no-such-event"); !errors.Is(err, ErrNotFound) {
				t.Errorf("missing event: %v", err)
			}
			up, err := svc.UpdateEvent(ctx, "ev-one", rawFields(t, map[string]any{"capacity": nil, "waitlist": true,
				"reminders": []string{"1h30m"}, "slug": "ev-uno", "state": "published"}))
			if err != nil {
				t.Fatal(err)
			}
			if up.Slug != "ev-uno" || up.Capacity != nil || !up.Waitlist || fmt.Sprint(up.Reminders) != "[1h30m0s]" {
				t.Errorf("updated %+v", up)
			}
			if _, err := svc.UpdateEvent(ctx, "ev-uno", rawFields(t, map[string]any{"slug": a.Slug})); !errors.Is(err, ErrSlugTaken) {
				t.Errorf("renamed onto a taken slug: %v", err)
			}
			list, err := store.Events(ctx, EventFilter{PublishedOnly: true, Kinds: []string{KindOnlineSummit, KindOffer}})
			if err != nil || len(list) != 1 || list[0].Slug != "ev-uno" {
				t.Errorf("filtered list: %v %v", list, err)
			}
			all, err := store.Events(ctx, EventFilter{})
			if err != nil || len(all) < 3 {
				t.Errorf("list: %d %v", len(all), err)
			}
		})

		t.Run("times round-trip in UTC to the microsecond", func(t *testing.T) {
			e := mustEvent(t, svc, map[string]any{"slug": "times",
				"starts_at": "2026-01-03T16:00:00.654321+08:00", "ends_at": "2026-01-03T17:30:00+08:00"})
			got, err := store.EventBySlug(ctx, "times")
			if err != nil {
				t.Fatal(err)
			}
			want := time.Date(2026, 1, 3, 8, 0, 0, 654321000, time.UTC)
			for name, tm := range map[string]time.Time{"starts_at": *got.StartsAt, "created_at": got.CreatedAt,
				"registration_opens_at": got.RegistrationOpensAt} {
				if tm.Location() != time.UTC {
					t.Errorf("%s in %v", name, tm.Location())
				}
			}
			if !got.StartsAt.Equal(want) || !got.CreatedAt.Equal(svc.clock()) || got.CreatedAt.Nanosecond() != 123456000 ||
				!got.CreatedAt.Equal(e.CreatedAt) {
				t.Errorf("starts %v created %v, want %v and %v", got.StartsAt, got.CreatedAt, want, svc.clock())
			}
			res, err := svc.Signup(ctx, "times", SignupInput{Name: "T", Email: "t@example.com", Consent: true}, "")
			if err != nil {
				t.Fatal(err)
			}
			r, err := store.RegistrationByID(ctx, res.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !r.CreatedAt.Equal(svc.clock()) || r.CreatedAt.Location() != time.UTC || r.ConfirmedAt == nil ||
				!r.ConfirmedAt.Equal(r.CreatedAt) || r.CancelledAt != nil || !r.Consent || r.RemindersOff {
				t.Errorf("registration %+v", r)
			}
			if _, _, err := svc.Unsubscribe(ctx, res.Token); err != nil {
				t.Fatal(err)
			}
			if r, _ = store.RegistrationByID(ctx, res.ID); !r.RemindersOff {
				t.Error("reminders_off not stored")
			}
			times, err := store.SignupTimes(ctx, e.ID)
			if err != nil || len(times) != 1 || !times[0].Equal(r.CreatedAt) {
				t.Errorf("sign-up times %v %v", times, err)
			}
		})

		t.Run("registrations: paging, filter, search", func(t *testing.T) {
			e := mustEvent(t, svc, map[string]any{"slug": "regs", "capacity": 5})
			people := []SignupInput{
				{Name: "张伟", Email: "zhang.wei@example.cn", Company: "村田製作所"},
				{Name: "Alice Smith", Email: "alice@example.com", Company: "Allegro"},
				{Name: "Bob 100% Real", Email: "bob@example.com", Company: "onsemi"},
				{Name: "Carol_Jones", Email: "carol@example.com", Company: "OFweek"},
				{Name: "Dave", Email: "dave_x@example.com", Company: "100 percent"},
				{Name: "李娜", Email: "li.na@example.cn", Company: "安森美"},
				{Name: "Eve", Email: "eve@example.com", Company: `back\slash`},
			}
			ids := make([]int64, len(people))
			for i, p := range people {
				clock.Add(time.Minute) // each row its own times, for the export below
				res, err := svc.Signup(ctx, "regs", p, "")
				if err != nil {
					t.Fatal(err)
				}
				ids[i] = res.ID
			}
			// Paging by cursor: three pages of 3, 3 and 1, in sign-up order.
			pages := func(limit int) []int64 {
				t.Helper()
				var seen []int64
				for after := int64(0); ; {
					items, total, err := store.Registrations(ctx, RegistrationFilter{EventID: e.ID, AfterID: after, Limit: limit})
					if err != nil {
						t.Fatal(err)
					}
					if total != len(people) {
						t.Errorf("total %d", total)
					}
					if len(items) == 0 {
						return seen
					}
					for _, r := range items {
						seen = append(seen, r.ID)
					}
					after = items[len(items)-1].ID
				}
			}
			if seen := pages(3); fmt.Sprint(seen) != fmt.Sprint(ids) {
				t.Errorf("pages %v, want %v", seen, ids)
			}
			search := func(f RegistrationFilter) []string {
				t.Helper()
				f.EventID, f.Limit = e.ID, 100
				items, total, err := store.Registrations(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if total != len(items) {
					t.Errorf("%+v: total %d for %d items", f, total, len(items))
				}
				var names []string
				for _, r := range items {
					names = append(names, r.Name)
				}
				return names
			}
			for _, c := range []struct {
				q    string
				want string
			}{
				{"张", "[张伟]"},
				{"安森", "[李娜]"},
				{"ALICE", "[Alice Smith]"},   // name and email, case-insensitively
				{"example.cn", "[张伟 李娜]"},    // email
				{"allegro", "[Alice Smith]"}, // company
				{"%", "[Bob 100% Real]"},     // a literal %, not "anything"
				{"_", "[Carol_Jones Dave]"},  // a literal _, not "any one character"
				{"100%", "[Bob 100% Real]"},
				{`\`, "[Eve]"},
				{"nobody", "[]"},
			} {
				if got := fmt.Sprint(search(RegistrationFilter{Query: c.q})); got != c.want {
					t.Errorf("search %q: %s, want %s", c.q, got, c.want)
				}
			}
			if got := fmt.Sprint(search(RegistrationFilter{Status: RegWaitlisted})); got != "[李娜 Eve]" {
				t.Errorf("waitlisted: %s", got)
			}
			if got := fmt.Sprint(search(RegistrationFilter{Status: RegConfirmed, Query: "example.com"})); got != "[Alice Smith Bob 100% Real Carol_Jones Dave]" {
				t.Errorf("confirmed matching example.com: %s", got)
			}

			var each []string
			err := store.EachRegistration(ctx, RegistrationFilter{EventID: e.ID, Query: "example.cn"}, func(r *Registration) error {
				each = append(each, r.Name+"/"+r.Status)
				return nil
			})
			if err != nil || fmt.Sprint(each) != "[张伟/confirmed 李娜/waitlisted]" {
				t.Errorf("each: %v %v", each, err)
			}
			stop := errors.New("stop")
			n := 0
			err = store.EachRegistration(ctx, RegistrationFilter{EventID: e.ID}, func(*Registration) error { n++; return stop })
			if !errors.Is(err, stop) || n != 1 {
				t.Errorf("stopping: %v after %d", err, n)
			}

			// Counts follow check-in, join and cancel.
			if _, err := svc.CheckIn(ctx, "regs", ids[0], true); err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.CancelRegistration(ctx, "regs", ids[1]); err != nil {
				t.Fatal(err)
			}
			c, err := store.Counts(ctx, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if c != (Counts{Confirmed: 5, Waitlisted: 1, Cancelled: 1, CheckedIn: 1}) {
				t.Errorf("counts %+v", c)
			}
			r, err := store.RegistrationByID(ctx, ids[6])
			if err != nil || r.Status != RegWaitlisted || r.WaitlistPosition != 1 {
				t.Errorf("last in the queue: %+v %v", r, err)
			}
			if _, err := store.RegistrationByID(ctx, 1<<40); !errors.Is(err, ErrNotFound) {
				t.Errorf("missing registration: %v", err)
			}
			empty, err := store.Counts(ctx, 1<<40)
			if err != nil || empty != (Counts{}) {
				t.Errorf("counts of nothing: %+v %v", empty, err)
			}

			// Now confirmed, cancelled (ids[1]) and waitlisted rows interleave:
			// pages and the export still come in sign-up order, each row whole.
			if seen := pages(2); fmt.Sprint(seen) != fmt.Sprint(ids) {
				t.Errorf("pages after a cancel: %v, want %v", seen, ids)
			}
			var exported []*Registration
			err = store.EachRegistration(ctx, RegistrationFilter{EventID: e.ID}, func(r *Registration) error {
				exported = append(exported, keepRegistration(r))
				return nil
			})
			if err != nil || len(exported) != len(ids) {
				t.Fatalf("export: %d rows, %v", len(exported), err)
			}
			for i, got := range exported {
				want, err := store.RegistrationByID(ctx, ids[i])
				if err != nil {
					t.Fatal(err)
				}
				// What an export does not show is left out of its read.
				want.WaitlistPosition, want.EmailNorm, want.UpdatedAt, want.NotifiedAt = 0, "", time.Time{}, nil
				if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", *want) {
					t.Errorf("exported row %d:\n got %+v\nwant %+v", i, *got, *want)
				}
			}
		})

		t.Run("idempotency keys", func(t *testing.T) {
			mustEvent(t, svc, map[string]any{"slug": "idem"})
			in := SignupInput{Name: "Idem", Email: "idem@example.com"}
			first, err := svc.Signup(ctx, "idem", in, "key-1")
			if err != nil {
				t.Fatal(err)
			}
			again, err := svc.Signup(ctx, "idem", in, "key-1")
			if err != nil || again.ID != first.ID || again.Code != 201 || again.Duplicate {
				t.Errorf("replayed %+v %v", again, err)
			}
			in.Name = "Someone else"
			if _, err := svc.Signup(ctx, "idem", in, "key-1"); !errors.Is(err, ErrIdempotencyMismatch) {
				t.Errorf("reused key: %v", err)
			}
		})

		t.Run("capacity is checked by the database", func(t *testing.T) {
			e := mustEvent(t, svc, map[string]any{"slug": "check", "capacity": 1})
			if _, err := signup(svc, "check", "c1@example.com"); err != nil {
				t.Fatal(err)
			}
			// Past the service's own check, the CHECK constraint refuses.
			e.Capacity = new(int)
			err := store.tx(ctx, func(tx *sqlx.Tx) error { return updateEvent(ctx, tx, e) })
			if !errors.Is(err, ErrConflict) {
				t.Errorf("capacity below confirmed: %v", err)
			}
			err = store.tx(ctx, func(tx *sqlx.Tx) error {
				ok, err := takeSeat(ctx, tx, e.ID)
				if ok {
					return errors.New("took a seat past capacity")
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})

		t.Run("outbox: claim, finish, lease, release", func(t *testing.T) {
			e := mustEvent(t, svc, map[string]any{"slug": "outbox"})
			for i := range 5 {
				if _, err := signup(svc, "outbox", fmt.Sprintf("o%d@example.com", i)); err != nil {
					t.Fatal(err)
				}
			}
			// Rows of other subtests are due as well: settle them first.
			drain(t, svc.NewWorker(&recordingMailer{}, time.Second, quiet))
			if n, err := store.PendingCount(ctx); err != nil || n != 0 {
				t.Fatalf("pending %d %v", n, err)
			}
			clock.Add(time.Minute)
			for i := 5; i < 10; i++ {
				if _, err := signup(svc, "outbox", fmt.Sprintf("o%d@example.com", i)); err != nil {
					t.Fatal(err)
				}
			}
			now := svc.clock()
			lease := now.Add(2 * time.Minute)
			a, err := store.claim(ctx, "wa/1", now, lease, 3)
			if err != nil || len(a) != 3 {
				t.Fatalf("claim a: %d %v", len(a), err)
			}
			b, err := store.claim(ctx, "wb/1", now, lease, 100)
			if err != nil || len(b) != 2 {
				t.Fatalf("claim b: %d %v", len(b), err)
			}
			for _, m := range append(a, b...) {
				if m.Status != MsgSending || m.Kind != KindConfirmation || !strings.HasPrefix(m.Recipient, "o") ||
					m.LeaseUntil == nil || !m.LeaseUntil.Equal(lease) || m.EventID != e.ID {
					t.Errorf("claimed %+v", m)
				}
			}
			if a[0].ID > a[1].ID || a[2].ID > b[0].ID {
				t.Errorf("not in due order: %d %d %d %d", a[0].ID, a[1].ID, a[2].ID, b[0].ID)
			}
			if more, err := store.claim(ctx, "wc/1", now, lease, 100); err != nil || len(more) != 0 {
				t.Fatalf("leased rows claimed again: %d %v", len(more), err)
			}
			// a finishes one as sent and one for a retry; b's report under
			// a's name changes nothing.
			sent := now.Add(time.Second)
			a[0].Status, a[0].SentAt, a[0].Attempts, a[0].UpdatedAt = MsgSent, &sent, 1, sent
			a[1].Status, a[1].Attempts, a[1].LastError, a[1].DueAt, a[1].UpdatedAt = MsgPending, 1, "421 try later", now.Add(time.Hour), sent
			b[0].Status = MsgFailed
			if err := store.finishMessages(ctx, []*Message{a[0], a[1], b[0]}, "wa/1"); err != nil {
				t.Fatal(err)
			}
			counts, err := store.EmailCounts(ctx, e.ID)
			if err != nil || counts[MsgSent] != 6 || counts[MsgPending] != 1 || counts[MsgSending] != 3 || counts[MsgFailed] != 0 {
				t.Errorf("email counts %v %v", counts, err)
			}
			// a dies holding a[2]; b stops cleanly and hands back its rows.
			if err := store.releaseLeases(ctx, "wb", now); err != nil {
				t.Fatal(err)
			}
			c, err := store.claim(ctx, "wc/2", now, lease, 100)
			if err != nil || len(c) != 2 || c[0].ID != b[0].ID {
				t.Fatalf("after release: %d %v", len(c), err)
			}
			// When a's lease runs out, its row is due again; the retry is not
			// due before its time.
			clock.Add(2*time.Minute + time.Second)
			later := svc.clock()
			d, err := store.claim(ctx, "wd/1", later, later.Add(time.Minute), 100)
			if err != nil {
				t.Fatal(err)
			}
			got := map[int64]bool{}
			for _, m := range d {
				got[m.ID] = true
			}
			if !got[a[2].ID] || got[a[1].ID] || !got[c[0].ID] || len(d) != 3 {
				t.Errorf("after the leases ran out: %v", got)
			}
			list, err := store.Messages(ctx, MessageFilter{EventID: e.ID, Status: MsgPending, Limit: 10})
			if err != nil || len(list) != 1 || list[0].ID != a[1].ID || list[0].LastError != "421 try later" || list[0].Attempts != 1 {
				t.Errorf("pending list %+v %v", list, err)
			}
			one, err := store.Messages(ctx, MessageFilter{EventID: e.ID, RegistrationID: a[0].RegistrationID, Limit: 10})
			if err != nil || len(one) != 1 || one[0].SentAt == nil || !one[0].SentAt.Equal(sent) {
				t.Errorf("messages of one registration %+v %v", one, err)
			}
			all, err := store.OutboxCounts(ctx)
			if err != nil || all[MsgSending] != 3 {
				t.Errorf("outbox counts %v %v", all, err)
			}
			if n, err := store.PendingCount(ctx); err != nil || n != 4 {
				t.Errorf("pending count %d %v", n, err)
			}
			// Failed rows go back in the queue on request.
			for _, m := range d {
				m.Status, m.Attempts, m.LastError, m.UpdatedAt = MsgFailed, 1, "550 no such user", later
			}
			if err := store.finishMessages(ctx, d, "wd/1"); err != nil {
				t.Fatal(err)
			}
			if n, err := svc.RetryFailed(ctx, "outbox", 0); err != nil || n != 3 {
				t.Errorf("retry failed: %d %v", n, err)
			}
		})

		t.Run("reminder plans", func(t *testing.T) {
			e := mustEvent(t, svc, map[string]any{"slug": "plans", "starts_at": t0.Add(72 * time.Hour).Format(time.RFC3339)})
			p := PlannedReminder{Offset: time.Hour, DueAt: e.StartsAt.Add(-time.Hour)}
			for i, want := range []bool{true, false} {
				err := store.tx(ctx, func(tx *sqlx.Tx) error {
					first, err := insertReminderPlan(ctx, tx, e.ID, p, svc.clock())
					if err == nil && first != want {
						err = fmt.Errorf("plan %d: first = %v", i, first)
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		})

		t.Run("organizer tokens", func(t *testing.T) {
			tok, err := svc.CreateToken(ctx, "ops")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.CreateToken(ctx, "ops"); !errors.Is(err, ErrTokenNameTaken) {
				t.Errorf("same name: %v", err)
			}
			if name, err := svc.Authenticate(ctx, tok); err != nil || name != "ops" {
				t.Fatalf("authenticate: %q %v", name, err)
			}
			if _, err := svc.Authenticate(ctx, tok+"x"); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("wrong token: %v", err)
			}
			list, err := store.Tokens(ctx)
			if err != nil || len(list) != 1 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(svc.clock()) ||
				list[0].Hash == tok {
				t.Fatalf("tokens %+v %v", list, err)
			}
			if err := store.RevokeToken(ctx, "ops"); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Authenticate(ctx, tok); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("revoked token: %v", err)
			}
			if err := store.RevokeToken(ctx, "ops"); !errors.Is(err, ErrNotFound) {
				t.Errorf("revoking twice: %v", err)
			}
		})

		t.Run("the secret is shared by instances", func(t *testing.T) {
			other := newTestService(t, open(), clock)
			if other.ManageToken(42) != svc.ManageToken(42) {
				t.Fatal("two instances disagree on manage tokens")
			}
			res, err := signup(other, "regs", "shared@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if r, _, err := svc.RegistrationByToken(ctx, res.Token); err != nil || r.ID != res.ID {
				t.Errorf("token of one instance at the other: %v", err)
			}
		})

		t.Run("backup", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "backup.db")
			err := store.Backup(ctx, path)
			if store.Engine() == Postgres {
				if err == nil || !strings.Contains(err.Error(), "pg_dump") {
					t.Errorf("backup of PostgreSQL: %v", err)
				}
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a file was written: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			copied := openTestStore(t, path)
			if e, err := copied.EventBySlug(ctx, "regs"); err != nil || e.Confirmed != 5 {
				t.Errorf("event in the copy: %+v %v", e, err)
			}
			if err := store.Backup(ctx, path); err == nil {
				t.Error("backup over an existing file")
			}
		})
	})
}

// rawFields is a JSON object as the API hands it to the service.
func rawFields(t *testing.T, fields map[string]any) map[string]json.RawMessage {
	t.Helper()
	raw := map[string]json.RawMessage{}
	for k, v := range fields {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		raw[k] = b
	}
	return raw
}

// TestMapErr: driver errors of both engines become the domain's.
func TestMapErr(t *testing.T) {
	for _, c := range []struct {
		name        string
		err         error
		unavailable bool
		unique      bool
	}{
		{"pg unique", &pgconn.PgError{Code: "23505"}, false, true},
		{"pg admin shutdown", &pgconn.PgError{Code: "57P01"}, true, false},
		{"pg too many connections", &pgconn.PgError{Code: "53300"}, true, false},
		{"pg connection failure", &pgconn.PgError{Code: "08006"}, true, false},
		{"pg read-only transaction", &pgconn.PgError{Code: "25006"}, true, false},
		{"pg syntax", &pgconn.PgError{Code: "42601"}, false, false},
		{"sqlite unique", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintUnique}, false, true},
		{"sqlite busy", sqlite3.Error{Code: sqlite3.ErrBusy}, true, false},
		{"sqlite full", sqlite3.Error{Code: sqlite3.ErrFull}, true, false},
	} {
		err := mapErr(fmt.Errorf("wrapped: %w", c.err))
		if errors.Is(err, ErrUnavailable) != c.unavailable || isUnique(c.err) != c.unique {
			t.Errorf("%s: %v, unique %v", c.name, err, isUnique(c.err))
		}
	}
}

func TestSQLiteConnectionSettings(t *testing.T) {
	store, err := Open(context.Background(), filepath.Join(t.TempDir(), "settings.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, c := range []struct {
		name                     string
		db                       *sqlx.DB
		tempStore, autoCheckpint int
	}{
		{"writer", store.w, 2, 4000}, // statement journals in memory
		{"reader", store.r, 0, 1000}, // sorts of exports on disk
	} {
		var tempStore, autoCheckpoint int
		if err := c.db.Get(&tempStore, "PRAGMA temp_store"); err != nil {
			t.Fatal(err)
		}
		if err := c.db.Get(&autoCheckpoint, "PRAGMA wal_autocheckpoint"); err != nil {
			t.Fatal(err)
		}
		if tempStore != c.tempStore || autoCheckpoint != c.autoCheckpint {
			t.Errorf("%s: temp_store %d, wal_autocheckpoint %d; want %d, %d", c.name, tempStore, autoCheckpoint, c.tempStore, c.autoCheckpint)
		}
	}
}

// parseStoredTime must read what go-sqlite3 writes exactly as the driver
// itself would (time.ParseInLocation with its first layout).
func TestParseStoredTime(t *testing.T) {
	layout := sqlite3.SQLiteTimestampFormats[0]
	zones := []*time.Location{time.UTC, time.FixedZone("", 8*3600), time.FixedZone("", -(3*3600 + 30*60))}
	times := []time.Time{time.Date(2026, 1, 8, 14, 0, 0, 0, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2027, 2, 28, 0, 0, 0, 120000000, time.UTC), time.Date(2026, 11, 28, 17, 14, 36, 123456000, time.UTC)}
	for i := range 200 {
		times = append(times, time.Unix(int64(i)*7919*3607, int64(i)*104729%1e9).UTC())
	}
	for _, base := range times {
		for _, z := range zones {
			s := base.In(z).Format(layout)
			want, err := time.ParseInLocation(layout, s, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseStoredTime(s)
			if err != nil || !got.Equal(want) || got.Location().String() != want.Location().String() {
				t.Fatalf("%q: got %v (%v), want %v", s, got, err, want)
			}
			_, gotOff := got.Zone()
			_, wantOff := want.Zone()
			if gotOff != wantOff {
				t.Fatalf("%q: offset %d, want %d", s, gotOff, wantOff)
			}
		}
	}
	for _, bad := range []string{"", "2026-02-31 10:00:00+00:00", "2026-13-01 10:00:00+00:00", "yesterday"} {
		if _, err := parseStoredTime(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	// The driver's other layouts still read.
	if got, err := parseStoredTime("2026-01-08T14:00:00Z"); err != nil || !got.Equal(time.Date(2026, 1, 8, 14, 0, 0, 0, time.UTC)) {
		t.Errorf("RFC 3339: %v, %v", got, err)
	}
}

// keepRegistration copies a row EachRegistration passed to its function,
// with the times it points to: the next row reuses both.
func keepRegistration(r *Registration) *Registration {
	c := *r
	for _, p := range []**time.Time{&c.ConfirmedAt, &c.CancelledAt, &c.CheckedInAt, &c.JoinedAt} {
		if *p != nil {
			at := **p
			*p = &at
		}
	}
	return &c
}
