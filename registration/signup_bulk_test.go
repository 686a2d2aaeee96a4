package registration

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// batchOf makes the group-commit items of sign-ups, as Signup would queue
// them, and returns them with their works.
func batchOf(t *testing.T, svc *Service, signups [][3]string) ([]*batchItem, []*signupWork) {
	t.Helper()
	items := make([]*batchItem, len(signups))
	works := make([]*signupWork, len(signups))
	for i, s := range signups {
		slug, email, key := s[0], s[1], s[2]
		e, err := svc.signupEvent(context.Background(), slug)
		if err != nil {
			t.Fatal(err)
		}
		in := SignupInput{Name: "Person " + email, Email: email, Locale: "en"}
		if err := in.normalize(); err != nil {
			t.Fatal(err)
		}
		works[i] = svc.newSignupWork(e, in, key, svc.clock())
		items[i] = &batchItem{ctx: context.Background(), fn: works[i].fn, signup: works[i].bulk, err: make(chan error, 1)}
	}
	return items, works
}

// runBatch runs items as one group commit and returns each answer.
func runBatch(svc *Service, b *batcher, items []*batchItem, works []*signupWork) ([]*SignupResult, []error) {
	b.run(items)
	res := make([]*SignupResult, len(items))
	errs := make([]error, len(items))
	for i, it := range items {
		if errs[i] = <-it.err; errs[i] == nil {
			res[i] = svc.result(works[i])
		}
	}
	return res, errs
}

func TestSignupBatchKeepsEveryRule(t *testing.T) {
	for _, failBulk := range []bool{false, true} {
		name := "together"
		if failBulk {
			name = "bulk fails, each alone"
		}
		t.Run(name, func(t *testing.T) {
			forEachEngine(t, func(t *testing.T, open func() *Store) { testSignupBatchKeepsEveryRule(t, open(), failBulk) })
		})
	}
}

