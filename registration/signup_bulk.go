package registration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// bulkSignup is a plain sign-up (no Idempotency-Key) waiting in a group
// commit. signupBulk writes many of them with a few multi-row statements; one
// it cannot decide alone (a repeat, a second sign-up of the same email in the
// batch) it leaves to its item's own function, which runs after.
type bulkSignup struct {
	e         *Event // as read before the transaction, for its id
	in        SignupInput
	emailNorm string
	now       time.Time
	// stamp is now as the bound value of the timestamp columns: on SQLite
	// the text go-sqlite3 would write for now, formatted before the batch so
	// the one writer does not format it seven times.
	stamp any

	handled bool // written (res) or refused (err) by signupBulk
	res     *SignupResult
	err     error
}

// liveKey names a live registration: one per event and email.
type liveKey struct {
	event int64
	email string
}

// delta is what a batch adds to an event's counters.
type delta struct{ confirmed, waitlisted int }

// signupBulk decides and writes the plain sign-ups of a batch inside tx, in
// their order of arrival, under every rule of the one-by-one path: the event
// read again inside the write transaction decides openness, seat or waitlist;
// the capacity CHECK and the unique index of live registrations still guard
// the rows. An error leaves tx to be rolled back.
func (s *Service) signupBulk(ctx context.Context, tx *sqlx.Tx, items []*batchItem) error {
	var todo []*bulkSignup
	for _, it := range items {
		if it.signup != nil && it.ctx.Err() == nil {
			todo = append(todo, it.signup)
		}
	}
	if len(todo) < 2 {
		return nil // the one-by-one path is as fast for one
	}
	events, err := freshCounters(ctx, tx, todo)
	if err != nil {
		return err
	}
	live, err := liveEmails(ctx, tx, todo)
	if err != nil {
		return err
	}
	seen := make(map[liveKey]bool, len(todo))
	deltas := map[int64]*delta{}
	var regs []*Registration
	var pending []*bulkSignup
	var stamps []any
	for _, b := range todo {
		k := liveKey{b.e.ID, b.emailNorm}
		if live[k] || seen[k] {
			continue // a repeat: its own function answers it, after this batch
		}
		e := events[b.e.ID]
		if e == nil {
			b.handled, b.err = true, ErrNotFound
			continue
		}
		if err := refusal(e, b.now); err != nil {
			b.handled, b.err = true, err
			continue
		}
		seen[k] = true
		d := deltas[e.ID]
		if d == nil {
			d = &delta{}
			deltas[e.ID] = d
		}
		r := &Registration{
			EventID: e.ID, Name: b.in.Name, Email: b.in.Email, EmailNorm: b.emailNorm, Company: b.in.Company,
			JobTitle: b.in.JobTitle, Phone: b.in.Phone, Question: b.in.Question, Locale: b.in.Locale,
			Consent: b.in.Consent, CreatedAt: b.now, UpdatedAt: b.now, NotifiedAt: &b.now,
		}
		res := &SignupResult{Code: 201}
		// refusal passed: a seat is left, or the waitlist takes the rest.
		if e.Capacity == nil || e.Confirmed < *e.Capacity {
			e.Confirmed++
			d.confirmed++
			r.Status, r.ConfirmedAt = RegConfirmed, &b.now
		} else {
			e.Waitlisted++
			d.waitlisted++
			r.Status = RegWaitlisted
			pos := e.Waitlisted // last in line: everyone waitlisted is ahead
			res.WaitlistPosition = &pos
		}
		res.Status = r.Status
		b.res = res
		regs = append(regs, r)
		pending = append(pending, b)
		stamps = append(stamps, b.stamp)
	}
	if len(regs) == 0 {
		return nil
	}
	if err := addCounterDeltas(ctx, tx, deltas); err != nil {
		return err
	}
	if err := insertRegistrations(ctx, tx, regs, stamps); err != nil {
		return err
	}
	msgs := make([]*Message, len(regs))
	for i, r := range regs {
		b := pending[i]
		kind, pos := KindConfirmation, 0
		if r.Status == RegWaitlisted {
			kind, pos = KindWaitlisted, *b.res.WaitlistPosition
		}
		msgs[i] = &Message{EventID: r.EventID, RegistrationID: r.ID, Kind: kind, Status: MsgPending, DueAt: b.now,
			Position: pos, MessageID: s.newMessageID(kind), CreatedAt: b.now, UpdatedAt: b.now}
	}
	if err := insertMessages(ctx, tx, msgs, stamps); err != nil {
		return err
	}
	for i, b := range pending {
		// The token and links are made by the caller, outside the writer.
		b.res.ID = regs[i].ID
		b.handled = true
	}
	return nil
}

