package registration

// Several instances on one PostgreSQL database (SPEC §7): every rule holds
// across instances and each outbox row is sent by one worker. These tests
// need EVENTREG_TEST_POSTGRES (see testdb_test.go) and are skipped without it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"eventreg/mail"
)

// postgresInstances starts n services on one fresh PostgreSQL database, as n
// processes behind a load balancer would, all on one clock.
func postgresInstances(t *testing.T, n int, clock *testClock) []*Service {
	t.Helper()
	dsn := testPostgresURL(t)
	out := make([]*Service, n)
	for i := range out {
		out[i] = newTestService(t, openTestStore(t, dsn), clock)
	}
	return out
}

// inParallel runs fn(0) … fn(n-1) in goroutines released together.
func inParallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

// registrationsByID is every registration of an event, in id order.
func registrationsByID(t *testing.T, s *Store, eventID int64) []*Registration {
	t.Helper()
	var out []*Registration
	err := s.EachRegistration(context.Background(), RegistrationFilter{EventID: eventID}, func(r *Registration) error {
		out = append(out, keepRegistration(r))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkCounters compares the counters of the event row with its rows.
func checkCounters(t *testing.T, s *Store, slug string) (*Event, Counts) {
	t.Helper()
	ctx := context.Background()
	e, err := s.EventBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Counts(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Confirmed != c.Confirmed || e.Waitlisted != c.Waitlisted {
		t.Errorf("counters %d confirmed / %d waitlisted, rows %+v", e.Confirmed, e.Waitlisted, c)
	}
	return e, c
}

func TestPostgresMigrationsTogether(t *testing.T) {
	dsn := testPostgresURL(t)
	ctx := context.Background()
	errs := make([]error, 4)
	inParallel(len(errs), func(i int) {
		s, err := Open(ctx, dsn)
		if err != nil {
			errs[i] = err
			return
		}
		defer s.Close()
		errs[i] = s.Migrate(ctx)
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	s := openTestStore(t, dsn)
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
}

// TestPostgresRushAcrossInstances: 300 sign-ups for 40 seats, split between
// two instances, then cancellations and promotions from both.
func TestPostgresRushAcrossInstances(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock(t0)
	svcs := postgresInstances(t, 2, clock)
	e := mustEvent(t, svcs[0], map[string]any{"slug": "rush", "capacity": 40, "waitlist": true,
		"starts_at": t0.Add(48 * time.Hour).Format(time.RFC3339)})

	const n, seats = 300, 40
	results := make([]*SignupResult, n)
	errs := make([]error, n)
	inParallel(n, func(i int) {
		results[i], errs[i] = signup(svcs[i%2], "rush", fmt.Sprintf("p%03d@example.com", i))
	})
	confirmed, positions := 0, map[int]int64{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("sign-up %d: %v", i, errs[i])
		}
		switch r := results[i]; r.Status {
		case RegConfirmed:
			confirmed++
		case RegWaitlisted:
			if prev, ok := positions[*r.WaitlistPosition]; ok {
				t.Fatalf("position %d given to %d and %d", *r.WaitlistPosition, prev, r.ID)
			}
			positions[*r.WaitlistPosition] = r.ID
		default:
			t.Fatalf("sign-up %d: %+v", i, r)
		}
	}
	if confirmed != seats || len(positions) != n-seats {
		t.Fatalf("%d confirmed, %d waitlisted; want %d and %d", confirmed, len(positions), seats, n-seats)
	}
	// Positions 1…260 follow the order of ids: the queue is the order in
	// which the database took the sign-ups, whichever instance took them.
	var waitIDs []int64
	for _, r := range registrationsByID(t, svcs[1].Store(), e.ID) {
		if r.Status == RegWaitlisted {
			waitIDs = append(waitIDs, r.ID)
		}
	}
	for i, id := range waitIDs {
		if positions[i+1] != id {
			t.Fatalf("position %d is registration %d, want %d (id order)", i+1, positions[i+1], id)
		}
	}
	if _, c := checkCounters(t, svcs[0].Store(), "rush"); c.Confirmed != seats || c.Waitlisted != n-seats {
		t.Fatalf("rows %+v", c)
	}

	// Cancellations on both instances at once: 10 confirmed registrants and
	// 5 from the back of the queue. The 10 at the front are promoted, in
	// order; the rest move up.
	var cancel []*SignupResult
	for _, r := range results {
		if r.Status == RegConfirmed && len(cancel) < 10 {
			cancel = append(cancel, r)
		}
	}
	for _, r := range results {
		if r.Status == RegWaitlisted && *r.WaitlistPosition > 200 && *r.WaitlistPosition <= 205 {
			cancel = append(cancel, r)
		}
	}
	cerrs := make([]error, len(cancel))
	inParallel(len(cancel), func(i int) {
		_, _, cerrs[i] = svcs[i%2].CancelByToken(ctx, cancel[i].Token)
	})
	for i, err := range cerrs {
		if err != nil {
			t.Fatalf("cancel %d: %v", i, err)
		}
	}
	byID := map[int64]*Registration{}
	for _, r := range registrationsByID(t, svcs[0].Store(), e.ID) {
		byID[r.ID] = r
	}
	for _, id := range waitIDs[:10] {
		if byID[id].Status != RegConfirmed {
			t.Errorf("registration %d, once waitlisted at the front, is %s", id, byID[id].Status)
		}
	}
	if byID[waitIDs[10]].Status != RegWaitlisted {
		t.Errorf("11th in the queue is %s", byID[waitIDs[10]].Status)
	}
	if r, err := svcs[1].Store().RegistrationByID(ctx, waitIDs[10]); err != nil || r.WaitlistPosition != 1 {
		t.Errorf("next in the queue: %+v %v", r, err)
	}
	if _, c := checkCounters(t, svcs[1].Store(), "rush"); c.Confirmed != seats || c.Waitlisted != n-seats-15 || c.Cancelled != 15 {
		t.Errorf("after cancelling: rows %+v", c)
	}

	// Raising the capacity on one instance while the other cancels.
	inParallel(2, func(i int) {
		var err error
		if i == 0 {
			_, err = svcs[0].UpdateEvent(ctx, "rush", map[string]json.RawMessage{"capacity": json.RawMessage("45")})
		} else {
			_, _, err = svcs[1].CancelByToken(ctx, results[slices.IndexFunc(results, func(r *SignupResult) bool {
				return r.Status == RegWaitlisted && *r.WaitlistPosition == 250
			})].Token)
		}
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	})
	if _, c := checkCounters(t, svcs[0].Store(), "rush"); c.Confirmed != 45 || c.Waitlisted != n-seats-15-6 {
		t.Errorf("after raising the capacity: rows %+v", c)
	}
}

// TestPostgresPromotionRace cancels a confirmed registration and the first
// in the queue at the same moment on two instances, again and again: the
// promotion takes the one still waiting, and neither request fails.
func TestPostgresPromotionRace(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock(t0)
	svcs := postgresInstances(t, 2, clock)
	const seats, rounds = 20, 20
	mustEvent(t, svcs[0], map[string]any{"slug": "race", "capacity": seats})
	var confirmed, waiting []*SignupResult
	for i := range seats + 2*rounds {
		r, err := signup(svcs[i%2], "race", fmt.Sprintf("r%03d@example.com", i))
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == RegConfirmed {
			confirmed = append(confirmed, r)
		} else {
			waiting = append(waiting, r)
		}
	}
	for round := range rounds {
		c, w := confirmed[round], waiting[2*round]
		errs := make([]error, 2)
		inParallel(2, func(i int) {
			tok := c.Token
			if i == 1 {
				tok = w.Token
			}
			_, _, errs[i] = svcs[i].CancelByToken(ctx, tok)
		})
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: %v / %v", round, errs[0], errs[1])
		}
		next, err := svcs[0].Store().RegistrationByID(ctx, waiting[2*round+1].ID)
		if err != nil || next.Status != RegConfirmed {
			t.Fatalf("round %d: the next in the queue is %+v %v", round, next, err)
		}
	}
	if _, c := checkCounters(t, svcs[0].Store(), "race"); c.Confirmed != seats || c.Waitlisted != 0 {
		t.Errorf("rows %+v", c)
	}
}

// TestPostgresOneLiveRegistrationPerEmail: the same address signing up on
// both instances at once makes one row, and every answer is 201 or a
// duplicate.
func TestPostgresOneLiveRegistrationPerEmail(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock(t0)
	svcs := postgresInstances(t, 2, clock)
	e := mustEvent(t, svcs[0], map[string]any{"slug": "same", "capacity": 10})
	const emails, tries = 20, 8
	results := make([]*SignupResult, emails*tries)
	errs := make([]error, len(results))
	inParallel(len(results), func(i int) {
		email := fmt.Sprintf("Same%02d@Example.com", i%emails)
		if i%3 == 0 {
			email = fmt.Sprintf("same%02d@example.com", i%emails)
		}
		results[i], errs[i] = signup(svcs[i%2], "same", email)
	})
	created := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("sign-up %d: %v", i, errs[i])
		}
		if !r.Duplicate {
			created++
		} else if r.Code != 200 || r.Token != "" || r.ManageURL != "" {
			t.Errorf("duplicate answer reveals too much: %+v", r)
		}
	}
	rows := registrationsByID(t, svcs[1].Store(), e.ID)
	if created != emails || len(rows) != emails {
		t.Fatalf("%d created, %d rows; want %d", created, len(rows), emails)
	}
	if _, c := checkCounters(t, svcs[0].Store(), "same"); c.Confirmed != 10 || c.Waitlisted != 10 {
		t.Errorf("rows %+v", c)
	}
	// Re-registering after cancelling works, across instances too.
	if _, _, err := svcs[0].CancelByToken(ctx, svcs[0].ManageToken(rows[0].ID)); err != nil {
		t.Fatal(err)
	}
	again, err := signup(svcs[1], "same", rows[0].Email)
	if err != nil || again.Duplicate || again.Code != 201 {
		t.Fatalf("again: %+v %v", again, err)
	}
}

// idRecorder is a Mailer that records the Message-ID of everything sent.
type idRecorder struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (m *idRecorder) Send(_ context.Context, msgs []mail.Message) []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msgs...)
	return make([]error, len(msgs))
}

