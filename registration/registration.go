// Package registration is eventreg's domain: events, registrations and the
// outbox of messages; the rules of status, capacity, waitlist and email; and
// the store that keeps them in SQLite or PostgreSQL.
package registration

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Event kinds.
const (
	KindWebinar          = "webinar"
	KindOnlineConference = "online_conference"
	KindOnlineSummit     = "online_summit"
	KindInPerson         = "in_person"
	KindDownload         = "download"
	KindOffer            = "offer"
)

// EventKinds lists the kinds in the order pages show them.
var EventKinds = []string{KindWebinar, KindOnlineConference, KindOnlineSummit, KindInPerson, KindDownload, KindOffer}

// Stored event states.
const (
	StateDraft     = "draft"
	StatePublished = "published"
	StateCancelled = "cancelled"
)

// Derived event statuses (see Status).
const (
	StatusDraft     = "draft"
	StatusCancelled = "cancelled"
	StatusLive      = "live"
	StatusReplay    = "replay"
	StatusEnded     = "ended"
	StatusUpcoming  = "upcoming"
	StatusClosed    = "closed"
	StatusWaitlist  = "waitlist"
	StatusFull      = "full"
	StatusOpen      = "open"
)

// Registration statuses.
const (
	RegConfirmed  = "confirmed"
	RegWaitlisted = "waitlisted"
	RegCancelled  = "cancelled"
)

// Event is an event as stored. Times are UTC.
type Event struct {
	ID                   int64      `db:"id"`
	Slug                 string     `db:"slug"`
	Kind                 string     `db:"kind"`
	Title                string     `db:"title"`
	Organizer            string     `db:"organizer"`
	Summary              string     `db:"summary"`
	Description          string     `db:"description"`
	Timezone             string     `db:"timezone"`
	RegistrationOpensAt  time.Time  `db:"registration_opens_at"`
	RegistrationClosesAt *time.Time `db:"registration_closes_at"`
	StartsAt             *time.Time `db:"starts_at"`
	EndsAt               *time.Time `db:"ends_at"`
	Capacity             *int       `db:"capacity"`
	Waitlist             bool       `db:"waitlist"`
	JoinURL              string     `db:"join_url"`
	Location             string     `db:"location"`
	ReplayURL            string     `db:"replay_url"`
	DownloadURL          string     `db:"download_url"`
	Reminders            Durations  `db:"reminders"`
	State                string     `db:"state"`
	Sequence             int        `db:"sequence"`
	Confirmed            int        `db:"confirmed"`
	Waitlisted           int        `db:"waitlisted"`
	ReplayPlannedAt      *time.Time `db:"replay_planned_at"`
	CreatedAt            time.Time  `db:"created_at"`
	UpdatedAt            time.Time  `db:"updated_at"`
}

// Loc returns the event's time zone, UTC when the stored name is unknown.
func (e *Event) Loc() *time.Location { return LoadLocation(e.Timezone) }

// locations caches time zones: time.LoadLocation reads the zoneinfo file on
// every call, and every status label needs one.
var locations sync.Map

// LoadLocation is time.LoadLocation, cached, with UTC for unknown names.
func LoadLocation(name string) *time.Location {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	locations.Store(name, loc)
	return loc
}

// Counts are an event's registrations by state, for organizer reads.
type Counts struct {
	Confirmed  int `json:"confirmed" db:"confirmed"`
	Waitlisted int `json:"waitlisted" db:"waitlisted"`
	Cancelled  int `json:"cancelled" db:"cancelled"`
	CheckedIn  int `json:"checked_in" db:"checked_in"`
	Joined     int `json:"joined" db:"joined"`
}

// Registration is one person's sign-up for one event.
type Registration struct {
	ID           int64      `db:"id"`
	EventID      int64      `db:"event_id"`
	Status       string     `db:"status"`
	Name         string     `db:"name"`
	Email        string     `db:"email"`
	EmailNorm    string     `db:"email_norm"`
	Company      string     `db:"company"`
	JobTitle     string     `db:"job_title"`
	Phone        string     `db:"phone"`
	Question     string     `db:"question"`
	Locale       string     `db:"locale"`
	Consent      bool       `db:"consent"`
	RemindersOff bool       `db:"reminders_off"`
	CreatedAt    time.Time  `db:"created_at"`
	UpdatedAt    time.Time  `db:"updated_at"`
	ConfirmedAt  *time.Time `db:"confirmed_at"`
	CancelledAt  *time.Time `db:"cancelled_at"`
	CheckedInAt  *time.Time `db:"checked_in_at"`
	JoinedAt     *time.Time `db:"joined_at"`
	NotifiedAt   *time.Time `db:"notified_at"`

	// WaitlistPosition is computed on read: 1 for the next to be promoted.
	WaitlistPosition int `db:"-"`
}

// Message statuses of the outbox.
const (
	MsgPending   = "pending"
	MsgSending   = "sending"
	MsgSent      = "sent"
	MsgFailed    = "failed"
	MsgSkipped   = "skipped"
	MsgCancelled = "cancelled"
)

// Message is one outbox row: an email to be sent, or its record once sent.
type Message struct {
	ID             int64      `db:"id" json:"id"`
	EventID        int64      `db:"event_id" json:"-"`
	RegistrationID int64      `db:"registration_id" json:"registration_id"`
	Kind           string     `db:"kind" json:"kind"`
	Status         string     `db:"status" json:"status"`
	DueAt          time.Time  `db:"due_at" json:"due_at"`
	OffsetSeconds  int64      `db:"offset_seconds" json:"offset_seconds,omitempty"`
	Position       int        `db:"position" json:"-"`
	Attempts       int        `db:"attempts" json:"attempts"`
	LastError      string     `db:"last_error" json:"last_error"`
	MessageID      string     `db:"message_id" json:"message_id"`
	LeaseOwner     string     `db:"lease_owner" json:"-"`
	LeaseUntil     *time.Time `db:"lease_until" json:"-"`
	CreatedAt      time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt      time.Time  `db:"updated_at" json:"updated_at"`
	SentAt         *time.Time `db:"sent_at" json:"sent_at"`
	Recipient      string     `db:"recipient" json:"recipient"`

	dueBefore time.Time // due time of the attempt being recorded, for metrics
}

// Sentinel errors; the API maps each to a status and code in one place.
var (
	ErrNotFound            = errors.New("not found")
	ErrSlugTaken           = errors.New("slug already taken")
	ErrRegistrationNotOpen = errors.New("registration is not open yet")
	ErrRegistrationClosed  = errors.New("registration is closed")
	ErrEventFull           = errors.New("event is full")
	ErrEventCancelled      = errors.New("event is cancelled")
	ErrEventEnded          = errors.New("event has ended")
	ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")
	ErrConflict            = errors.New("conflict")
	ErrUnavailable         = errors.New("storage unavailable")
	ErrTokenNameTaken      = errors.New("token name already taken")
)

// FieldError is one rule a field broke.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ValidationError lists every field that broke a rule.
type ValidationError struct {
	Fields []FieldError
}

func (v *ValidationError) Error() string {
	if len(v.Fields) == 0 {
		return "validation failed"
	}
	return fmt.Sprintf("validation failed: %s: %s", v.Fields[0].Field, v.Fields[0].Message)
}

func (v *ValidationError) add(field, code, msg string) {
	v.Fields = append(v.Fields, FieldError{Field: field, Code: code, Message: msg})
}

func (v *ValidationError) err() error {
	if v == nil || len(v.Fields) == 0 {
		return nil
	}
	return v
}
