package registration

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
)

// DefaultTimezone is the configured timezone of new events.
func (s *Service) DefaultTimezone() string { return s.opts.DefaultTimezone }

// tokenFingerprintLen is how much of a token's SHA-256 (hex) a fingerprint keeps.
const tokenFingerprintLen = 16

// TokenFingerprint is a short digest of an organizer token: enough to tell
// whether the token that opened a console session still exists, and nothing an
// attacker could use to rebuild the token (it is 256 random bits).
func TokenFingerprint(token string) string { return hashToken(token)[:tokenFingerprintLen] }

// OrganizerActive reports whether the organizer token called name, whose
// fingerprint is fp, still exists: console sessions end with a revoked token.
// The admin token of the configuration is the organizer "admin".
func (s *Service) OrganizerActive(ctx context.Context, name, fp string) error {
	if len(fp) != tokenFingerprintLen {
		return ErrUnauthorized
	}
	if name == "admin" && s.opts.AdminToken != "" &&
		subtle.ConstantTimeCompare([]byte(fp), []byte(TokenFingerprint(s.opts.AdminToken))) == 1 {
		return nil
	}
	hash, err := s.store.tokenHashByName(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return ErrUnauthorized
	}
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(fp), []byte(hash[:min(len(hash), tokenFingerprintLen)])) != 1 {
		return ErrUnauthorized
	}
	return nil
}

func (s *Store) tokenHashByName(ctx context.Context, name string) (string, error) {
	var h string
	err := sqlx.GetContext(ctx, s.r, &h, s.r.Rebind(`SELECT hash FROM organizer_tokens WHERE name = ?`), name)
	return h, mapErr(err)
}

// ReminderReport is one reminder of an event's schedule as organizers see
// it: who will get it, or what became of it once planned.
type ReminderReport struct {
	PlannedReminder
	Planned bool // due: its rows are in the outbox (or it was due before anyone qualified)
	// Audience is, before it is due, how many registrants would get it if it
	// fell due now: confirmed and not opted out.
	Audience int
	// Outcomes counts its outbox rows by status once planned.
	Outcomes map[string]int
}

// ReminderSchedule reports each reminder of e at now: the schedule comes from
// ReminderTimes and the audience from the rule planDueReminders applies, so
// the console shows what the worker does.
func (s *Service) ReminderSchedule(ctx context.Context, e *Event) ([]ReminderReport, error) {
	now := s.clock()
	var out []ReminderReport
	for _, p := range ReminderTimes(e) {
		r := ReminderReport{PlannedReminder: p, Planned: !p.DueAt.After(now)}
		var err error
		if r.Planned {
			r.Outcomes, err = s.store.reminderOutcomes(ctx, e.ID, reminderIDPrefix(e, p))
		} else {
			r.Audience, err = s.store.reminderAudience(ctx, e.ID, p.DueAt)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *Store) reminderAudience(ctx context.Context, eventID int64, dueAt time.Time) (int, error) {
	var n int
	err := sqlx.GetContext(ctx, s.r, &n, s.r.Rebind(`SELECT COUNT(*) FROM registrations WHERE `+reminderAudience), eventID, false, dueAt)
	return n, mapErr(err)
}

// reminderOutcomes counts the rows of one planned reminder by status; its
// Message-IDs share the plan's prefix (see planDueReminders).
func (s *Store) reminderOutcomes(ctx context.Context, eventID int64, idPrefix string) (map[string]int, error) {
	return s.countByStatus(ctx, `SELECT status, COUNT(*) FROM messages
		WHERE `+ofEvent+` AND kind = 'reminder' AND message_id LIKE ? ESCAPE '\' GROUP BY status`,
		eventID, escapeLike(idPrefix)+"%")
}
