package registration

import (
	"context"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

const registrationColumns = `id, event_id, status, name, email, email_norm, company, job_title, phone,
	question, locale, consent, reminders_off, created_at, updated_at, confirmed_at, cancelled_at,
	checked_in_at, joined_at, notified_at`

// Positional, not named: binding names costs a parse per call on the
// hottest statement of a rush.
const insertRegistrationSQL = `INSERT INTO registrations (event_id, status, name, email, email_norm, company,
	job_title, phone, question, locale, consent, created_at, updated_at, confirmed_at, notified_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	RETURNING id`

// errDuplicate is an insert that met the live-registration unique index.
var errDuplicate = ErrConflict

func insertRegistration(ctx context.Context, tx *sqlx.Tx, r *Registration) error {
	err := tx.QueryRowContext(ctx, tx.Rebind(insertRegistrationSQL), r.EventID, r.Status, r.Name, r.Email,
		r.EmailNorm, r.Company, r.JobTitle, r.Phone, r.Question, r.Locale, r.Consent, r.CreatedAt, r.UpdatedAt,
		r.ConfirmedAt, r.NotifiedAt).Scan(&r.ID)
	if isUnique(err) {
		return errDuplicate
	}
	return mapErr(err)
}

func liveRegistrationByEmail(ctx context.Context, q sqlx.ExtContext, eventID int64, emailNorm string) (*Registration, error) {
	// Most sign-ups are new: look for the id alone, read the row only for a repeat.
	var id int64
	err := q.QueryRowxContext(ctx, q.Rebind(`SELECT id FROM registrations
		WHERE event_id = ? AND email_norm = ? AND status <> 'cancelled'`), eventID, emailNorm).Scan(&id)
	if err != nil {
		return nil, mapErr(err)
	}
	return registrationByID(ctx, q, id)
}

func registrationByID(ctx context.Context, q sqlx.ExtContext, id int64) (*Registration, error) {
	var r Registration
	err := sqlx.GetContext(ctx, q, &r, q.Rebind(`SELECT `+registrationColumns+` FROM registrations WHERE id = ?`), id)
	if err != nil {
		return nil, mapErr(err)
	}
	return &r, nil
}

// waitlistPosition is 1 + the number of waitlisted registrations ahead of r.
func waitlistPosition(ctx context.Context, q sqlx.ExtContext, r *Registration) (int, error) {
	if r.Status != RegWaitlisted {
		return 0, nil
	}
	var n int
	err := sqlx.GetContext(ctx, q, &n, q.Rebind(`SELECT COUNT(*) FROM registrations
		WHERE event_id = ? AND status = 'waitlisted' AND id <= ?`), r.EventID, r.ID)
	return n, mapErr(err)
}

func oldestWaitlisted(ctx context.Context, tx *sqlx.Tx, eventID int64) (*Registration, error) {
	var r Registration
	err := sqlx.GetContext(ctx, tx, &r, tx.Rebind(`SELECT `+registrationColumns+` FROM registrations
		WHERE event_id = ? AND status = 'waitlisted' ORDER BY id LIMIT 1`), eventID)
	if err != nil {
		return nil, mapErr(err)
	}
	return &r, nil
}

func setRegistrationStatus(ctx context.Context, tx *sqlx.Tx, r *Registration) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE registrations SET status = ?, updated_at = ?,
		confirmed_at = ?, cancelled_at = ?, notified_at = ? WHERE id = ?`),
		r.Status, r.UpdatedAt, r.ConfirmedAt, r.CancelledAt, r.NotifiedAt, r.ID)
	return mapErr(err)
}

func setNotified(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE registrations SET notified_at = ? WHERE id = ?`), now, id)
	return mapErr(err)
}

func setCheckedIn(ctx context.Context, tx *sqlx.Tx, id int64, at *time.Time, now time.Time) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE registrations SET checked_in_at = ?, updated_at = ? WHERE id = ?`), at, now, id)
	return mapErr(err)
}

func setJoined(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE registrations SET joined_at = ? WHERE id = ? AND joined_at IS NULL`), now, id)
	return mapErr(err)
}