func (m *idRecorder) messages() []mail.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sent)
}

// runWorkers runs one small-batch worker per instance, side by side, until
// nothing is due, and returns what each sent.
func runWorkers(t *testing.T, svcs []*Service) [][]mail.Message {
	t.Helper()
	mailers := make([]*idRecorder, len(svcs))
	errs := make([]error, len(svcs))
	inParallel(len(svcs), func(i int) {
		mailers[i] = &idRecorder{}
		w := svcs[i].NewWorker(mailers[i], time.Millisecond, quiet)
		w.batch, w.conns = 5, 2 // many small claims, so the workers meet
		for {
			n, err := w.RunOnce(context.Background())
			if err != nil {
				errs[i] = err
				return
			}
			if n == 0 {
				return
			}
		}
	})
	out := make([][]mail.Message, len(svcs))
	for i, m := range mailers {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		out[i] = m.messages()
	}
	return out
}

// onceEach checks that no Message-ID was sent twice and returns the
// messages of every worker by recipient and kind.
func onceEach(t *testing.T, sent [][]mail.Message) map[string][]string {
	t.Helper()
	ids := map[string]int{}
	byTo := map[string][]string{}
	for w, msgs := range sent {
		for _, m := range msgs {
			if prev, ok := ids[m.ID]; ok {
				t.Errorf("%s sent by worker %d and worker %d", m.ID, prev, w)
			}
			ids[m.ID] = w
			k := string(m.Kind)
			if m.Kind == mail.KindReminder {
				k += "-" + FormatDuration(m.Offset)
			}
			byTo[m.To] = append(byTo[m.To], k)
		}
	}
	for to := range byTo {
		sort.Strings(byTo[to])
	}
	return byTo
}

