package registration

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"eventreg/mail"
)

// Message kinds, as the outbox stores them.
const (
	KindConfirmation   = string(mail.KindConfirmation)
	KindWaitlisted     = string(mail.KindWaitlisted)
	KindPromoted       = string(mail.KindPromoted)
	KindCancelled      = string(mail.KindCancelled)
	KindEventUpdated   = string(mail.KindEventUpdated)
	KindEventCancelled = string(mail.KindEventCancelled)
	KindReminder       = string(mail.KindReminder)
	KindReplay         = string(mail.KindReplay)
)

// Retry policy for temporary failures.
const (
	retryBase   = 10 * time.Second
	retryCap    = 30 * time.Minute
	maxAttempts = 12 // about four hours of trying before a row is failed
)

// newMessageID makes a unique Message-ID that sorts by creation: 8 bytes of
// the wall clock, then 4 random bytes so that instances and same-nanosecond
// calls do not collide. Sorting by time matters to the unique index on
// message ids: each new id lands at its end, so a batch of sign-ups dirties
// one page of it instead of one page each.
func (s *Service) newMessageID(kind string) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixNano()))
	_, _ = rand.Read(b[8:])
	return kind + "." + hex.EncodeToString(b[:]) + "@" + s.host
}

// queue writes one message to the outbox, due now, in the caller's transaction.
func (s *Service) queue(ctx context.Context, tx *sqlx.Tx, e *Event, r *Registration, kind string, now time.Time, position int) error {
	return insertMessage(ctx, tx, &Message{
		EventID: e.ID, RegistrationID: r.ID, Kind: kind, Status: MsgPending, DueAt: now,
		Position: position, MessageID: s.newMessageID(kind), CreatedAt: now, UpdatedAt: now,
	})
}

// planConfirmed queues the confirmation (or promotion) of a registration
// that just got a seat. Its reminders are planned when they fall due (see
// planDueReminders), for everyone confirmed by then.
func (s *Service) planConfirmed(ctx context.Context, tx *sqlx.Tx, e *Event, r *Registration, kind string, now time.Time) error {
	return s.queue(ctx, tx, e, r, kind, now, 0)
}

// PlannedReminder is one reminder of an event's schedule.
type PlannedReminder struct {
	Offset time.Duration
	DueAt  time.Time
}

// ReminderTimes is the reminder schedule of an event: one per offset, due at
// starts_at − offset. A registrant gets a reminder when confirmed before it
// falls due and still confirmed when it is sent, before the start.
func ReminderTimes(e *Event) []PlannedReminder {
	if e.StartsAt == nil {
		return nil
	}
	out := make([]PlannedReminder, 0, len(e.Reminders))
	for _, off := range e.Reminders {
		out = append(out, PlannedReminder{Offset: off, DueAt: e.StartsAt.Add(-off)})
	}
	return out
}

// planDueReminders writes the outbox rows of every reminder that has fallen
// due for an event not yet started: one row per registrant confirmed before
// the due time who has not opted out. Each (event, offset, start) is planned
// once, so neither a restart, a second worker nor a clock jumping back plans
// it twice; a new start time is a new plan. A reminder whose event has
// started is never planned: it would be late.
func (s *Service) planDueReminders(ctx context.Context, now time.Time) error {
	events, err := s.store.eventsStartingAfter(ctx, now, now.Add(maxReminder+time.Minute))
	if err != nil {
		return err
	}
	for _, e := range events {
		for _, p := range ReminderTimes(e) {
			if p.DueAt.After(now) {
				continue
			}
			err := s.store.tx(ctx, func(tx *sqlx.Tx) error {
				first, err := insertReminderPlan(ctx, tx, e.ID, p, now)
				if err != nil || !first {
					return err
				}
				return insertReminderMessages(ctx, tx, e.ID, p, reminderIDPrefix(e, p), "@"+s.host, now)
			})
			if err != nil {
				return fmt.Errorf("plan reminder of event %d: %w", e.ID, err)
			}
		}
	}
	return nil
}

// eventChanged tells confirmed registrants of a new time, link or place and,
// when the start moved, re-plans their reminders for the new time.
func (s *Service) eventChanged(ctx context.Context, tx *sqlx.Tx, e, old *Event, now time.Time) error {
	if e.State == StateDraft {
		return nil
	}
	regs, err := registrationsByStatus(ctx, tx, e.ID, RegConfirmed)
	if err != nil {
		return err
	}
	for _, r := range regs {
		if err := s.queue(ctx, tx, e, r, KindEventUpdated, now, 0); err != nil {
			return err
		}
	}
	if !timeEq(old.StartsAt, e.StartsAt) {
		return s.replanReminders(ctx, tx, e, now)
	}
	return nil
}

// replanReminders drops the pending reminders of the event: planned for the
// old time, they are planned anew when the new times fall due.
func (s *Service) replanReminders(ctx context.Context, tx *sqlx.Tx, e *Event, now time.Time) error {
	return cancelPending(ctx, tx, e.ID, 0, now, KindReminder)
}

// planReplays queues the replay mail of every ended event with a replay, once.
func (s *Service) planReplays(ctx context.Context, now time.Time) error {
	ids, err := s.store.EventsNeedingReplay(ctx, now)
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := s.store.tx(ctx, func(tx *sqlx.Tx) error {
			e, err := lockedEventByID(ctx, tx, id)
			if err != nil {
				return err
			}
			if e.ReplayPlannedAt != nil {
				return nil // another worker was first
			}
			regs, err := registrationsByStatus(ctx, tx, e.ID, RegConfirmed)
			if err != nil {
				return err
			}
			for _, r := range regs {
				if r.RemindersOff {
					continue
				}
				if err := s.queue(ctx, tx, e, r, KindReplay, now, 0); err != nil {
					return err
				}
			}
			return markReplayPlanned(ctx, tx, e.ID, now)
		})
		if err != nil {
			return fmt.Errorf("plan replay of event %d: %w", id, err)
		}
	}
	return nil
}

// Mailer delivers a batch of messages; one error per message, nil when sent.
// Errors for which mail.IsPermanent holds fail the row at once.
type Mailer interface {
	Send(ctx context.Context, msgs []mail.Message) []error
}

// Worker is the delivery loop: it claims due outbox rows with a lease, sends
// them and records each outcome.
type Worker struct {
	svc      *Service
	mailer   Mailer
	interval time.Duration
	batch    int // messages per connection
	conns    int // connections side by side

	// Lease is how long a claimed row stays with this worker; a worker that
	// dies leaves its rows to others when it ends. It must outlast sending a
	// batch (SMTP timeouts included).
	Lease time.Duration
	id    string
	seq   atomic.Int64
	log   *slog.Logger

	// Observe, when set, hears of every attempt: the message kind, the
	// outcome (sent, pending for a retry, failed, skipped), when the row fell
	// due and when it was settled. main hooks metrics here.
	Observe func(kind, outcome string, dueAt, at time.Time)
}

// NewWorker returns a delivery loop that looks for due mail every interval.
func (s *Service) NewWorker(m Mailer, interval time.Duration, log *slog.Logger) *Worker {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &Worker{svc: s, mailer: m, interval: interval, batch: 100, conns: 4, Lease: 2 * time.Minute,
		id: hex.EncodeToString(b), log: log}
}

