package mail

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"
)

func parseCalendar(t *testing.T, b []byte) (*ics.Calendar, *ics.VEvent) {
	t.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parse calendar: %v\n%s", err, b)
	}
	events := cal.Events()
	if len(events) != 1 {
		t.Fatalf("%d events, want 1", len(events))
	}
	return cal, events[0]
}

func calProp(cal *ics.Calendar, p ics.Property) string {
	for _, cp := range cal.CalendarProperties {
		if cp.IANAToken == string(p) {
			return cp.Value
		}
	}
	return ""
}

func eventProp(e *ics.VEvent, p ics.ComponentProperty) string {
	if prop := e.GetProperty(p); prop != nil {
		return prop.Value
	}
	return ""
}

func TestCalendarRequest(t *testing.T) {
	m := fixture(KindConfirmation, "zh-Hans")
	b, err := Calendar(m)
	if err != nil {
		t.Fatal(err)
	}
	cal, e := parseCalendar(t, b)
	for p, want := range map[ics.Property]string{
		ics.PropertyMethod: "REQUEST", ics.PropertyVersion: "2.0", ics.PropertyProductId: prodID,
	} {
		if got := calProp(cal, p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	for p, want := range map[ics.ComponentProperty]string{
		ics.ComponentPropertyUniqueId: m.CalUID,
		ics.ComponentPropertySequence: "1",
		ics.ComponentPropertyDtstamp:  "20260102T030405Z",
		// 14:00 in Shanghai is 06:00 UTC.
		ics.ComponentPropertyDtStart:   "20260108T060000Z",
		ics.ComponentPropertyDtEnd:     "20260108T073000Z",
		ics.ComponentPropertySummary:   m.Event.Title,
		ics.ComponentPropertyStatus:    "CONFIRMED",
		ics.ComponentPropertyLocation:  m.Links.Join,
		ics.ComponentPropertyUrl:       m.Links.Event,
		ics.ComponentPropertyOrganizer: "mailto:no-reply@events.example.com",
	} {
		if got := eventProp(e, p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	start, err := e.GetStartAt()
	if err != nil || !start.Equal(*m.Event.StartsAt) {
		t.Errorf("start %v (%v), want %v", start, err, *m.Event.StartsAt)
	}
	desc := ics.FromText(eventProp(e, ics.ComponentPropertyDescription))
	for _, want := range []string{m.Event.Summary, m.Links.Join, m.Links.Manage} {
		if !strings.Contains(desc, want) {
			t.Errorf("description lacks %q: %q", want, desc)
		}
	}
	if cn := e.GetProperty(ics.ComponentPropertyOrganizer).ICalParameters["CN"]; len(cn) != 1 || cn[0] != "Allegro Events" {
		t.Errorf("organizer CN = %q", cn)
	}
	att := e.Attendees()
	if len(att) != 1 {
		t.Fatalf("%d attendees, want 1", len(att))
	}
	if att[0].Email() != m.To || att[0].ParticipationStatus() != ics.ParticipationStatusAccepted {
		t.Errorf("attendee %q %q", att[0].Email(), att[0].ParticipationStatus())
	}
	if got := att[0].ICalParameters["CN"]; len(got) != 1 || got[0] != m.ToName {
		t.Errorf("attendee CN = %q, want %q", got, m.ToName)
	}
	if got := att[0].ICalParameters["RSVP"]; len(got) != 1 || got[0] != "FALSE" {
		t.Errorf("attendee RSVP = %q", got)
	}
}

func TestCalendarCancel(t *testing.T) {
	for name, m := range map[string]Message{
		"event cancelled":                 fixture(KindEventCancelled, "en"),
		"registration cancelled":          fixture(KindCancelled, "en"),
		"cancelled event, any other kind": func() Message { m := fixture(KindEventUpdated, "en"); m.Event.Cancelled = true; return m }(),
	} {
		t.Run(name, func(t *testing.T) {
			b, err := Calendar(m)
			if err != nil {
				t.Fatal(err)
			}
			cal, e := parseCalendar(t, b)
			if got := calProp(cal, ics.PropertyMethod); got != "CANCEL" {
				t.Errorf("METHOD = %q", got)
			}
			if got := eventProp(e, ics.ComponentPropertyStatus); got != "CANCELLED" {
				t.Errorf("STATUS = %q", got)
			}
			if got := eventProp(e, ics.ComponentPropertyUniqueId); got != m.CalUID {
				t.Errorf("UID = %q, want the UID of the invitation", got)
			}
		})
	}
}

func TestCalendarUpdateKeepsUIDRaisesSequence(t *testing.T) {
	before, after := fixture(KindConfirmation, "en"), fixture(KindEventUpdated, "en")
	moved := after.Event.StartsAt.Add(24 * time.Hour)
	after.Event.StartsAt, after.Event.EndsAt = &moved, nil
	b1, err := Calendar(before)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := Calendar(after)
	if err != nil {
		t.Fatal(err)
	}
	_, e1 := parseCalendar(t, b1)
	_, e2 := parseCalendar(t, b2)
	if e1.Id() != e2.Id() {
		t.Errorf("UID changed: %q → %q", e1.Id(), e2.Id())
	}
	if s1, s2 := eventProp(e1, ics.ComponentPropertySequence), eventProp(e2, ics.ComponentPropertySequence); s2 <= s1 {
		t.Errorf("SEQUENCE %s → %s, want higher", s1, s2)
	}
	// Without an end, the entry lasts an hour: 14:00 New York is 19:00 UTC.
	if got := eventProp(e2, ics.ComponentPropertyDtStart); got != "20260109T190000Z" {
		t.Errorf("DTSTART = %q", got)
	}
	if got := eventProp(e2, ics.ComponentPropertyDtEnd); got != "20260109T200000Z" {
		t.Errorf("DTEND = %q", got)
	}
}

func TestCalendarNoTime(t *testing.T) {
	m := fixture(KindConfirmation, "en")
	m.Event.StartsAt, m.Event.EndsAt = nil, nil
	if _, err := Calendar(m); !errors.Is(err, ErrNoTime) {
		t.Errorf("err = %v, want ErrNoTime", err)
	}
}

func TestCalendarLinesAndFolding(t *testing.T) {
	m := fixture(KindConfirmation, "zh-Hant")
	m.Event.Title = "【線上會議】村田用於AR/VR設計開發解決方案：從感測器、通訊模組到電源管理的完整設計指南與實作案例分享，歡迎報名參加"
	m.Event.Summary = strings.Repeat("Sensors; modules, power: a long line to fold. ", 6) + "\r\nSecond line\rthird"
	m.ToName = "Doe, Jane \"JD\" O'Brien;\r\nATTENDEE:mailto:evil@example.com"
	b, err := Calendar(m)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasSuffix(s, "END:VCALENDAR\r\n") {
		t.Error("does not end with END:VCALENDAR CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	folded := 0
	for i, line := range lines {
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
		if len(line) > 75 {
			t.Errorf("line %d is %d octets: %q", i+1, len(line), line)
		}
		if !utf8.ValidString(line) {
			t.Errorf("line %d splits a character: %q", i+1, line)
		}
		if strings.HasPrefix(line, " ") {
			folded++
		}
		if strings.HasPrefix(line, "ATTENDEE") && i > 0 && strings.HasPrefix(lines[i-1], "ATTENDEE") {
			t.Error("a second ATTENDEE line was injected")
		}
	}
	if folded == 0 {
		t.Errorf("nothing was folded:\n%s", s)
	}

	_, e := parseCalendar(t, b)
	if got := eventProp(e, ics.ComponentPropertySummary); got != m.Event.Title {
		t.Errorf("summary after unfolding = %q, want %q", got, m.Event.Title)
	}
	if n := len(e.Attendees()); n != 1 {
		t.Errorf("%d attendees, want 1", n)
	}
	cn := e.Attendees()[0].ICalParameters["CN"]
	if len(cn) != 1 || cn[0] != "Doe Jane JD O’Brien ATTENDEE mailto evil@example.com" {
		t.Errorf("CN = %q", cn)
	}
	desc := ics.FromText(eventProp(e, ics.ComponentPropertyDescription))
	if !strings.Contains(desc, "\nSecond line\nthird") {
		t.Errorf("description = %q", desc)
	}
}

func TestCalendarInPersonLocation(t *testing.T) {
	m := fixture(KindConfirmation, "en")
	m.Event.Kind, m.Event.Location = "in_person", "Hall 9; Shenzhen, China"
	b, err := Calendar(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "LOCATION:Hall 9\\; Shenzhen\\, China\r\n") {
		t.Errorf("location not escaped as TEXT:\n%s", b)
	}
}
