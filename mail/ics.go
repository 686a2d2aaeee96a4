package mail

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"

	ics "github.com/arran4/golang-ical"

	"eventreg/templates"
)

// ErrNoTime is returned by Calendar for an event without a start time (a
// download or an offer): there is nothing to put in a calendar.
var ErrNoTime = errors.New("event has no start time")

const prodID = "-//eventreg//eventreg//EN"

// calendarMethod is CANCEL when the calendar entry should go away — the event
// or the registration was cancelled — and REQUEST otherwise.
func calendarMethod(m Message) string {
	if m.Kind == KindEventCancelled || m.Kind == KindCancelled || m.Event.Cancelled {
		return string(ics.MethodCancel)
	}
	return string(ics.MethodRequest)
}

// Calendar builds the iCalendar (RFC 5545) file of a message's event, as an
// invitation from m.From to m.To: METHOD:REQUEST, or METHOD:CANCEL with
// STATUS:CANCELLED when the event or the registration is cancelled (Kind
// KindEventCancelled or KindCancelled, or Event.Cancelled). UID is m.CalUID and
// SEQUENCE m.Event.Sequence, so a later file replaces the earlier entry. It
// needs only the Event, Links, From, To, ToName, Locale, CalUID and CreatedAt
// fields, and serves the calendar download as well as the attachments.
func Calendar(m Message) ([]byte, error) {
	if m.Event.StartsAt == nil {
		return nil, ErrNoTime
	}
	if m.CalUID == "" {
		return nil, errors.New("calendar: empty UID")
	}
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("calendar: organizer %q: %w", m.From, err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("calendar: attendee %q: %w", m.To, err)
	}
	start := *m.Event.StartsAt
	end := start.Add(time.Hour)
	if m.Event.EndsAt != nil && m.Event.EndsAt.After(start) {
		end = *m.Event.EndsAt
	}
	locale := templates.SupportedLocale(m.Locale)
	if locale == "" {
		locale = templates.Locales[0]
	}

	cal := ics.NewCalendar()
	cal.SetProductId(prodID)
	cal.SetCalscale("GREGORIAN")
	method := calendarMethod(m)
	cal.SetMethod(ics.Method(method))

	e := cal.AddEvent(oneLine(m.CalUID))
	e.SetSequence(m.Event.Sequence)
	e.SetDtStampTime(m.CreatedAt)
	e.SetStartAt(start)
	e.SetEndAt(end)
	e.SetSummary(oneLine(m.Event.Title))
	if d := calendarDescription(m, locale); d != "" {
		e.SetDescription(d)
	}
	location := oneLine(m.Event.Location)
	if location == "" && isOnline(m.Event.Kind) {
		location = oneLine(m.Links.Join)
	}
	if location != "" {
		e.SetLocation(location)
	}
	if u := oneLine(firstNonEmpty(m.Links.Event, m.Links.Manage)); u != "" {
		e.SetURL(u)
	}
	if method == string(ics.MethodCancel) {
		e.SetStatus(ics.ObjectStatusCancelled)
	} else {
		e.SetStatus(ics.ObjectStatusConfirmed)
	}
	e.SetOrganizer(from.Address, commonName(firstNonEmpty(from.Name, m.Event.Organizer))...)
	// RSVP spelled as RFC 5545 does; ics.WithRSVP writes "false".
	rsvp := &ics.KeyValues{Key: string(ics.ParameterRsvp), Value: []string{"FALSE"}}
	e.AddAttendee(to.Address, append(commonName(m.ToName), ics.ParticipationStatusAccepted, rsvp)...)

	var buf bytes.Buffer
	// The library defaults to bare LF; RFC 5545 lines end in CRLF.
	if err := cal.SerializeTo(&buf, ics.WithNewLineWindows); err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	return buf.Bytes(), nil
}

// calendarDescription is the event's summary and its links, one per line.
func calendarDescription(m Message, locale string) string {
	var lines []string
	if s := strings.TrimSpace(m.Event.Summary); s != "" {
		// The library escapes LF but leaves CR as it is, which would end the
		// line; other control characters are not allowed in TEXT (RFC 5545).
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
		lines = append(lines, strings.Map(func(r rune) rune {
			if r != '\n' && r != '\t' && unicode.IsControl(r) {
				return -1
			}
			return r
		}, s))
	}
	if m.Links.Join != "" {
		lines = append(lines, templates.T(locale, "email.ics.join", oneLine(m.Links.Join)))
	}
	if m.Links.Manage != "" {
		lines = append(lines, templates.T(locale, "email.ics.manage", oneLine(m.Links.Manage)))
	}
	return strings.Join(lines, "\n\n")
}

// commonName is the CN parameter for name, if any. The library writes
// parameter values unquoted with backslash escapes, which RFC 5545 does not
// know ("CN=Doe\, Jane" reads as two values), so the characters it would
// escape are replaced: CN is only the name shown next to the address.
func commonName(name string) []ics.PropertyParameter {
	name = oneLine(strings.Map(func(r rune) rune {
		switch r {
		case '\'':
			return '’' // O'Brien reads the same as O’Brien
		case '"', ',', ';', ':', '\\':
			return ' '
		}
		return r
	}, name))
	if name == "" {
		return nil
	}
	return []ics.PropertyParameter{ics.WithCN(name)}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