func testSignupBatchKeepsEveryRule(t *testing.T, store *Store, failBulk bool) {
	clock := newTestClock(t0)
	svc := newTestService(t, store, clock)
	ctx := context.Background()
	start := t0.Add(48 * time.Hour).Format(time.RFC3339)
	small := mustEvent(t, svc, map[string]any{"slug": "small", "capacity": 2, "starts_at": start})
	mustEvent(t, svc, map[string]any{"slug": "nowait", "capacity": 1, "waitlist": false, "starts_at": start})
	mustEvent(t, svc, map[string]any{"slug": "draft", "state": "draft", "starts_at": start})
	if _, err := signup(svc, "small", "old@example.com"); err != nil {
		t.Fatal(err)
	}
	b := svc.store.batch
	if failBulk {
		// The bulk path writes, then fails: everything it wrote must
		// be rolled back and each sign-up answered alone.
		b = newBatcher(svc.store.w, func(ctx context.Context, tx *sqlx.Tx, items []*batchItem) error {
			if err := svc.signupBulk(ctx, tx, items); err != nil {
				return err
			}
			return errors.New("disk on fire")
		})
	}
	// The batch signs up a moment later, with a fraction of a second, so its
	// timestamps are told apart from the first sign-up's and kept exactly.
	clock.Add(90*time.Second + 123456*time.Microsecond)
	items, works := batchOf(t, svc, [][3]string{
		{"small", "a@example.com", ""},  // the last seat
		{"nowait", "b@example.com", ""}, // the only seat
		{"small", "c@example.com", ""},  // waitlisted, 1st
		{"nowait", "d@example.com", ""}, // full, no waitlist
		{"small", "OLD@example.com", ""},
		{"small", "a@example.com", ""}, // the same email twice in one batch
		{"small", "e@example.com", "key-1"},
		{"small", "f@example.com", ""},
	})
	res, errs := runBatch(svc, b, items, works)
	if !failBulk {
		for _, i := range []int{0, 1, 2, 3, 7} {
			if !works[i].bulk.handled {
				t.Errorf("sign-up %d not written by the bulk path", i)
			}
		}
	}

	want := []struct {
		status string
		pos    int
		dup    bool
		err    error
	}{
		{RegConfirmed, 0, false, nil},
		{RegConfirmed, 0, false, nil},
		{RegWaitlisted, 1, false, nil},
		{"", 0, false, ErrEventFull},
		{RegConfirmed, 0, true, nil},
		{RegConfirmed, 0, true, nil},
		{RegWaitlisted, -1, false, nil}, // idempotent: one by one, after the bulk
		{RegWaitlisted, -1, false, nil},
	}
	positions := map[int]bool{}
	for i, w := range want {
		if !errors.Is(errs[i], w.err) || (w.err == nil) != (errs[i] == nil) {
			t.Fatalf("sign-up %d: error %v, want %v", i, errs[i], w.err)
		}
		if w.err != nil {
			continue
		}
		r := res[i]
		if r.Status != w.status || r.Duplicate != w.dup {
			t.Errorf("sign-up %d: %+v, want %s duplicate=%v", i, r, w.status, w.dup)
		}
		if !w.dup && (r.ID == 0 || r.Token == "" || r.Code != 201) {
			t.Errorf("sign-up %d: a new registration without id, token or 201: %+v", i, r)
		}
		if r.Status == RegWaitlisted {
			if w.pos > 0 && *r.WaitlistPosition != w.pos {
				t.Errorf("sign-up %d: position %d, want %d", i, *r.WaitlistPosition, w.pos)
			}
			positions[*r.WaitlistPosition] = true
		}
	}
	if !positions[1] || !positions[2] || !positions[3] || len(positions) != 3 {
		t.Errorf("waitlist positions %v, want 1, 2, 3", positions)
	}
	if res[0].ID >= res[2].ID || res[2].ID >= res[7].ID {
		t.Errorf("ids %d, %d, %d do not follow arrival", res[0].ID, res[2].ID, res[7].ID)
	}

	got, err := svc.Store().EventBySlug(ctx, "small")
	if err != nil {
		t.Fatal(err)
	}
	counts, err := svc.Store().Counts(ctx, small.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Confirmed != 2 || got.Waitlisted != 3 || counts.Confirmed != 2 || counts.Waitlisted != 3 {
		t.Errorf("small: counters %d/%d, rows %+v; want 2 confirmed, 3 waitlisted", got.Confirmed, got.Waitlisted, counts)
	}
	// Every time the batch stores is the moment of its sign-ups; a seat is
	// confirmed then, a waitlist place is not.
	now := clock.Now()
	for _, i := range []int{0, 1, 2, 7} {
		r, err := registrationByID(ctx, svc.store.r, res[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		for name, at := range map[string]*time.Time{"created": &r.CreatedAt, "updated": &r.UpdatedAt, "notified": r.NotifiedAt} {
			if at == nil || !at.Equal(now) {
				t.Errorf("sign-up %d: %s at %v, want %v", i, name, at, now)
			}
		}
		if confirmed := r.ConfirmedAt; (r.Status == RegConfirmed) != (confirmed != nil) || (confirmed != nil && !confirmed.Equal(now)) {
			t.Errorf("sign-up %d (%s): confirmed at %v, want %v only with a seat", i, r.Status, confirmed, now)
		}
		out, err := svc.Store().Messages(ctx, MessageFilter{EventID: r.EventID, RegistrationID: r.ID, Limit: 10})
		if err != nil || len(out) != 1 {
			t.Fatalf("sign-up %d: messages %v, %v", i, out, err)
		}
		if m := out[0]; !m.DueAt.Equal(now) || !m.CreatedAt.Equal(now) || !m.UpdatedAt.Equal(now) {
			t.Errorf("sign-up %d: message due %v, created %v, updated %v; want %v", i, m.DueAt, m.CreatedAt, m.UpdatedAt, now)
		}
	}
	var msgs []struct {
		Kind  string `db:"kind"`
		Email string `db:"email"`
	}
	if err := svc.store.r.Select(&msgs, `SELECT m.kind, r.email FROM messages m JOIN registrations r ON r.id = m.registration_id ORDER BY m.id`); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, m := range msgs {
		if prev, ok := kinds[m.Email]; ok {
			t.Errorf("%s got %s and %s", m.Email, prev, m.Kind)
		}
		kinds[m.Email] = m.Kind
	}
	wantKinds := map[string]string{"old@example.com": KindConfirmation, "a@example.com": KindConfirmation,
		"b@example.com": KindConfirmation, "c@example.com": KindWaitlisted, "e@example.com": KindWaitlisted,
		"f@example.com": KindWaitlisted}
	for email, kind := range wantKinds {
		if kinds[email] != kind {
			t.Errorf("outbox for %s: %q, want %q", email, kinds[email], kind)
		}
	}
	if len(kinds) != len(wantKinds) {
		t.Errorf("outbox rows for %v, want %v", kinds, wantKinds)
	}
	// The answer kept for the Idempotency-Key is the one given.
	again, err := svc.Signup(ctx, "small", SignupInput{Name: "Person e@example.com", Email: "e@example.com", Locale: "en"}, "key-1")
	if err != nil || again.ID != res[6].ID {
		t.Errorf("idempotent retry: %+v, %v; want id %d", again, err, res[6].ID)
	}
}

func TestSignupBatchRefusesClosedAndDraft(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) { testSignupBatchRefusesClosedAndDraft(t, open) })
}

func testSignupBatchRefusesClosedAndDraft(t *testing.T, open func() *Store) {
	clock := newTestClock(t0)
	svc := newTestService(t, open(), clock)
	start := t0.Add(48 * time.Hour).Format(time.RFC3339)
	mustEvent(t, svc, map[string]any{"slug": "open", "starts_at": start})
	mustEvent(t, svc, map[string]any{"slug": "closing", "starts_at": start,
		"registration_closes_at": t0.Add(time.Hour).Format(time.RFC3339)})
	items, works := batchOf(t, svc, [][3]string{
		{"open", "a@example.com", ""},
		{"closing", "b@example.com", ""},
	})
	// The events were read (and cached) before the batch; by the time it
	// runs, one has closed and is unpublished by the organizer.
	clock.Add(2 * time.Hour)
	for _, it := range items {
		it.signup.now = svc.clock()
	}
	if _, err := svc.store.w.Exec(`UPDATE events SET state = 'draft' WHERE slug = 'open'`); err != nil {
		t.Fatal(err)
	}
	_, errs := runBatch(svc, svc.store.batch, items, works)
	if !errors.Is(errs[0], ErrNotFound) || !errors.Is(errs[1], ErrRegistrationClosed) {
		t.Errorf("errors %v, want not found and registration closed", errs)
	}
	var n int
	if err := svc.store.r.Get(&n, `SELECT COUNT(*) FROM registrations`); err != nil || n != 0 {
		t.Errorf("%d registrations written (%v)", n, err)
	}
}

// A rush over several events at once, some of its sign-ups repeated: every
// event ends with its seats taken exactly, one FIFO waitlist numbered from 1,
// counters equal to the rows, and one outbox row per registration.
func TestSignupRushOverEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) { testSignupRushOverEvents(t, open) })
}

