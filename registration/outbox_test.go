package registration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"eventreg/mail"
)

// recordingMailer keeps what it is asked to send, and fails on demand.
type recordingMailer struct {
	mu   sync.Mutex
	sent []mail.Message
	fail func(m mail.Message) error
}

func (r *recordingMailer) Send(ctx context.Context, msgs []mail.Message) []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		if r.fail != nil {
			if errs[i] = r.fail(m); errs[i] != nil {
				continue
			}
		}
		r.sent = append(r.sent, m)
	}
	return errs
}

func (r *recordingMailer) kinds(to string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.sent {
		if to == "" || m.To == to {
			k := string(m.Kind)
			if m.Kind == mail.KindReminder {
				k += "-" + FormatDuration(m.Offset)
			}
			out = append(out, k)
		}
	}
	return out
}

func (r *recordingMailer) reset() {
	r.mu.Lock()
	r.sent = nil
	r.mu.Unlock()
}

var quiet = slog.New(slog.DiscardHandler)

func drain(t *testing.T, w *Worker) {
	t.Helper()
	for {
		n, err := w.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func equal(a, b []string) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func TestReminderRules(t *testing.T) {
	ctx := context.Background()
	start := t0.Add(48 * time.Hour)
	newWorld := func(t *testing.T) (*Service, *testClock, *recordingMailer, *Worker) {
		clock := newTestClock(t0)
		svc := newSQLiteService(t, clock)
		m := &recordingMailer{}
		mustEvent(t, svc, map[string]any{"slug": "rem", "capacity": 1, "starts_at": start.Format(time.RFC3339),
			"ends_at": start.Add(time.Hour).Format(time.RFC3339), "reminders": []string{"24h", "1h"},
			"join_url": "https://meet.example.com/x"})
		return svc, clock, m, svc.NewWorker(m, time.Second, quiet)
	}

	t.Run("one per offset, at starts_at minus offset, confirmed only", func(t *testing.T) {
		svc, clock, m, w := newWorld(t)
		signup(svc, "rem", "a@example.com")
		signup(svc, "rem", "w@example.com") // waitlisted
		drain(t, w)
		if got := m.kinds(""); !equal(got, []string{"confirmation", "waitlisted"}) {
			t.Fatalf("at sign-up: %v", got)
		}
		m.reset()
		clock.Set(start.Add(-24*time.Hour - time.Second))
		drain(t, w)
		if got := m.kinds(""); len(got) != 0 {
			t.Fatalf("a second early: %v", got)
		}
		clock.Set(start.Add(-24 * time.Hour))
		drain(t, w)
		clock.Set(start.Add(-time.Hour))
		drain(t, w)
		if got := m.kinds(""); !equal(got, []string{"reminder-24h", "reminder-1h"}) {
			t.Fatalf("reminders: %v", got)
		}
		for _, msg := range m.sent {
			if msg.To != "a@example.com" || msg.Links.Unsubscribe == "" {
				t.Errorf("reminder %+v", msg)
			}
		}
	})

	t.Run("an offset already past at confirmation is not planned", func(t *testing.T) {
		svc, clock, m, w := newWorld(t)
		clock.Set(start.Add(-2 * time.Hour))
		signup(svc, "rem", "late@example.com")
		clock.Set(start.Add(-30 * time.Minute))
		drain(t, w)
		if got := m.kinds(""); !equal(got, []string{"confirmation", "reminder-1h"}) {
			t.Fatalf("got %v", got)
		}
	})

	t.Run("after downtime, due reminders still before the start go out; started ones are skipped", func(t *testing.T) {
		svc, clock, m, w := newWorld(t)
		signup(svc, "rem", "a@example.com")
		drain(t, w)
		m.reset()
		// Down from before the 24h reminder until 30 minutes before the start.
		clock.Set(start.Add(-30 * time.Minute))
		drain(t, w)
		if got := m.kinds(""); !equal(got, []string{"reminder-24h", "reminder-1h"}) {
			t.Fatalf("catch-up: %v", got)
		}
		// Another registrant whose reminders were due while down past the start:
		// never planned, never sent.
		svc2, clock2, m2, w2 := newWorld(t)
		signup(svc2, "rem", "b@example.com")
		drain(t, w2)
		m2.reset()
		clock2.Set(start.Add(time.Minute))
		drain(t, w2)
		if got := m2.kinds(""); len(got) != 0 {
			t.Fatalf("sent late: %v", got)
		}
		// Planned in time but still queued when the event starts: skipped.
		svc3, clock3, m3, w3 := newWorld(t)
		signup(svc3, "rem", "c@example.com")
		drain(t, w3)
		m3.reset()
		clock3.Set(start.Add(-time.Hour))
		if err := svc3.planDueReminders(ctx, svc3.clock()); err != nil {
			t.Fatal(err)
		}
		clock3.Set(start)
		drain(t, w3)
		if got := m3.kinds(""); len(got) != 0 {
			t.Fatalf("sent after the start: %v", got)
		}
		ev, _ := svc3.Event(ctx, "rem")
		msgs, _ := svc3.Store().Messages(ctx, MessageFilter{EventID: ev.ID, Status: MsgSkipped, Limit: 10})
		if len(msgs) != 2 || msgs[0].LastError != "event already started" {
			t.Errorf("skipped rows: %+v", msgs)
		}
	})

	t.Run("a clock jumping back plans nothing twice", func(t *testing.T) {
		svc, clock, m, w := newWorld(t)
		signup(svc, "rem", "a@example.com")
		drain(t, w)
		m.reset()
		clock.Set(start.Add(-24 * time.Hour))
		drain(t, w)
		clock.Set(start.Add(-25 * time.Hour)) // back an hour
		drain(t, w)
		clock.Set(start.Add(-23 * time.Hour))
		drain(t, w)
		if got := m.kinds(""); !equal(got, []string{"reminder-24h"}) {
			t.Fatalf("got %v", got)
		}
		// A jump forward past both due times sends each once, before the start.
		clock.Set(start.Add(-time.Minute))
		drain(t, w)
		drain(t, w)
		if got := m.kinds(""); !equal(got, []string{"reminder-24h", "reminder-1h"}) {
			t.Fatalf("after the jump: %v", got)
		}
	})

	t.Run("rescheduling re-times pending reminders and sends an update", func(t *testing.T) {
		svc, clock, m, w := newWorld(t)
		res, _ := signup(svc, "rem", "a@example.com")
		drain(t, w)
		m.reset()
		newStart := start.Add(72 * time.Hour)
		_, err := svc.UpdateEvent(ctx, "rem", map[string]json.RawMessage{
			"starts_at": json.RawMessage(`"` + newStart.Format(time.RFC3339) + `"`),
			"ends_at":   json.RawMessage(`"` + newStart.Add(time.Hour).Format(time.RFC3339) + `"`),
		})
		if err != nil {
			t.Fatal(err)
		}
		drain(t, w)
		if got := m.kinds(""); !equal(got, []string{"event_updated"}) || m.sent[0].Event.Sequence != 1 || m.sent[0].CalUID != svc.CalendarUID(&Registration{ID: res.ID}) {
			t.Fatalf("update: %v %+v", got, m.sent)
		}
		m.reset()
		clock.Set(start.Add(-time.Hour)) // the old times pass: nothing
		drain(t, w)
		clock.Set(newStart.Add(-24 * time.Hour))
		drain(t, w)
		clock.Set(newStart.Add(-time.Hour))
		drain(t, w)
		if got := m.kinds(""); !equal(got, []string{"reminder-24h", "reminder-1h"}) {
			t.Fatalf("re-timed: %v", got)
		}
	})

	t.Run("cancelling a registration or the event drops pending reminders", func(t *testing.T) {
		svc, clock, m, w := newWorld(t)
		a, _ := signup(svc, "rem", "a@example.com")
		w1, _ := signup(svc, "rem", "w@example.com")
		drain(t, w)
		m.reset()
		// a cancels: w is promoted and gets the reminders instead.
		if _, _, err := svc.CancelByToken(ctx, a.Token); err != nil {
			t.Fatal(err)
		}
		drain(t, w)
		if got := m.kinds("a@example.com"); !equal(got, []string{"cancelled"}) {
			t.Errorf("a: %v", got)
		}
		if got := m.kinds("w@example.com"); !equal(got, []string{"promoted"}) {
			t.Errorf("w: %v", got)
		}
		m.reset()
		if _, err := svc.CancelEvent(ctx, "rem"); err != nil {
			t.Fatal(err)
		}
		drain(t, w)
		if got := m.kinds(""); !equal(got, []string{"event_cancelled"}) || !m.sent[0].Event.Cancelled {
			t.Errorf("event cancelled: %v", got)
		}
		m.reset()
		clock.Set(start.Add(-time.Hour))
		drain(t, w)
		if got := m.kinds(""); len(got) != 0 {
			t.Errorf("after cancel: %v", got)
		}
		_ = w1
	})

	t.Run("opt-out stops further reminders for that registration only", func(t *testing.T) {
		svc, clock, m, w := newWorld(t)
		if _, err := svc.UpdateEvent(ctx, "rem", map[string]json.RawMessage{"capacity": json.RawMessage("5")}); err != nil {
			t.Fatal(err)
		}
		a, _ := signup(svc, "rem", "a@example.com")
		signup(svc, "rem", "b@example.com")
		drain(t, w)
		m.reset()
		clock.Set(start.Add(-24 * time.Hour))
		drain(t, w)
		if _, _, err := svc.Unsubscribe(ctx, a.Token); err != nil {
			t.Fatal(err)
		}
		clock.Set(start.Add(-time.Hour))
		drain(t, w)
		if got := m.kinds("a@example.com"); !equal(got, []string{"reminder-24h"}) {
			t.Errorf("a: %v", got)
		}
		if got := m.kinds("b@example.com"); !equal(got, []string{"reminder-24h", "reminder-1h"}) {
			t.Errorf("b: %v", got)
		}
	})

	t.Run("replay once after the end, worded by joined_at", func(t *testing.T) {
		svc, clock, m, w := newWorld(t)
		if _, err := svc.UpdateEvent(ctx, "rem", map[string]json.RawMessage{"capacity": json.RawMessage("5"),
			"replay_url": json.RawMessage(`"https://video.example.com/r"`)}); err != nil {
			t.Fatal(err)
		}
		a, _ := signup(svc, "rem", "a@example.com")
		signup(svc, "rem", "b@example.com")
		drain(t, w)
		clock.Set(start.Add(5 * time.Minute))
		if _, _, _, err := svc.Join(ctx, a.Token); err != nil {
			t.Fatal(err)
		}
		m.reset()
		clock.Set(start.Add(2 * time.Hour))
		drain(t, w)
		drain(t, w)
		if got := m.kinds(""); len(got) != 2 {
			t.Fatalf("replay: %v", got)
		}
		joined := map[string]bool{}
		for _, msg := range m.sent {
			joined[msg.To] = msg.Joined
		}
		if !joined["a@example.com"] || joined["b@example.com"] {
			t.Errorf("joined flags %v", joined)
		}
	})
}

func TestDuplicateResendsAtMostEveryTenMinutes(t *testing.T) {
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	m := &recordingMailer{}
	w := svc.NewWorker(m, time.Second, quiet)
	mustEvent(t, svc, map[string]any{"slug": "dupmail"})
	signup(svc, "dupmail", "a@example.com")
	for range 5 {
		signup(svc, "dupmail", "a@example.com")
	}
	drain(t, w)
	clock.Add(9 * time.Minute)
	signup(svc, "dupmail", "a@example.com")
	drain(t, w)
	if got := m.kinds(""); !equal(got, []string{"confirmation"}) {
		t.Fatalf("within 10 minutes: %v", got)
	}
	clock.Add(time.Minute)
	signup(svc, "dupmail", "A@EXAMPLE.com")
	drain(t, w)
	if got := m.kinds(""); !equal(got, []string{"confirmation", "confirmation"}) {
		t.Fatalf("after 10 minutes: %v", got)
	}
	if m.sent[0].ID == m.sent[1].ID {
		t.Errorf("a re-send is a new message with its own id")
	}
}

func TestDeliveryRetriesAndFailures(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	e := mustEvent(t, svc, map[string]any{"slug": "retry"})
	tempErr := errors.New("451 try later")
	m := &recordingMailer{fail: func(msg mail.Message) error {
		switch msg.To {
		case "temp@example.com":
			return tempErr
		case "bad@example.com":
			return fmt.Errorf("550 no such user: %w", mail.ErrPermanent)
		}
		return nil
	}}
	w := svc.NewWorker(m, time.Second, quiet)
	signup(svc, "retry", "temp@example.com")
	signup(svc, "retry", "bad@example.com")
	signup(svc, "retry", "ok@example.com")
	drain(t, w)
	rows := func(status string) []*Message {
		msgs, err := svc.Store().Messages(ctx, MessageFilter{EventID: e.ID, Status: status, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	if f := rows(MsgFailed); len(f) != 1 || f[0].Recipient != "bad@example.com" || f[0].Attempts != 1 {
		t.Fatalf("failed: %+v", f)
	}
	p := rows(MsgPending)
	if len(p) != 1 || p[0].Recipient != "temp@example.com" || p[0].Attempts != 1 || p[0].LastError == "" {
		t.Fatalf("pending: %+v", p)
	}
	// First retry within 30 s; no hot loop: not before its time.
	if wait := p[0].DueAt.Sub(t0); wait <= 0 || wait > 30*time.Second {
		t.Errorf("first retry after %s", wait)
	}
	if n, _ := w.RunOnce(ctx); n != 0 {
		t.Errorf("retried before its time")
	}
	// The server recovers.
	m.fail = nil
	clock.Add(31 * time.Second)
	drain(t, w)
	if got := m.kinds("temp@example.com"); !equal(got, []string{"confirmation"}) {
		t.Errorf("after recovery: %v", got)
	}
	sent := rows(MsgSent)
	if len(sent) != 2 || sent[0].SentAt == nil {
		t.Errorf("sent rows %+v", sent)
	}
	// Organizers put failed rows back.
	if n, err := svc.RetryFailed(ctx, "retry", 0); err != nil || n != 1 {
		t.Fatalf("retry failed: %d %v", n, err)
	}
	drain(t, w)
	if got := m.kinds("bad@example.com"); !equal(got, []string{"confirmation"}) {
		t.Errorf("retried: %v", got)
	}
}

func TestBackoff(t *testing.T) {
	for attempts := 1; attempts <= 20; attempts++ {
		for range 50 {
			d := Backoff(attempts)
			if d <= 0 || d > 30*time.Minute || (attempts == 1 && d > 30*time.Second) {
				t.Fatalf("attempt %d: %s", attempts, d)
			}
		}
	}
	if Backoff(3) <= Backoff(1)/2 {
		t.Errorf("not growing")
	}
	if lo := Backoff(12); lo < 15*time.Minute {
		t.Errorf("cap: %s", lo)
	}
}

// TestCrashMidBatch: a worker claims a batch and dies before recording it;
// when the lease runs out another worker sends every row, and a row the dead
// worker had handed to the server goes out again with the same Message-ID.
func TestCrashMidBatch(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	e := mustEvent(t, svc, map[string]any{"slug": "crash"})
	for i := range 20 {
		signup(svc, "crash", fmt.Sprintf("p%02d@example.com", i))
	}
	// The dying worker: it claims, "sends" 5, then disappears without a word.
	dead := &recordingMailer{}
	claimed, err := svc.store.claim(ctx, "dead/1", svc.clock(), svc.clock().Add(2*time.Minute), 100)
	if err != nil || len(claimed) != 20 {
		t.Fatalf("claim: %d %v", len(claimed), err)
	}
	for _, row := range claimed[:5] {
		ev, _ := svc.Event(ctx, "crash")
		r, _ := svc.Store().RegistrationByID(ctx, row.RegistrationID)
		dead.Send(ctx, []mail.Message{svc.MailMessage(ev, r, row)})
	}
	live := &recordingMailer{}
	w := svc.NewWorker(live, time.Second, quiet)
	drain(t, w)
	if len(live.sent) != 0 {
		t.Fatalf("took leased rows: %d", len(live.sent))
	}
	clock.Add(2*time.Minute + time.Second)
	drain(t, w)
	if len(live.sent) != 20 {
		t.Fatalf("after the lease: %d sent", len(live.sent))
	}
	ids := map[string]int{}
	for _, m := range append(dead.sent, live.sent...) {
		ids[m.ID]++
	}
	var repeats []string
	for id, n := range ids {
		if n > 1 {
			repeats = append(repeats, id)
		}
	}
	sort.Strings(repeats)
	if len(ids) != 20 || len(repeats) != 5 {
		t.Errorf("%d distinct ids, %d repeated", len(ids), len(repeats))
	}
	for _, m := range dead.sent {
		if ids[m.ID] != 2 {
			t.Errorf("repeat of %s under another id", m.ID)
		}
	}
	if n, _ := svc.Store().PendingCount(ctx); n != 0 {
		t.Errorf("%d rows still pending", n)
	}
	_ = e
}

// TestOutage: with the mail server down, sign-ups go on, nothing is lost and
// retries back off; when it returns the backlog drains.
func TestOutage(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	mustEvent(t, svc, map[string]any{"slug": "outage"})
	down := errors.New("dial tcp 127.0.0.1:25: connect: connection refused")
	m := &recordingMailer{fail: func(mail.Message) error { return down }}
	w := svc.NewWorker(m, time.Second, quiet)
	calls := 0
	for i := range 30 {
		if _, err := signup(svc, "outage", fmt.Sprintf("o%02d@example.com", i)); err != nil {
			t.Fatal(err)
		}
		n, _ := w.RunOnce(ctx)
		calls += n
		clock.Add(time.Second)
	}
	// Backoff allows at most 3 attempts per message in 30 s (at 0, after
	// 5–10 s, after another 10–20 s); retrying each tick would make ~465.
	if calls > 90 {
		t.Errorf("%d attempts for 30 messages in 30 s", calls)
	}
	m.fail = nil
	clock.Add(5 * time.Minute)
	drain(t, w)
	if len(m.sent) != 30 {
		t.Errorf("delivered %d of 30", len(m.sent))
	}
}

func TestWorkerStopsAndReleasesLeases(t *testing.T) {
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	mustEvent(t, svc, map[string]any{"slug": "stop"})
	signup(svc, "stop", "s@example.com")
	m := &recordingMailer{}
	w := svc.NewWorker(m, 10*time.Millisecond, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	deadline := time.After(5 * time.Second)
	for len(m.kinds("")) == 0 {
		select {
		case <-deadline:
			t.Fatal("nothing sent")
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("worker did not stop")
	}
	// A lease this worker still holds when it stops is handed back: a row
	// claimed under its id is pending again once Run returns.
	signup(svc, "stop", "t@example.com")
	held, err := svc.store.claim(context.Background(), w.id+"/99", svc.clock(), svc.clock().Add(time.Hour), 10)
	if err != nil || len(held) != 1 {
		t.Fatalf("claim: %d %v", len(held), err)
	}
	stopped, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if err := w.Run(stopped); err != nil {
		t.Fatal(err)
	}
	e, _ := svc.Event(context.Background(), "stop")
	for status, want := range map[string]int{MsgSending: 0, MsgPending: 1} {
		rows, err := svc.Store().Messages(context.Background(), MessageFilter{EventID: e.ID, Status: status, Limit: 10})
		if err != nil || len(rows) != want {
			t.Errorf("%s rows after stop: %d, want %d (%v)", status, len(rows), want, err)
		}
	}
}