// TestPostgresTwoWorkers: two instances deliver side by side; every
// registrant gets exactly one message of each kind due, reminders and the
// replay included, and both workers take part.
func TestPostgresTwoWorkers(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock(t0)
	svcs := postgresInstances(t, 2, clock)
	start := t0.Add(48 * time.Hour)
	e := mustEvent(t, svcs[0], map[string]any{"slug": "deliver", "capacity": 150,
		"starts_at": start.Format(time.RFC3339), "ends_at": start.Add(time.Hour).Format(time.RFC3339),
		"reminders": []string{"24h", "1h"}, "replay_url": "https://replay.example.com/x"})
	const n = 200
	errs := make([]error, n)
	inParallel(n, func(i int) {
		_, errs[i] = signup(svcs[i%2], "deliver", fmt.Sprintf("d%03d@example.com", i))
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("sign-up %d: %v", i, err)
		}
	}
	sent := runWorkers(t, svcs)
	if len(sent[0]) == 0 || len(sent[1]) == 0 {
		t.Errorf("one worker did everything: %d and %d", len(sent[0]), len(sent[1]))
	}
	got := onceEach(t, sent)
	confirmed := 0
	for to, kinds := range got {
		switch {
		case slices.Equal(kinds, []string{"confirmation"}):
			confirmed++
		case slices.Equal(kinds, []string{"waitlisted"}):
		default:
			t.Errorf("%s got %v", to, kinds)
		}
	}
	if len(got) != n || confirmed != 150 {
		t.Errorf("%d recipients, %d confirmed; want %d and 150", len(got), confirmed, n)
	}

	// Reminders and the replay are planned by whichever worker comes first,
	// once.
	for _, at := range []time.Time{start.Add(-24 * time.Hour), start.Add(-time.Hour), start.Add(2 * time.Hour)} {
		clock.Set(at)
		sent = runWorkers(t, svcs)
		got = onceEach(t, sent)
		want := "reminder-24h"
		switch at {
		case start.Add(-time.Hour):
			want = "reminder-1h"
		case start.Add(2 * time.Hour):
			want = "replay"
		}
		if len(got) != 150 {
			t.Errorf("at %s: %d recipients, want 150", at, len(got))
		}
		for to, kinds := range got {
			if !slices.Equal(kinds, []string{want}) {
				t.Errorf("at %s: %s got %v", at, to, kinds)
			}
		}
	}
	if n, err := svcs[0].Store().PendingCount(ctx); err != nil || n != 0 {
		t.Errorf("pending %d %v", n, err)
	}
	counts, err := svcs[1].Store().EmailCounts(ctx, e.ID)
	if err != nil || counts[MsgSent] != n+3*150 {
		t.Errorf("email counts %v %v", counts, err)
	}
}