// freshCounters reads, inside the write transaction, what the sign-up rule
// needs of the events of a batch: state, window, capacity and counters.
func freshCounters(ctx context.Context, tx *sqlx.Tx, todo []*bulkSignup) (map[int64]*Event, error) {
	ids := make([]any, 0, len(todo))
	have := map[int64]bool{}
	for _, b := range todo {
		if !have[b.e.ID] {
			have[b.e.ID] = true
			ids = append(ids, b.e.ID)
		}
	}
	ids = padded(ids, 1)
	q := bulkSQL(tx, "counters", len(ids), func(pg bool) string {
		// On SQLite the times come as plain text (unary + drops the
		// declared type), read by textTime: the driver's parsing was a
		// third of this.
		text, lock := "+", ""
		if pg {
			// Other instances write the same events: hold them, always
			// in the same order, until the batch commits.
			text, lock = "", ` ORDER BY id FOR UPDATE`
		}
		return `SELECT id, state, ` + text + `registration_opens_at, ` + text + `registration_closes_at, ` + text + `ends_at,
		capacity, waitlist, confirmed, waitlisted FROM events WHERE id IN (` + placeholders(len(ids), 1) + `)` + lock
	})
	rows, err := tx.QueryContext(ctx, q, ids...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := make(map[int64]*Event, len(have))
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.State, textTime{to: &e.RegistrationOpensAt}, textTime{toNull: &e.RegistrationClosesAt}, textTime{toNull: &e.EndsAt},
			&e.Capacity, &e.Waitlist, &e.Confirmed, &e.Waitlisted); err != nil {
			return nil, mapErr(err)
		}
		out[e.ID] = &e
	}
	return out, mapErr(rows.Err())
}

// liveEmails finds which (event, email) pairs of a batch already have a live
// registration, with one lookup of the unique index per pair.
func liveEmails(ctx context.Context, tx *sqlx.Tx, todo []*bulkSignup) (map[liveKey]bool, error) {
	args := make([]any, 0, 2*len(todo))
	for _, b := range todo {
		args = append(args, b.e.ID, b.emailNorm)
	}
	args = padded(args, 2)
	q := bulkSQL(tx, "live", len(args)/2, func(pg bool) string {
		return `SELECT r.event_id, r.email_norm FROM (VALUES ` + valuesList(pg, len(args)/2, "BIGINT", "TEXT") + `) AS v
		JOIN registrations r ON r.event_id = v.column1 AND r.email_norm = v.column2 AND r.status <> 'cancelled'`
	})
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := map[liveKey]bool{}
	for rows.Next() {
		var k liveKey
		if err := rows.Scan(&k.event, &k.email); err != nil {
			return nil, mapErr(err)
		}
		out[k] = true
	}
	return out, mapErr(rows.Err())
}

