package registration

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

const messageColumns = `m.id, m.event_id, m.registration_id, m.kind, m.status, m.due_at, m.offset_seconds,
	m.position, m.attempts, m.last_error, m.message_id, m.lease_owner, m.lease_until, m.created_at,
	m.updated_at, m.sent_at, r.email AS recipient`

const insertMessageSQL = `INSERT INTO messages (event_id, registration_id, kind, status, due_at, offset_seconds,
	position, message_id, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func insertMessage(ctx context.Context, tx *sqlx.Tx, m *Message) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(insertMessageSQL), m.EventID, m.RegistrationID, m.Kind, m.Status,
		m.DueAt, m.OffsetSeconds, m.Position, m.MessageID, m.CreatedAt, m.UpdatedAt)
	return mapErr(err)
}

// cancelPending drops the pending messages of the given kinds for one
// registration (registrationID > 0) or a whole event.
func cancelPending(ctx context.Context, tx *sqlx.Tx, eventID, registrationID int64, now time.Time, kinds ...string) error {
	q := `UPDATE messages SET status = 'cancelled', updated_at = ? WHERE status = 'pending'`
	args := []any{now}
	if registrationID > 0 {
		q += ` AND registration_id = ? AND event_id = ?`
		args = append(args, registrationID, eventID)
	} else {
		q += ` AND ` + ofEvent
		args = append(args, eventID)
	}
	if len(kinds) > 0 {
		q += ` AND kind IN (?` + strings.Repeat(",?", len(kinds)-1) + `)`
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
	return mapErr(err)
}

// claimSQLite leases due rows: pending ones whose time has come, and rows
// whose lease ran out (their worker died). One writer makes this atomic.
const claimSQLite = `UPDATE messages SET status = 'sending', lease_owner = ?, lease_until = ?, updated_at = ?
	WHERE id IN (SELECT id FROM messages
		WHERE (status = 'pending' AND due_at <= ?) OR (status = 'sending' AND lease_until < ?)
		ORDER BY due_at, id LIMIT ?)`

// claimPostgres is the same for several workers on one database: SKIP LOCKED
// lets each take different rows without waiting on the others.
const claimPostgres = `UPDATE messages SET status = 'sending', lease_owner = $1, lease_until = $2, updated_at = $3
	WHERE id IN (SELECT id FROM messages
		WHERE (status = 'pending' AND due_at <= $4) OR (status = 'sending' AND lease_until < $5)
		ORDER BY due_at, id LIMIT $6 FOR UPDATE SKIP LOCKED)`

// claim leases up to limit due messages to owner until leaseUntil and returns
// them; owner is unique to the call, so the rows it returns are exactly these.
func (s *Store) claim(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*Message, error) {
	q := claimSQLite
	if s.engine == Postgres {
		q = claimPostgres
	}
	if _, err := s.w.ExecContext(ctx, q, owner, leaseUntil, now, now, now, limit); err != nil {
		return nil, mapErr(err)
	}
	var out []*Message
	err := sqlx.SelectContext(ctx, s.w, &out, s.w.Rebind(`SELECT `+messageColumns+`
		FROM messages m JOIN registrations r ON r.id = m.registration_id
		WHERE m.status = 'sending' AND m.lease_owner = ? ORDER BY m.due_at, m.id`), owner)
	return out, mapErr(err)
}

// finishMessages records the outcome of a batch of attempts in one
// transaction (one sync for the batch), for the rows owner still holds.
func (s *Store) finishMessages(ctx context.Context, ms []*Message, owner string) error {
	if len(ms) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		q := tx.Rebind(`UPDATE messages SET status = ?, attempts = ?, last_error = ?,
		due_at = ?, sent_at = ?, lease_owner = '', lease_until = NULL, updated_at = ?
		WHERE id = ? AND lease_owner = ?`)
		for _, m := range ms {
			if _, err := tx.ExecContext(ctx, q, m.Status, m.Attempts, m.LastError, m.DueAt, m.SentAt, m.UpdatedAt, m.ID, owner); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
}

// releaseLeases hands back every row a worker still holds, for a clean
// shutdown; worker is the prefix of its lease owners.
func (s *Store) releaseLeases(ctx context.Context, worker string, now time.Time) error {
	_, err := s.w.ExecContext(ctx, s.w.Rebind(`UPDATE messages SET status = 'pending', lease_owner = '',
		lease_until = NULL, updated_at = ? WHERE status = 'sending' AND lease_owner LIKE ?`), now, worker+"/%")
	return mapErr(err)
}

// MessageFilter selects outbox rows for organizers.
type MessageFilter struct {
	EventID        int64
	RegistrationID int64
	Status         string
	Limit          int
}

// Messages lists outbox rows, newest first.
func (s *Store) Messages(ctx context.Context, f MessageFilter) ([]*Message, error) {
	q := `SELECT ` + messageColumns + ` FROM messages m JOIN registrations r ON r.id = m.registration_id WHERE r.event_id = ?`
	args := []any{f.EventID}
	if f.RegistrationID > 0 {
		q += ` AND m.registration_id = ?`
		args = append(args, f.RegistrationID)
	}
	if f.Status != "" {
		q += ` AND m.status = ?`
		args = append(args, f.Status)
	}
	q += ` ORDER BY m.due_at DESC, m.id DESC LIMIT ?`
	args = append(args, f.Limit)
	var out []*Message
	err := sqlx.SelectContext(ctx, s.r, &out, s.r.Rebind(q), args...)
	return out, mapErr(err)
}

// PendingCount counts messages not yet sent (pending or being sent).
func (s *Store) PendingCount(ctx context.Context) (int, error) {
	var n int
	err := sqlx.GetContext(ctx, s.r, &n, `SELECT COUNT(*) FROM messages WHERE status IN ('pending', 'sending')`)
	return n, mapErr(err)
}

func retryFailed(ctx context.Context, tx *sqlx.Tx, eventID, messageID int64, now time.Time) (int64, error) {
	q := `UPDATE messages SET status = 'pending', due_at = ?, attempts = 0, updated_at = ? WHERE event_id = ? AND status = 'failed'`
	args := []any{now, now, eventID}
	if messageID > 0 {
		q += ` AND id = ?`
		args = append(args, messageID)
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n, mapErr(err)
}

// ofEvent selects the messages of one event through its registrations
// (messages have no index by event; see migration 0002).
const ofEvent = `registration_id IN (SELECT id FROM registrations WHERE event_id = ?)`

// eventsStartingAfter lists published events starting in (from, to].
func (s *Store) eventsStartingAfter(ctx context.Context, from, to time.Time) ([]*Event, error) {
	var out []*Event
	err := sqlx.SelectContext(ctx, s.r, &out, s.r.Rebind(`SELECT `+eventColumns+` FROM events
		WHERE state = 'published' AND starts_at > ? AND starts_at <= ?`), from, to)
	return out, mapErr(err)
}

// insertReminderPlan records that a reminder is planned; false when it was already.
func insertReminderPlan(ctx context.Context, tx *sqlx.Tx, eventID int64, p PlannedReminder, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO reminder_plans (event_id, offset_seconds, starts_at, planned_at)
		VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`), eventID, int64(p.Offset/time.Second), p.DueAt.Add(p.Offset), now)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, mapErr(err)
}