// TestPostgresClaimsAreDisjoint: claims made at the same moment by several
// workers never share a row (FOR UPDATE SKIP LOCKED), and together take all.
func TestPostgresClaimsAreDisjoint(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock(t0)
	svcs := postgresInstances(t, 2, clock)
	mustEvent(t, svcs[0], map[string]any{"slug": "claims"})
	const n = 300
	for i := range n {
		if _, err := signup(svcs[i%2], "claims", fmt.Sprintf("c%03d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	const workers = 8
	claimed := make([][]int64, workers)
	errs := make([]error, workers)
	now := svcs[0].clock()
	inParallel(workers, func(i int) {
		s := svcs[i%2].Store()
		for k := 0; ; k++ {
			rows, err := s.claim(ctx, fmt.Sprintf("w%d/%d", i, k), now, now.Add(time.Minute), 7)
			if err != nil {
				errs[i] = err
				return
			}
			if len(rows) == 0 {
				return
			}
			for _, r := range rows {
				claimed[i] = append(claimed[i], r.ID)
			}
		}
	})
	seen := map[int64]int{}
	busy := 0
	for i, ids := range claimed {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		if len(ids) > 0 {
			busy++
		}
		for _, id := range ids {
			if prev, ok := seen[id]; ok {
				t.Fatalf("row %d claimed by %d and %d", id, prev, i)
			}
			seen[id] = i
		}
	}
	if len(seen) != n {
		t.Errorf("%d rows claimed, want %d", len(seen), n)
	}
	if busy < 2 {
		t.Errorf("only %d of %d workers claimed anything", busy, workers)
	}
}

// TestPostgresDeadWorker: rows claimed by a worker that dies stay with it
// until its lease ends, then the other instance sends them, with the same
// Message-IDs.
func TestPostgresDeadWorker(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock(t0)
	svcs := postgresInstances(t, 2, clock)
	mustEvent(t, svcs[0], map[string]any{"slug": "dead"})
	for i := range 30 {
		if _, err := signup(svcs[i%2], "dead", fmt.Sprintf("x%02d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	const lease = 2 * time.Minute
	now := svcs[0].clock()
	held, err := svcs[0].Store().claim(ctx, "dead/1", now, now.Add(lease), 12)
	if err != nil || len(held) != 12 {
		t.Fatalf("claim: %d %v", len(held), err)
	}
	live := &idRecorder{}
	w := svcs[1].NewWorker(live, time.Second, quiet)
	w.Lease = lease
	drain(t, w)
	if got := len(live.messages()); got != 18 {
		t.Fatalf("sent %d before the lease ended, want 18", got)
	}
	clock.Add(lease - time.Second)
	drain(t, w)
	if got := len(live.messages()); got != 18 {
		t.Fatalf("sent %d while the lease held, want 18", got)
	}
	clock.Add(2 * time.Second)
	drain(t, w)
	sent := live.messages()
	if len(sent) != 30 {
		t.Fatalf("sent %d after the lease ended, want 30", len(sent))
	}
	ids := map[string]bool{}
	for _, m := range sent {
		ids[m.ID] = true
	}
	for _, row := range held {
		if !ids[row.MessageID] {
			t.Errorf("held row %s sent under another Message-ID", row.MessageID)
		}
	}
	if len(ids) != 30 {
		t.Errorf("%d distinct Message-IDs", len(ids))
	}
	// The dead worker's late report changes nothing: its lease is gone.
	for _, row := range held {
		row.Status = MsgFailed
	}
	if err := svcs[0].Store().finishMessages(ctx, held, "dead/1"); err != nil {
		t.Fatal(err)
	}
	if n, err := svcs[0].Store().EmailCounts(ctx, held[0].EventID); err != nil || n[MsgSent] != 30 || n[MsgFailed] != 0 {
		t.Errorf("after the late report: %v %v", n, err)
	}
}

// TestPostgresEditsAcrossInstances: organizers editing one event on two
// instances at once lose neither edit, and an event cancelled on both is
// cancelled once: one notice per registrant.
func TestPostgresEditsAcrossInstances(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock(t0)
	svcs := postgresInstances(t, 2, clock)
	mustEvent(t, svcs[0], map[string]any{"slug": "edit", "starts_at": t0.Add(48 * time.Hour).Format(time.RFC3339)})
	for i := range 10 {
		if _, err := signup(svcs[i%2], "edit", fmt.Sprintf("e%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	const rounds = 10
	for round := range rounds {
		title, location := fmt.Sprintf("Title %d", round), fmt.Sprintf("Room %d", round)
		errs := make([]error, 2)
		inParallel(2, func(i int) {
			f := map[string]any{"title": title}
			if i == 1 {
				f = map[string]any{"location": location}
			}
			_, errs[i] = svcs[i].UpdateEvent(ctx, "edit", rawFields(t, f))
		})
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: %v / %v", round, errs[0], errs[1])
		}
		e, err := svcs[0].Event(ctx, "edit")
		if err != nil {
			t.Fatal(err)
		}
		if e.Title != title || e.Location != location || e.Sequence != round+1 {
			t.Fatalf("round %d: title %q location %q sequence %d", round, e.Title, e.Location, e.Sequence)
		}
	}
	errs := make([]error, 2)
	inParallel(2, func(i int) { _, errs[i] = svcs[i].CancelEvent(ctx, "edit") })
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("cancel: %v / %v", errs[0], errs[1])
	}
	got := onceEach(t, runWorkers(t, svcs))
	for to, kinds := range got {
		n := 0
		for _, k := range kinds {
			if k == KindEventCancelled {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %v", to, kinds)
		}
	}
	if e, _ := svcs[1].Event(ctx, "edit"); e.Sequence != rounds+1 || e.State != StateCancelled {
		t.Errorf("after cancelling: %+v", e)
	}
}

// cutProxy forwards TCP connections to a server until it is cut.
type cutProxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

// cut closes the listener and every connection, as a database that went away.
func (p *cutProxy) cut() {
	p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// TestPostgresUnavailable: when the database goes away, the store says
// ErrUnavailable (the API answers 503), for open connections and new ones.
func TestPostgresUnavailable(t *testing.T) {
	ctx := context.Background()
	dsn := testPostgresURL(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, u.Host)
	u.Host = p.l.Addr().String()
	store := openTestStore(t, u.String())
	svc := newTestService(t, store, newTestClock(t0))
	mustEvent(t, svc, map[string]any{"slug": "gone"})
	if _, err := signup(svc, "gone", "before@example.com"); err != nil {
		t.Fatal(err)
	}
	p.cut()
	for i := range 3 { // pooled connections first, then new ones
		if _, err := signup(svc, "gone", fmt.Sprintf("after%d@example.com", i)); !errors.Is(err, ErrUnavailable) {
			t.Errorf("sign-up %d: %v", i, err)
		}
		if _, err := store.Counts(ctx, 1); !errors.Is(err, ErrUnavailable) {
			t.Errorf("read %d: %v", i, err)
		}
	}
	if err := store.Ready(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("ready: %v", err)
	}
}

// TestPostgresPoolSize: pool_max_conns in the URL sizes the pool and does
// not reach the server (which would refuse an unknown setting).
func TestPostgresPoolSize(t *testing.T) {
	dsn := testPostgresURL(t)
	s := openTestStore(t, dsn+"&pool_max_conns=3")
	if n := s.w.Stats().MaxOpenConnections; n != 3 {
		t.Errorf("pool of %d, want 3", n)
	}
	if n := openTestStore(t, dsn).w.Stats().MaxOpenConnections; n != defaultPoolSize {
		t.Errorf("default pool of %d", n)
	}
	for _, bad := range []string{"0", "x", "-1"} {
		if s, err := Open(context.Background(), dsn+"&pool_max_conns="+bad); err == nil {
			s.Close()
			t.Errorf("pool_max_conns=%s accepted", bad)
		}
	}
}
