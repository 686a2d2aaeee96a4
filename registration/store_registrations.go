package registration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"
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

// where is the condition of f, for registrations with the given status (any
// when empty).
func (f RegistrationFilter) where(status string) (string, []any) {
	w := "event_id = ?"
	args := []any{f.EventID}
	if status != "" {
		w += " AND status = ?"
		args = append(args, status)
	}
	if f.Query != "" {
		like := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
		w += ` AND (LOWER(name) LIKE ? ESCAPE '\' OR email_norm LIKE ? ESCAPE '\' OR LOWER(company) LIKE ? ESCAPE '\')`
		args = append(args, like, like, like)
	}
	return w, args
}

// inOrder selects cols (among them id) of the registrations f matches with
// an id above f.AfterID, in sign-up order, at most limit when limit > 0.
// Without a status filter it is one arm per status merged by id: each arm
// reads the (event_id, status, id) index in id order, so the database merges
// three ordered streams instead of sorting the whole event.
func (f RegistrationFilter) inOrder(cols string, limit int) (string, []any) {
	statuses := []string{f.Status}
	if f.Status == "" {
		statuses = []string{RegConfirmed, RegWaitlisted, RegCancelled}
	}
	arms := make([]string, len(statuses))
	var args []any
	for i, status := range statuses {
		w, a := f.where(status)
		arms[i] = `SELECT ` + cols + ` FROM registrations WHERE ` + w + ` AND id > ?`
		args = append(append(args, a...), f.AfterID)
	}
	q := strings.Join(arms, " UNION ALL ") + " ORDER BY id"
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	return q, args
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Registrations lists one page of registrations in sign-up order, and the
// total that match the filter. Paging by id keeps pages stable while new
// sign-ups arrive: they land after every cursor.
func (s *Store) Registrations(ctx context.Context, f RegistrationFilter) ([]*Registration, int, error) {
	w, args := f.where(f.Status)
	var total int
	if err := sqlx.GetContext(ctx, s.r, &total, s.r.Rebind(`SELECT COUNT(*) FROM registrations WHERE `+w), args...); err != nil {
		return nil, 0, mapErr(err)
	}
	q, args := f.inOrder(registrationColumns, f.Limit)
	var out []*Registration
	if err := sqlx.SelectContext(ctx, s.r, &out, s.r.Rebind(q), args...); err != nil {
		return nil, 0, mapErr(err)
	}
	return out, total, nil
}

// EachRegistration calls fn for every registration of an event matching f, in
// sign-up order, reading row by row so memory stays flat. It is the export's
// read: each row carries every field but EmailNorm, UpdatedAt and NotifiedAt,
// which an export does not show and which stay zero (three columns fewer to
// read, convert and pass along for each of maybe 100,000 rows). fn gets the
// same *Registration for every row, and its time pointers point into storage
// the next row reuses: whatever fn keeps, it copies.
func (s *Store) EachRegistration(ctx context.Context, f RegistrationFilter, fn func(*Registration) error) error {
	// Timestamps as plain text on SQLite (unary + drops the declared type),
	// parsed by textTime: the driver's general parsing was a fifth of an export.
	cols := `id, status, name, email, company, job_title, phone, question, locale, consent, reminders_off,
		+created_at, +confirmed_at, +cancelled_at, +checked_in_at, +joined_at`
	if s.engine != SQLite {
		cols = strings.ReplaceAll(cols, "+", "")
	}
	q, args := f.inOrder(cols, 0)
	rows, err := s.r.QueryxContext(ctx, s.r.Rebind(q), args...)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	r := Registration{EventID: f.EventID}
	var times [4]time.Time
	// Scanned by position into one reused value: no reflection per row, so
	// an export of 100,000 rows streams fast in flat memory.
	dest := []any{&r.ID, &r.Status, &r.Name, &r.Email, &r.Company, &r.JobTitle, &r.Phone, &r.Question,
		&r.Locale, &r.Consent, &r.RemindersOff, textTime{to: &r.CreatedAt},
		textTime{toNull: &r.ConfirmedAt, keep: &times[0]}, textTime{toNull: &r.CancelledAt, keep: &times[1]},
		textTime{toNull: &r.CheckedInAt, keep: &times[2]}, textTime{toNull: &r.JoinedAt, keep: &times[3]}}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return mapErr(err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return mapErr(rows.Err())
}

// textTime scans a timestamp into to (NOT NULL) or toNull (nullable): a
// time.Time as PostgreSQL gives it, or the text go-sqlite3 stores,
// "2006-01-02 15:04:05.999999999-07:00", which it reads much faster than
// time.Parse.
type textTime struct {
	to     *time.Time
	toNull **time.Time
	// keep, with toNull, is where the time toNull points to is kept: a
	// scan into one reused value then allocates nothing per row.
	keep *time.Time
}

func (d textTime) Scan(v any) error {
	var t time.Time
	switch v := v.(type) {
	case nil:
		if d.toNull == nil {
			return errors.New("NULL for a time that cannot be NULL")
		}
		*d.toNull = nil
		return nil
	case time.Time:
		t = v
	case string:
		var err error
		if t, err = parseStoredTime(v); err != nil {
			return err
		}
	default:
		return fmt.Errorf("a time from %T", v)
	}
	switch {
	case d.toNull == nil:
		*d.to = t
	case d.keep != nil:
		*d.keep = t
		*d.toNull = d.keep
	default:
		*d.toNull = &t
	}
	return nil
}

// parseStoredTime reads go-sqlite3's timestamp layout, with the result
// time.ParseInLocation(layout, s, time.UTC) would give. Anything else goes
// to time.Parse with the driver's layouts.
func parseStoredTime(s string) (time.Time, error) {
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	if len(s) >= 25 && s[4] == '-' && s[7] == '-' && s[10] == ' ' && s[13] == ':' && s[16] == ':' {
		y, ok1 := num(s[0:4])
		mo, ok2 := num(s[5:7])
		d, ok3 := num(s[8:10])
		h, ok4 := num(s[11:13])
		mi, ok5 := num(s[14:16])
		sec, ok6 := num(s[17:19])
		rest, ns := s[19:], 0
		if len(rest) > 0 && rest[0] == '.' {
			i := 1
			for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
				i++
			}
			frac := rest[1:i]
			if n, ok := num(frac); ok && len(frac) >= 1 && len(frac) <= 9 {
				for range 9 - len(frac) {
					n *= 10
				}
				ns = n
			}
			rest = rest[i:]
		}
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' {
			oh, ok7 := num(rest[1:3])
			om, ok8 := num(rest[4:6])
			if ok7 && ok8 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && sec < 60 {
				off := oh*3600 + om*60
				if rest[0] == '-' {
					off = -off
				}
				loc := time.UTC
				if off != 0 {
					loc = time.FixedZone("", off)
				}
				if t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, loc); t.Day() == d {
					return t, nil // not a 31 February carried into March
				}
			}
		}
	}
	for _, layout := range sqlite3.SQLiteTimestampFormats {
		if t, err := time.ParseInLocation(layout, strings.TrimSuffix(s, "Z"), time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %q", s)
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