// addCounterDeltas adds the seats and waitlist places a batch took, one
// statement for all its events. The capacity CHECK still holds the line.
func addCounterDeltas(ctx context.Context, tx *sqlx.Tx, deltas map[int64]*delta) error {
	args := make([]any, 0, 3*len(deltas))
	for id, d := range deltas {
		args = append(args, id, d.confirmed, d.waitlisted)
	}
	return inChunks(len(deltas), func(lo, hi int) error {
		q := bulkSQL(tx, "deltas", hi-lo, func(pg bool) string {
			return `UPDATE events SET confirmed = confirmed + v.column2, waitlisted = waitlisted + v.column3
			FROM (VALUES ` + valuesList(pg, hi-lo, "BIGINT", "INTEGER", "INTEGER") + `) AS v WHERE events.id = v.column1`
		})
		_, err := tx.ExecContext(ctx, q, args[3*lo:3*hi]...)
		return mapErr(err)
	})
}

// insertRegistrations inserts rows in order and sets their ids. stamps[i] is
// the bound value of every timestamp regs[i] sets (created, updated, notified,
// and confirmed when it has a seat): they are all the moment of its sign-up.
// On SQLite, each new row of a rowid table takes the largest rowid so far
// plus one, so the rows of one multi-row INSERT have consecutive ids ending at
// the last insert rowid. On PostgreSQL, RETURNING names each row's id by its
// event and email, unique in a batch.
func insertRegistrations(ctx context.Context, tx *sqlx.Tx, regs []*Registration, stamps []any) error {
	const cols = 15
	pg := onPostgres(tx)
	return inChunks(len(regs), func(lo, hi int) error {
		chunk := regs[lo:hi]
		args := make([]any, 0, cols*len(chunk))
		for i, r := range chunk {
			at := stamps[lo+i]
			var confirmed any
			if r.ConfirmedAt != nil {
				confirmed = at
			}
			args = append(args, r.EventID, r.Status, r.Name, r.Email, r.EmailNorm, r.Company, r.JobTitle, r.Phone,
				r.Question, r.Locale, r.Consent, at, at, confirmed, at)
		}
		q := bulkSQL(tx, "registrations", len(chunk), func(pg bool) string {
			insert := strings.TrimSuffix(strings.TrimSpace(insertRegistrationSQL), "RETURNING id")
			if pg {
				insert = insertRegistrationSQL + ", event_id, email_norm"
			}
			return multiRow(insert, len(chunk), cols)
		})
		if pg {
			return returnedIDs(ctx, tx, q, args, chunk)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return mapInsertErr(err)
		}
		last, err := res.LastInsertId()
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(chunk)) {
			return fmt.Errorf("insert registrations: %d rows of %d (%v)", n, len(chunk), err)
		}
		for i, r := range chunk {
			r.ID = last - int64(len(chunk)-1-i)
		}
		return nil
	})
}

// returnedIDs runs a multi-row INSERT … RETURNING id, event_id, email_norm
// and gives each registration of chunk its id.
func returnedIDs(ctx context.Context, tx *sqlx.Tx, q string, args []any, chunk []*Registration) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return mapInsertErr(err)
	}
	defer rows.Close()
	ids := make(map[liveKey]int64, len(chunk))
	for rows.Next() {
		var id int64
		var k liveKey
		if err := rows.Scan(&id, &k.event, &k.email); err != nil {
			return mapErr(err)
		}
		ids[k] = id
	}
	if err := rows.Err(); err != nil {
		return mapInsertErr(err)
	}
	for _, r := range chunk {
		id, ok := ids[liveKey{r.EventID, r.EmailNorm}]
		if !ok {
			return fmt.Errorf("insert registrations: no id returned for a row")
		}
		r.ID = id
	}
	return nil
}

// mapInsertErr is mapErr, with the unique index of live registrations named:
// another instance took the same email between the lookup and the insert.
func mapInsertErr(err error) error {
	if isUnique(err) {
		return errDuplicate
	}
	return mapErr(err)
}

