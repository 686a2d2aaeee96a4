// Package mail renders eventreg's messages (templates and calendar files) and
// delivers them over SMTP or into a directory of .eml files. It knows nothing
// of registrations: it is handed a plain Message and nothing else.
package mail

import (
	"context"
	"errors"
	"time"
)

// Kind names what a message is about.
type Kind string

const (
	KindConfirmation   Kind = "confirmation"
	KindWaitlisted     Kind = "waitlisted"
	KindPromoted       Kind = "promoted"
	KindCancelled      Kind = "cancelled"
	KindEventUpdated   Kind = "event_updated"
	KindEventCancelled Kind = "event_cancelled"
	KindReminder       Kind = "reminder"
	KindReplay         Kind = "replay"
)

// Kinds lists every message kind.
var Kinds = []Kind{KindConfirmation, KindWaitlisted, KindPromoted, KindCancelled,
	KindEventUpdated, KindEventCancelled, KindReminder, KindReplay}

// Transactional reports whether a kind is transactional mail, which carries no
// unsubscribe headers (reminders and the replay mail do).
func (k Kind) Transactional() bool { return k != KindReminder && k != KindReplay }

// Event is what a message says about the event.
type Event struct {
	Slug      string
	Kind      string // webinar, online_conference, online_summit, in_person, download, offer
	Title     string
	Organizer string
	Summary   string
	Location  string
	Timezone  string // IANA name; times are shown in it with their UTC offset
	StartsAt  *time.Time
	EndsAt    *time.Time
	Sequence  int  // iCalendar SEQUENCE
	Cancelled bool // the event was cancelled
}

// Links are the absolute URLs a message may carry.
type Links struct {
	Manage      string // the registrant's page /r/{token}
	Join        string // personal link /j/{token} (also used for download and replay)
	Calendar    string // .ics of the registration
	Event       string // the public event page
	Unsubscribe string // one-click opt-out (RFC 8058), reminders and replay only
}

// Message is one email to one registrant, complete in itself.
type Message struct {
	ID        string // stable Message-ID without angle brackets, the same on every retry
	Kind      Kind
	From      string // "Name <addr>" or "addr"
	To        string // address
	ToName    string
	Locale    string // en, zh-Hans, zh-Hant
	CalUID    string // iCalendar UID, stable per registration
	Event     Event
	Links     Links
	Status    string        // the registration's status when the message was written
	Position  int           // waitlist position, for KindWaitlisted
	Offset    time.Duration // reminder offset before the start, for KindReminder
	Joined    bool          // for KindReplay: whether the registrant joined the live event
	CreatedAt time.Time     // when the message was queued; the Date header
}

// Sender delivers a batch of messages, reusing one connection where it can.
// The result has one entry per message: nil when the message was accepted.
type Sender interface {
	Send(ctx context.Context, msgs []Message) []error
}

// ErrPermanent marks a failure that retrying will not cure (an SMTP 5xx reply,
// a message that cannot be rendered).
var ErrPermanent = errors.New("permanent failure")

// IsPermanent reports whether err should fail a message at once rather than be retried.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }
