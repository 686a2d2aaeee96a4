package registration

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

const eventColumns = `id, slug, kind, title, organizer, summary, description, timezone,
	registration_opens_at, registration_closes_at, starts_at, ends_at, capacity, waitlist,
	join_url, location, replay_url, download_url, reminders, state, sequence, confirmed,
	waitlisted, replay_planned_at, created_at, updated_at`

const insertEventSQL = `INSERT INTO events (slug, kind, title, organizer, summary, description, timezone,
	registration_opens_at, registration_closes_at, starts_at, ends_at, capacity, waitlist,
	join_url, location, replay_url, download_url, reminders, state, sequence, created_at, updated_at)
	VALUES (:slug, :kind, :title, :organizer, :summary, :description, :timezone,
	:registration_opens_at, :registration_closes_at, :starts_at, :ends_at, :capacity, :waitlist,
	:join_url, :location, :replay_url, :download_url, :reminders, :state, :sequence, :created_at, :updated_at)
	RETURNING id`

func insertEvent(ctx context.Context, tx *sqlx.Tx, e *Event) error {
	q, args, err := tx.BindNamed(insertEventSQL, e)
	if err != nil {
		return err
	}
	err = tx.QueryRowxContext(ctx, q, args...).Scan(&e.ID)
	if isUnique(err) {
		return ErrSlugTaken
	}
	return mapErr(err)
}

const updateEventSQL = `UPDATE events SET slug = :slug, kind = :kind, title = :title, organizer = :organizer,
	summary = :summary, description = :description, timezone = :timezone,
	registration_opens_at = :registration_opens_at, registration_closes_at = :registration_closes_at,
	starts_at = :starts_at, ends_at = :ends_at, capacity = :capacity, waitlist = :waitlist,
	join_url = :join_url, location = :location, replay_url = :replay_url, download_url = :download_url,
	reminders = :reminders, state = :state, sequence = :sequence, updated_at = :updated_at
	WHERE id = :id`

func updateEvent(ctx context.Context, tx *sqlx.Tx, e *Event) error {
	q, args, err := tx.BindNamed(updateEventSQL, e)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, q, args...)
	switch {
	case isUnique(err):
		return ErrSlugTaken
	case isCheck(err):
		return fmt.Errorf("%w: capacity below confirmed registrations", ErrConflict)
	}
	return mapErr(err)
}

func eventBySlug(ctx context.Context, q sqlx.ExtContext, slug string) (*Event, error) {
	var e Event
	err := sqlx.GetContext(ctx, q, &e, q.Rebind(`SELECT `+eventColumns+` FROM events WHERE slug = ?`), slug)
	if err != nil {
		return nil, mapErr(err)
	}
	return &e, nil
}

func eventByID(ctx context.Context, q sqlx.ExtContext, id int64) (*Event, error) {
	var e Event
	err := sqlx.GetContext(ctx, q, &e, q.Rebind(`SELECT `+eventColumns+` FROM events WHERE id = ?`), id)
	if err != nil {
		return nil, mapErr(err)
	}
	return &e, nil
}

// lockEvent is the row lock a guarded UPDATE of the event takes, taken by a
// read: on PostgreSQL a transaction that reads an event to decide on it
// (promote, plan the replay, edit) holds the row until it ends, so another
// instance waits and then reads the outcome. Every transaction that writes an
// event and its registrations takes the event first, so none deadlock. (NO
// KEY: inserts that reference the event are not held up.) SQLite's write
// transaction holds the whole database already.
func lockEvent(tx *sqlx.Tx) string {
	if tx.DriverName() == "pgx" {
		return ` FOR NO KEY UPDATE`
	}
	return ``
}

// lockedEventBySlug reads an event and keeps it to this transaction.
func lockedEventBySlug(ctx context.Context, tx *sqlx.Tx, slug string) (*Event, error) {
	var e Event
	err := sqlx.GetContext(ctx, tx, &e, tx.Rebind(`SELECT `+eventColumns+` FROM events WHERE slug = ?`+lockEvent(tx)), slug)
	if err != nil {
		return nil, mapErr(err)
	}
	return &e, nil
}

// lockedEventByID reads an event and keeps it to this transaction.
func lockedEventByID(ctx context.Context, tx *sqlx.Tx, id int64) (*Event, error) {
	var e Event
	err := sqlx.GetContext(ctx, tx, &e, tx.Rebind(`SELECT `+eventColumns+` FROM events WHERE id = ?`+lockEvent(tx)), id)
	if err != nil {
		return nil, mapErr(err)
	}
	return &e, nil
}

// EventBySlug reads one event.
func (s *Store) EventBySlug(ctx context.Context, slug string) (*Event, error) {
	return eventBySlug(ctx, s.r, slug)
}

// EventFilter selects events for lists.
type EventFilter struct {
	PublishedOnly bool
	Kinds         []string
}

// Events lists events, soonest first (by start, else by registration close).
func (s *Store) Events(ctx context.Context, f EventFilter) ([]*Event, error) {
	var where []string
	var args []any
	if f.PublishedOnly {
		where = append(where, "state <> 'draft'")
	}
	if len(f.Kinds) > 0 {
		where = append(where, "kind IN (?"+strings.Repeat(",?", len(f.Kinds)-1)+")")
		for _, k := range f.Kinds {
			args = append(args, k)
		}
	}
	q := `SELECT ` + eventColumns + ` FROM events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY COALESCE(starts_at, registration_closes_at, registration_opens_at), id"
	var out []*Event
	if err := sqlx.SelectContext(ctx, s.r, &out, s.r.Rebind(q), args...); err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}

const countsSQL = `SELECT
	COALESCE(SUM(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END), 0) AS confirmed,
	COALESCE(SUM(CASE WHEN status = 'waitlisted' THEN 1 ELSE 0 END), 0) AS waitlisted,
	COALESCE(SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END), 0) AS cancelled,
	COALESCE(SUM(CASE WHEN status = 'confirmed' AND checked_in_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS checked_in,
	COALESCE(SUM(CASE WHEN status = 'confirmed' AND joined_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS joined
	FROM registrations WHERE event_id = ?`

// Counts tallies an event's registrations.
func (s *Store) Counts(ctx context.Context, eventID int64) (Counts, error) {
	var c Counts
	err := sqlx.GetContext(ctx, s.r, &c, s.r.Rebind(countsSQL), eventID)
	return c, mapErr(err)
}

// DayCount is the number of sign-ups on one day.
type DayCount struct {
	Day   string `json:"day" db:"day"`
	Count int    `json:"count"`
}

// SignupTimes returns the creation time of every registration of an event, for
// per-day tallies in the event's timezone (done in Go: the two engines disagree
// on time zone arithmetic).
func (s *Store) SignupTimes(ctx context.Context, eventID int64) ([]time.Time, error) {
	var out []time.Time
	err := sqlx.SelectContext(ctx, s.r, &out, s.r.Rebind(`SELECT created_at FROM registrations WHERE event_id = ? ORDER BY id`), eventID)
	return out, mapErr(err)
}

// EmailCounts tallies an event's outbox rows by status.
func (s *Store) EmailCounts(ctx context.Context, eventID int64) (map[string]int, error) {
	return s.countByStatus(ctx, `SELECT status, COUNT(*) FROM messages WHERE `+ofEvent+` GROUP BY status`, eventID)
}

// eventGuard takes a seat when one is left: the capacity rule lives in this
// one statement, so no interleaving of sign-ups can over-book.
const takeSeatSQL = `UPDATE events SET confirmed = confirmed + 1 WHERE id = ? AND (capacity IS NULL OR confirmed < capacity)`

func takeSeat(ctx context.Context, tx *sqlx.Tx, eventID int64) (bool, error) {
	res, err := tx.ExecContext(ctx, tx.Rebind(takeSeatSQL), eventID)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, mapErr(err)
}

// openGuard is the part of the sign-up rule the database checks at the
// moment of writing: the event is published and inside its window.
const openGuard = `state = 'published' AND registration_opens_at <= ? AND
	(registration_closes_at IS NULL OR registration_closes_at > ?) AND (ends_at IS NULL OR ends_at > ?)`

// takeSeatIfOpen takes a seat of an open event with a seat left.
func takeSeatIfOpen(ctx context.Context, tx *sqlx.Tx, eventID int64, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE events SET confirmed = confirmed + 1
		WHERE id = ? AND (capacity IS NULL OR confirmed < capacity) AND `+openGuard), eventID, now, now, now)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, mapErr(err)
}

// joinWaitlistIfOpen counts one more waitlisted registration of an open
// event with a waitlist.
func joinWaitlistIfOpen(ctx context.Context, tx *sqlx.Tx, eventID int64, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE events SET waitlisted = waitlisted + 1
		WHERE id = ? AND waitlist = ? AND `+openGuard), eventID, true, now, now, now)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, mapErr(err)
}

func addCounters(ctx context.Context, tx *sqlx.Tx, eventID int64, confirmed, waitlisted int) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE events SET confirmed = confirmed + ?, waitlisted = waitlisted + ? WHERE id = ?`), confirmed, waitlisted, eventID)
	return mapErr(err)
}

func markReplayPlanned(ctx context.Context, tx *sqlx.Tx, eventID int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE events SET replay_planned_at = ? WHERE id = ?`), now, eventID)
	return mapErr(err)
}

// EventsNeedingReplay lists published events that have ended, have a replay,
// and whose replay mail is not planned yet.
func (s *Store) EventsNeedingReplay(ctx context.Context, now time.Time) ([]int64, error) {
	var ids []int64
	err := sqlx.SelectContext(ctx, s.r, &ids, s.r.Rebind(`SELECT id FROM events
		WHERE state = 'published' AND replay_url <> '' AND replay_planned_at IS NULL AND ends_at IS NOT NULL AND ends_at <= ?`), now)
	return ids, mapErr(err)
}