// insertMessages writes outbox rows with multi-row INSERTs; stamps[i] is the
// bound value of msgs[i]'s due, created and updated times, all one moment.
func insertMessages(ctx context.Context, tx *sqlx.Tx, msgs []*Message, stamps []any) error {
	const cols = 10
	return inChunks(len(msgs), func(lo, hi int) error {
		args := make([]any, 0, cols*(hi-lo))
		for i, m := range msgs[lo:hi] {
			at := stamps[lo+i]
			args = append(args, m.EventID, m.RegistrationID, m.Kind, m.Status, at, m.OffsetSeconds,
				m.Position, m.MessageID, at, at)
		}
		q := bulkSQL(tx, "messages", hi-lo, func(bool) string { return multiRow(insertMessageSQL, hi-lo, cols) })
		_, err := tx.ExecContext(ctx, q, args...)
		return mapErr(err)
	})
}

// multiRow turns a one-row INSERT … VALUES (?, …) statement into one of rows rows.
func multiRow(insert string, rows, cols int) string {
	one := "VALUES " + placeholders(1, cols)
	if !strings.Contains(insert, one) {
		panic("multiRow: no " + one + " in statement")
	}
	return strings.Replace(insert, one, "VALUES "+placeholders(rows, cols), 1)
}

// bulkKey names one shape of a bulk statement: which, for how many rows, on
// which database.
type bulkKey struct {
	name string
	rows int
	pg   bool
}

var (
	bulkMu   sync.RWMutex
	bulkSQLs = map[bulkKey]string{}
)

// bulkSQL is the text of the bulk statement name for rows rows, as build
// makes it for the database of tx, with tx's placeholders. Each shape is
// built once: row counts are chunk sizes, so the shapes are few, and the one
// writer no longer builds the same long strings in every batch.
func bulkSQL(tx *sqlx.Tx, name string, rows int, build func(pg bool) string) string {
	k := bulkKey{name, rows, onPostgres(tx)}
	bulkMu.RLock()
	q, ok := bulkSQLs[k]
	bulkMu.RUnlock()
	if !ok {
		q = tx.Rebind(build(k.pg))
		bulkMu.Lock()
		bulkSQLs[k] = q
		bulkMu.Unlock()
	}
	return q
}

// onPostgres reports whether tx runs on PostgreSQL, whose bulk statements
// lock the batch's events and name the types of VALUES lists.
func onPostgres(tx *sqlx.Tx) bool { return sqlx.BindType(tx.DriverName()) == sqlx.DOLLAR }

// chunkSizes are the row counts of multi-row statements: a few shapes that
// the prepared-statement cache keeps, whatever the size of a batch.
var chunkSizes = [...]int{64, 32, 16, 8, 4, 1}

// inChunks calls fn for consecutive ranges of n rows, each of a chunk size.
func inChunks(n int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; {
		size := 1
		for _, c := range chunkSizes {
			if n-lo >= c {
				size = c
				break
			}
		}
		if err := fn(lo, lo+size); err != nil {
			return err
		}
		lo += size
	}
	return nil
}

// padded repeats the last group of width args until the groups number a
// chunk size, for lookups where a repeated key changes nothing.
func padded(args []any, width int) []any {
	n := len(args) / width
	size := chunkSizes[0]
	for _, c := range chunkSizes {
		if c >= n {
			size = c
		}
	}
	last := args[len(args)-width:]
	for len(args)/width < size {
		args = append(args, last...)
	}
	return args
}

// valuesList is the rows of a VALUES list of the given column types:
// placeholders alone on SQLite; on PostgreSQL (pg), which cannot guess the
// type of a parameter there, each one cast.
func valuesList(pg bool, rows int, types ...string) string {
	if !pg {
		return placeholders(rows, len(types))
	}
	cast := make([]string, len(types))
	for i, t := range types {
		cast[i] = "CAST(? AS " + t + ")"
	}
	return strings.TrimSuffix(strings.Repeat("("+strings.Join(cast, ", ")+"), ", rows), ", ")
}

// placeholders is "(?, ?), (?, ?)" for rows groups of width; a lone "?, ?"
// list when width is 1.
func placeholders(rows, width int) string {
	group := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	if width == 1 {
		group = "?"
	}
	return strings.TrimSuffix(strings.Repeat(group+", ", rows), ", ")
}