func testSignupRushOverEvents(t *testing.T, open func() *Store) {
	clock := newTestClock(t0)
	svc := newTestService(t, open(), clock)
	ctx := context.Background()
	start := t0.Add(48 * time.Hour).Format(time.RFC3339)
	const events, perEvent, capacity = 5, 60, 20
	for i := range events {
		mustEvent(t, svc, map[string]any{"slug": fmt.Sprintf("e%d", i), "capacity": capacity, "starts_at": start})
	}
	var wg sync.WaitGroup
	type answer struct {
		slug string
		res  *SignupResult
	}
	answers := make(chan answer, events*perEvent*2)
	for i := range events * perEvent {
		for range 1 + i%4/3 { // every fourth person signs up twice at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				slug := fmt.Sprintf("e%d", i%events)
				res, err := signup(svc, slug, fmt.Sprintf("p%d@example.com", i))
				if err != nil {
					t.Error(err)
					return
				}
				answers <- answer{slug, res}
			}()
		}
	}
	wg.Wait()
	close(answers)
	positions := map[string]map[int]bool{}
	confirmed := map[string]int{}
	for a := range answers {
		if a.res.Duplicate {
			continue
		}
		switch a.res.Status {
		case RegConfirmed:
			confirmed[a.slug]++
		case RegWaitlisted:
			if positions[a.slug] == nil {
				positions[a.slug] = map[int]bool{}
			}
			if positions[a.slug][*a.res.WaitlistPosition] {
				t.Errorf("%s: waitlist position %d given twice", a.slug, *a.res.WaitlistPosition)
			}
			positions[a.slug][*a.res.WaitlistPosition] = true
		}
	}
	for i := range events {
		slug := fmt.Sprintf("e%d", i)
		e, err := svc.Store().EventBySlug(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		counts, err := svc.Store().Counts(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := perEvent - capacity
		if confirmed[slug] != capacity || len(positions[slug]) != want || e.Confirmed != capacity ||
			e.Waitlisted != want || counts.Confirmed != capacity || counts.Waitlisted != want {
			t.Errorf("%s: answers %d confirmed, %d waitlisted; counters %d/%d; rows %+v",
				slug, confirmed[slug], len(positions[slug]), e.Confirmed, e.Waitlisted, counts)
		}
		for p := 1; p <= want; p++ {
			if !positions[slug][p] {
				t.Errorf("%s: waitlist position %d missing", slug, p)
			}
		}
	}
	var rows, msgs int
	if err := svc.store.r.Get(&rows, `SELECT COUNT(*) FROM registrations`); err != nil {
		t.Fatal(err)
	}
	if err := svc.store.r.Get(&msgs, `SELECT COUNT(DISTINCT registration_id) FROM messages`); err != nil {
		t.Fatal(err)
	}
	if rows != events*perEvent || msgs != rows {
		t.Errorf("%d registrations with mail of %d, want %d", rows, msgs, events*perEvent)
	}
}