// Run delivers until ctx ends, then finishes the batch in hand and hands back
// any lease it still holds.
func (w *Worker) Run(ctx context.Context) error {
	defer func() {
		if err := w.svc.store.releaseLeases(context.Background(), w.id, w.svc.clock()); err != nil {
			w.log.Error("release leases", "err", err)
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		n, err := w.RunOnce(ctx)
		if err != nil {
			w.log.Error("deliver", "err", err)
		}
		wait := w.interval
		if n == w.batch*w.conns && err == nil {
			wait = 0 // more is waiting
		}
		timer.Reset(wait)
	}
}

// RunOnce plans replays, then claims and sends one batch of due messages, and
// returns how many it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	s := w.svc
	now := s.clock()
	if err := s.planReplays(ctx, now); err != nil {
		return 0, err
	}
	if err := s.planDueReminders(ctx, now); err != nil {
		return 0, err
	}
	owner := w.id + "/" + strconv.FormatInt(w.seq.Add(1), 10)
	rows, err := s.store.claim(ctx, owner, now, now.Add(w.Lease), w.batch*w.conns)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	// The batch in hand is finished even when ctx ends: a message handed to
	// the server must be recorded as sent.
	ctx = context.WithoutCancel(ctx)
	var msgs []mail.Message
	var sending, settled []*Message
	events := map[int64]*Event{}
	for _, row := range rows {
		msg, skip, err := w.build(ctx, row, events, now)
		switch {
		case err != nil:
			w.settle(row, err, now)
			settled = append(settled, row)
		case skip != "":
			row.Status, row.LastError, row.UpdatedAt = MsgSkipped, skip, now
			settled = append(settled, row)
		default:
			msgs = append(msgs, msg)
			sending = append(sending, row)
		}
	}
	// A few connections side by side, each carrying a batch: one SMTP
	// connection is limited by round trips, not by the server.
	errs := make([]error, len(msgs))
	var wg sync.WaitGroup
	for lo := 0; lo < len(msgs); lo += w.batch {
		hi := min(lo+w.batch, len(msgs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			copy(errs[lo:hi], w.mailer.Send(ctx, msgs[lo:hi]))
		}()
	}
	wg.Wait()
	done := s.clock()
	for i, row := range sending {
		w.settle(row, errs[i], done)
	}
	settled = append(settled, sending...)
	if err := s.store.finishMessages(ctx, settled, owner); err != nil {
		// The leases run out and the rows are tried again: a repeat at
		// worst, with the same Message-ID.
		return len(rows), fmt.Errorf("record deliveries: %w", err)
	}
	if w.Observe != nil {
		for _, row := range settled {
			w.Observe(row.Kind, row.Status, row.dueBefore, row.UpdatedAt)
		}
	}
	return len(rows), nil
}

// build turns an outbox row into a mail message, or says why it is skipped.
func (w *Worker) build(ctx context.Context, row *Message, events map[int64]*Event, now time.Time) (mail.Message, string, error) {
	s := w.svc
	e, ok := events[row.EventID]
	if !ok {
		var err error
		if e, err = eventByID(ctx, s.store.w, row.EventID); err != nil {
			return mail.Message{}, "", err
		}
		events[row.EventID] = e
	}
	r, err := registrationByID(ctx, s.store.w, row.RegistrationID)
	if err != nil {
		return mail.Message{}, "", err
	}
	switch row.Kind {
	case KindReminder:
		switch {
		case r.Status != RegConfirmed:
			return mail.Message{}, "registration not confirmed", nil
		case e.State == StateCancelled:
			return mail.Message{}, "event cancelled", nil
		case r.RemindersOff:
			return mail.Message{}, "reminders turned off", nil
		case e.StartsAt == nil || !now.Before(*e.StartsAt):
			return mail.Message{}, "event already started", nil
		}
	case KindReplay:
		if r.RemindersOff {
			return mail.Message{}, "reminders turned off", nil
		}
	case KindConfirmation, KindPromoted, KindEventUpdated:
		if r.Status != RegConfirmed {
			return mail.Message{}, "registration no longer confirmed", nil
		}
	}
	return s.MailMessage(e, r, row), "", nil
}

// MailMessage is the plain message for one outbox row.
func (s *Service) MailMessage(e *Event, r *Registration, row *Message) mail.Message {
	token := s.ManageToken(r.ID)
	m := mail.Message{
		ID: row.MessageID, Kind: mail.Kind(row.Kind), From: s.opts.MailFrom, To: r.Email, ToName: r.Name,
		Locale: r.Locale, CalUID: s.CalendarUID(r), Event: MailEvent(e),
		Links: mail.Links{
			Manage:   s.URL("/r/" + token),
			Join:     s.URL("/j/" + token),
			Calendar: s.URL("/api/v1/registrations/" + token + "/calendar.ics"),
			Event:    s.URL("/events/" + e.Slug),
		},
		Status: r.Status, Position: row.Position, Offset: time.Duration(row.OffsetSeconds) * time.Second,
		Joined: r.JoinedAt != nil, CreatedAt: row.CreatedAt,
	}
	if !m.Kind.Transactional() {
		m.Links.Unsubscribe = s.URL("/u/" + token)
	}
	return m
}

// CalendarUID is the iCalendar UID of a registration's event entry.
func (s *Service) CalendarUID(r *Registration) string {
	return fmt.Sprintf("registration-%d@%s", r.ID, s.host)
}

// MailEvent is what messages say about an event.
func MailEvent(e *Event) mail.Event {
	return mail.Event{
		Slug: e.Slug, Kind: e.Kind, Title: e.Title, Organizer: e.Organizer, Summary: e.Summary,
		Location: e.Location, Timezone: e.Timezone, StartsAt: e.StartsAt, EndsAt: e.EndsAt,
		Sequence: e.Sequence, Cancelled: e.State == StateCancelled,
	}
}

// settle decides the outcome of one attempt: sent, retried later, or failed.
func (w *Worker) settle(row *Message, err error, now time.Time) {
	row.dueBefore = row.DueAt
	row.UpdatedAt = now
	row.Attempts++
	switch {
	case err == nil:
		row.Status, row.SentAt, row.LastError = MsgSent, &now, ""
	case mail.IsPermanent(err) || row.Attempts >= maxAttempts:
		row.Status, row.LastError = MsgFailed, truncate(err.Error(), 1000)
	default:
		row.Status, row.LastError = MsgPending, truncate(err.Error(), 1000)
		row.DueAt = now.Add(Backoff(row.Attempts))
	}
	if err != nil {
		w.log.Warn("mail not sent", "message_id", row.MessageID, "kind", row.Kind, "attempts", row.Attempts,
			"status", row.Status, "err", err)
	}
}

// Backoff is the wait before retry number attempts: exponential from 10 s,
// capped at 30 min, with jitter so that a recovering server is not hit by
// every retry at once. The first retry comes within 10 s.
func Backoff(attempts int) time.Duration {
	d := retryBase
	for i := 1; i < attempts && d < retryCap; i++ {
		d *= 2
	}
	d = min(d, retryCap)
	return d/2 + mrand.N(d/2+1)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