// reminderAudience is who gets a reminder when it is planned: confirmed
// before it fell due, and not opted out. Arguments: event id, false, due time.
const reminderAudience = `event_id = ? AND status = 'confirmed' AND reminders_off = ? AND confirmed_at < ?`

// reminderIDPrefix starts the Message-ID of every row of one planned
// reminder (event, offset, start), so the rows of a plan can be found again.
func reminderIDPrefix(e *Event, p PlannedReminder) string {
	return fmt.Sprintf("reminder.%d.%d.%d.", e.ID, int64(p.Offset/time.Second), e.StartsAt.Unix())
}

// insertReminderMessages queues one reminder per registrant confirmed before
// it fell due, in one statement. Message-IDs are derived from the plan and the
// registration, so they are stable.
func insertReminderMessages(ctx context.Context, tx *sqlx.Tx, eventID int64, p PlannedReminder, idPrefix, idSuffix string, now time.Time) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO messages (event_id, registration_id, kind, status, due_at,
		offset_seconds, position, message_id, created_at, updated_at)
		SELECT event_id, id, 'reminder', 'pending', ?, ?, 0, CAST(? AS TEXT) || CAST(id AS TEXT) || CAST(? AS TEXT), ?, ?
		FROM registrations WHERE `+reminderAudience+` ORDER BY id`),
		p.DueAt, int64(p.Offset/time.Second), idPrefix, idSuffix, now, now, eventID, false, p.DueAt)
	return mapErr(err)
}

// OutboxCounts tallies every outbox row by status.
func (s *Store) OutboxCounts(ctx context.Context) (map[string]int, error) {
	return s.countByStatus(ctx, `SELECT status, COUNT(*) FROM messages GROUP BY status`)
}

// countByStatus runs a "SELECT status, COUNT(*) … GROUP BY status" query.
func (s *Store) countByStatus(ctx context.Context, query string, args ...any) (map[string]int, error) {
	rows, err := s.r.QueryxContext(ctx, s.r.Rebind(query), args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, mapErr(err)
		}
		out[st] = n
	}
	return out, mapErr(rows.Err())
}
