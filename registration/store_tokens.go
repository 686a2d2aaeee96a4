package registration

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

// OrganizerToken is a named organizer credential; only its hash is stored.
type OrganizerToken struct {
	ID         int64      `db:"id" json:"-"`
	Name       string     `db:"name" json:"name"`
	Hash       string     `db:"hash" json:"-"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	LastUsedAt *time.Time `db:"last_used_at" json:"last_used_at"`
}

func (s *Store) insertToken(ctx context.Context, t *OrganizerToken) error {
	_, err := s.w.ExecContext(ctx, s.w.Rebind(`INSERT INTO organizer_tokens (name, hash, created_at) VALUES (?, ?, ?)`),
		t.Name, t.Hash, t.CreatedAt)
	if isUnique(err) {
		return ErrTokenNameTaken
	}
	return mapErr(err)
}

func (s *Store) tokenByHash(ctx context.Context, hash string) (*OrganizerToken, error) {
	var t OrganizerToken
	err := sqlx.GetContext(ctx, s.r, &t, s.r.Rebind(`SELECT id, name, hash, created_at, last_used_at FROM organizer_tokens WHERE hash = ?`), hash)
	if err != nil {
		return nil, mapErr(err)
	}
	return &t, nil
}

func (s *Store) touchToken(ctx context.Context, id int64, now time.Time) error {
	_, err := s.w.ExecContext(ctx, s.w.Rebind(`UPDATE organizer_tokens SET last_used_at = ? WHERE id = ?`), now, id)
	return mapErr(err)
}

// Tokens lists organizer tokens by name.
func (s *Store) Tokens(ctx context.Context) ([]*OrganizerToken, error) {
	var out []*OrganizerToken
	err := sqlx.SelectContext(ctx, s.r, &out, `SELECT id, name, hash, created_at, last_used_at FROM organizer_tokens ORDER BY name`)
	return out, mapErr(err)
}

// RevokeToken deletes the token called name.
func (s *Store) RevokeToken(ctx context.Context, name string) error {
	res, err := s.w.ExecContext(ctx, s.w.Rebind(`DELETE FROM organizer_tokens WHERE name = ?`), name)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// setting reads a value from settings, creating it with def when absent; the
// first writer wins, so instances sharing a database agree.
func (s *Store) setting(ctx context.Context, key, def string) (string, error) {
	q := `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`
	if _, err := s.w.ExecContext(ctx, s.w.Rebind(q), key, def); err != nil {
		return "", mapErr(err)
	}
	var v string
	err := sqlx.GetContext(ctx, s.w, &v, s.w.Rebind(`SELECT value FROM settings WHERE key = ?`), key)
	return v, mapErr(err)
}

type idempotencyRecord struct {
	Fingerprint string `db:"fingerprint"`
	StatusCode  int    `db:"status_code"`
	Response    string `db:"response"`
}

func idempotencyByKey(ctx context.Context, tx *sqlx.Tx, eventID int64, key string) (*idempotencyRecord, error) {
	var rec idempotencyRecord
	err := sqlx.GetContext(ctx, tx, &rec, tx.Rebind(`SELECT fingerprint, status_code, response FROM idempotency_keys WHERE event_id = ? AND key = ?`), eventID, key)
	if err != nil {
		return nil, mapErr(err)
	}
	return &rec, nil
}

func insertIdempotency(ctx context.Context, tx *sqlx.Tx, eventID int64, key string, rec *idempotencyRecord, now time.Time) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO idempotency_keys (event_id, key, fingerprint, status_code, response, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`), eventID, key, rec.Fingerprint, rec.StatusCode, rec.Response, now)
	if isUnique(err) {
		return ErrConflict
	}
	return mapErr(err)
}