func setRemindersOff(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE registrations SET reminders_off = ?, updated_at = ? WHERE id = ?`), true, now, id)
	return mapErr(err)
}

func registrationsByStatus(ctx context.Context, tx *sqlx.Tx, eventID int64, statuses ...string) ([]*Registration, error) {
	q := `SELECT ` + registrationColumns + ` FROM registrations WHERE event_id = ? AND status IN (?` +
		strings.Repeat(",?", len(statuses)-1) + `) ORDER BY id`
	args := []any{eventID}
	for _, s := range statuses {
		args = append(args, s)
	}
	var out []*Registration
	err := sqlx.SelectContext(ctx, tx, &out, tx.Rebind(q), args...)
	return out, mapErr(err)
}

// RegistrationFilter selects an event's registrations for the organizer list.
type RegistrationFilter struct {
	EventID int64
	Status  string // empty: all
	Query   string // substring of name, email or company
	AfterID int64  // cursor: registrations with a larger id
	Limit   int
}

func (f RegistrationFilter) where() (string, []any) {
	w := "event_id = ?"
	args := []any{f.EventID}
	if f.Status != "" {
		w += " AND status = ?"
		args = append(args, f.Status)
	}
	if f.Query != "" {
		like := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
		w += ` AND (LOWER(name) LIKE ? ESCAPE '\' OR email_norm LIKE ? ESCAPE '\' OR LOWER(company) LIKE ? ESCAPE '\')`
		args = append(args, like, like, like)
	}
	return w, args
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Registrations lists one page of registrations in sign-up order, and the
// total that match the filter. Paging by id keeps pages stable while new
// sign-ups arrive: they land after every cursor.
func (s *Store) Registrations(ctx context.Context, f RegistrationFilter) ([]*Registration, int, error) {
	w, args := f.where()
	var total int
	if err := sqlx.GetContext(ctx, s.r, &total, s.r.Rebind(`SELECT COUNT(*) FROM registrations WHERE `+w), args...); err != nil {
		return nil, 0, mapErr(err)
	}
	q := `SELECT ` + registrationColumns + ` FROM registrations WHERE ` + w + ` AND id > ? ORDER BY id LIMIT ?`
	var out []*Registration
	if err := sqlx.SelectContext(ctx, s.r, &out, s.r.Rebind(q), append(args, f.AfterID, f.Limit)...); err != nil {
		return nil, 0, mapErr(err)
	}
	return out, total, nil
}

// EachRegistration calls fn for every registration of an event matching f, in
// sign-up order, reading row by row so memory stays flat.
func (s *Store) EachRegistration(ctx context.Context, f RegistrationFilter, fn func(*Registration) error) error {
	w, args := f.where()
	rows, err := s.r.QueryxContext(ctx, s.r.Rebind(`SELECT `+registrationColumns+` FROM registrations WHERE `+w+` ORDER BY id`), args...)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	var r Registration
	// Scanned by position into one reused value: no reflection per row, so
	// an export of 100,000 rows streams fast in flat memory.
	dest := []any{&r.ID, &r.EventID, &r.Status, &r.Name, &r.Email, &r.EmailNorm, &r.Company, &r.JobTitle,
		&r.Phone, &r.Question, &r.Locale, &r.Consent, &r.RemindersOff, &r.CreatedAt, &r.UpdatedAt,
		&r.ConfirmedAt, &r.CancelledAt, &r.CheckedInAt, &r.JoinedAt, &r.NotifiedAt}
	for rows.Next() {
		r.ConfirmedAt, r.CancelledAt, r.CheckedInAt, r.JoinedAt, r.NotifiedAt = nil, nil, nil, nil, nil
		if err := rows.Scan(dest...); err != nil {
			return mapErr(err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return mapErr(rows.Err())
}

// RegistrationByID reads one registration.
func (s *Store) RegistrationByID(ctx context.Context, id int64) (*Registration, error) {
	r, err := registrationByID(ctx, s.r, id)
	if err != nil {
		return nil, err
	}
	r.WaitlistPosition, err = waitlistPosition(ctx, s.r, r)
	return r, err
}
