package mail

// Native fuzz targets for the calendar writer and the message builder: what
// a registrant or an organizer types must never become a line of its own in
// a calendar file or a header of its own in an email.

import (
	"bytes"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"
)

// fuzzText makes a fuzzed string what it always is by the time it reaches
// this package: valid UTF-8, because it came through JSON or the database.
func fuzzText(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

var (
	// The properties Calendar writes; anything else was injected.
	calendarProps = []string{"PRODID", "VERSION", "CALSCALE", "METHOD"}
	eventProps    = []string{"UID", "SEQUENCE", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION",
		"LOCATION", "URL", "STATUS", "ORGANIZER", "ATTENDEE"}
)

func calendarSeeds(f *testing.F) {
	f.Add("Allegro: electrification and chassis solutions", "Hall 9; Shenzhen, China", "How to optimise.", "Allegro MicroSystems", "Ann Lee", "Allegro Events", uint8(0), uint8(0))
	f.Add("Webinar\r\nATTENDEE:mailto:evil@example.com", "Online\r\nLOCATION:evil", "line\r\nDESCRIPTION:evil\rthird\nfourth", "Org\r\nORGANIZER:mailto:evil@example.com", "Ann\r\nATTENDEE;CN=Evil:mailto:evil@example.com", "Events\r\nBcc: evil@example.com", uint8(1), uint8(1))
	f.Add("Title\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:second", "", "\r\n\r\nEND:VCALENDAR", "", "Doe, Jane \"JD\" O'Brien;", "Mr. \"Quote\", Esq.; x:y", uint8(2), uint8(2))
	f.Add(strings.Repeat("【在線會議】村田用於AR/VR設計開發解決方案，", 10), strings.Repeat("深圳會展中心9號館；", 12), strings.Repeat("感測器、通訊模組到電源管理的完整設計指南。", 20), "村田製作所", strings.Repeat("王小明", 30), "活動小組", uint8(3), uint8(1))
	f.Add("a,b;c:d\\e\"f'g", "\\n\\N\\,\\;", "\\", "\\,", "\\\\", "\\", uint8(4), uint8(0))
	f.Add("\t\v\f\u0085\u2028\u2029\x00\x7f", "\x1b[31m", "\x00\x01", "\u202e", "\x00", "\u0000", uint8(5), uint8(2))
	f.Add(strings.Repeat("x", 74)+"é"+strings.Repeat(" ", 3)+"<a>", strings.Repeat("a ", 100), strings.Repeat("<>", 80), "", "", "", uint8(6), uint8(0))
	f.Add("bad \xff\xfe utf-8", "", "", "", "", "", uint8(7), uint8(1))
}

// FuzzCalendar: the calendar file parses back, folds at 75 octets, ends
// every line in CRLF, and holds one event with exactly the properties
// Calendar writes, whatever the titles, places and names.
func FuzzCalendar(f *testing.F) {
	calendarSeeds(f)
	f.Fuzz(func(t *testing.T, title, location, summary, organizer, toName, fromName string, kind, locale uint8) {
		m := fixture(Kinds[int(kind)%len(Kinds)], []string{"en", "zh-Hans", "zh-Hant"}[int(locale)%3])
		m.Event.Title, m.Event.Location, m.Event.Summary = fuzzText(title), fuzzText(location), fuzzText(summary)
		m.Event.Organizer, m.ToName = fuzzText(organizer), fuzzText(toName)
		if kind%2 == 1 {
			m.Event.Kind = "in_person"
		}
		m.From = (&mail.Address{Name: fuzzText(fromName), Address: "no-reply@events.example.com"}).String()
		if _, err := mail.ParseAddress(m.From); err != nil {
			return // net/mail cannot read back some names it encodes; From is the operator's setting anyway
		}
		b, err := Calendar(m)
		if err != nil {
			t.Fatalf("Calendar: %v", err)
		}
		checkCalendarBytes(t, b)

		cal, err := ics.ParseCalendar(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("parse: %v\n%s", err, b)
		}
		for _, p := range cal.CalendarProperties {
			if !slices.Contains(calendarProps, p.IANAToken) {
				t.Fatalf("calendar property %s injected:\n%s", p.IANAToken, b)
			}
		}
		if len(cal.Components) != 1 || len(cal.Events()) != 1 {
			t.Fatalf("%d components, want one event:\n%s", len(cal.Components), b)
		}
		e := cal.Events()[0]
		seen := map[string]int{}
		for _, p := range e.Properties {
			if !slices.Contains(eventProps, p.IANAToken) {
				t.Fatalf("event property %s injected:\n%s", p.IANAToken, b)
			}
			if seen[p.IANAToken]++; seen[p.IANAToken] > 1 {
				t.Fatalf("two %s properties:\n%s", p.IANAToken, b)
			}
		}
		if len(e.Attendees()) != 1 || e.Attendees()[0].Email() != m.To {
			t.Fatalf("attendees %v:\n%s", e.Attendees(), b)
		}
		if got := eventProp(e, ics.ComponentPropertyOrganizer); got != "mailto:no-reply@events.example.com" {
			t.Fatalf("organizer %q", got)
		}
		if got, want := eventProp(e, ics.ComponentPropertySummary), oneLine(m.Event.Title); got != want {
			t.Fatalf("summary %q, want %q", got, want)
		}
		if got, want := eventProp(e, ics.ComponentPropertyUniqueId), m.CalUID; got != want {
			t.Fatalf("UID %q, want %q", got, want)
		}
		if loc := oneLine(m.Event.Location); loc != "" {
			if got := eventProp(e, ics.ComponentPropertyLocation); got != loc {
				t.Fatalf("location %q, want %q", got, loc)
			}
		}
		for _, cn := range append(e.Attendees()[0].ICalParameters["CN"], e.GetProperty(ics.ComponentPropertyOrganizer).ICalParameters["CN"]...) {
			if strings.ContainsAny(cn, "\r\n\",;:\\") {
				t.Fatalf("CN %q", cn)
			}
		}
	})
}

// checkCalendarBytes checks the physical lines of an iCalendar file: CRLF
// after every line, at most 75 octets, no control character but HTAB, no
// character cut in two by folding.
func checkCalendarBytes(t *testing.T, b []byte) {
	t.Helper()
	s := string(b)
	if !strings.HasPrefix(s, "BEGIN:VCALENDAR\r\n") || !strings.HasSuffix(s, "END:VCALENDAR\r\n") {
		t.Fatalf("not one calendar:\n%s", s)
	}
	for i, line := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Fatalf("line %d is %d octets: %q", i+1, len(line), line)
		}
		if !utf8.ValidString(line) {
			t.Fatalf("line %d is not UTF-8 (a character cut by folding?): %q", i+1, line)
		}
		if strings.ContainsFunc(line, func(r rune) bool { return r != '\t' && unicode.IsControl(r) && r < 0x80 }) {
			t.Fatalf("line %d holds a control character: %q", i+1, line)
		}
	}
}

var mailHeaders = []string{"Auto-Submitted", "Date", "Mime-Version", "Message-Id", "Subject", "List-Unsubscribe",
	"List-Unsubscribe-Post", "From", "To", "Content-Type"}

// FuzzBuildHeaders: whatever the names and titles, the email has exactly
// the headers Build writes, one recipient, a one-line subject, and no markup
// of the registrant's in its HTML part.
func FuzzBuildHeaders(f *testing.F) {
	calendarSeeds(f)
	f.Add("Webinar\r\nBcc: evil@example.com", "", "", "", "Ann\r\nBcc: evil2@example.com\r\n\r\nbody", "Events\r\nCc: evil@example.com", uint8(0), uint8(0))
	f.Add("<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "<b>bold</b>", "</title><script>x</script>", "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", uint8(6), uint8(2))
	f.Add("=?UTF-8?B?QmNjOiBldmlsQGV4YW1wbGUuY29t?=", "", "", "", "=?UTF-8?Q?Ann=0D=0ABcc:_evil@example.com?=", "", uint8(0), uint8(1))
	f.Fuzz(func(t *testing.T, title, location, summary, organizer, toName, fromName string, kind, locale uint8) {
		m := fixture(Kinds[int(kind)%len(Kinds)], []string{"en", "zh-Hans", "zh-Hant"}[int(locale)%3])
		m.Event.Title, m.Event.Location, m.Event.Summary = fuzzText(title), fuzzText(location), fuzzText(summary)
		m.Event.Organizer, m.ToName = fuzzText(organizer), fuzzText(toName)
		m.From = (&mail.Address{Name: fuzzText(fromName), Address: "no-reply@events.example.com"}).String()
		if _, err := mail.ParseAddress(m.From); err != nil {
			return // net/mail cannot read back some names it encodes; From is the operator's setting anyway
		}
		if !m.Kind.Transactional() {
			m.Links.Unsubscribe = "https://events.example.com/u/tok123"
		}
		msg, err := Build(m)
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		var buf bytes.Buffer
		if _, err := msg.WriteTo(&buf); err != nil {
			t.Fatalf("write: %v", err)
		}
		raw := buf.Bytes()
		head, _, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
		if !ok {
			t.Fatalf("no end of header:\n%s", raw)
		}
		for _, c := range head {
			if c >= 0x80 || (c < ' ' && c != '\r' && c != '\n' && c != '\t') {
				t.Fatalf("raw byte %#x in the header:\n%s", c, head)
			}
		}
		p := parseMail(t, raw)
		for k := range p.Header {
			if !slices.Contains(mailHeaders, k) {
				t.Fatalf("header %s injected:\n%s", k, head)
			}
			if len(p.Header[k]) != 1 {
				t.Fatalf("%d %s headers:\n%s", len(p.Header[k]), k, head)
			}
		}
		to, err := p.Header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != m.To {
			t.Fatalf("To %v (%v):\n%s", to, err, head)
		}
		from, err := p.Header.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Address != "no-reply@events.example.com" {
			t.Fatalf("From %v (%v):\n%s", from, err, head)
		}
		if s := p.subject(t); strings.ContainsAny(s, "\r\n") {
			t.Fatalf("subject %q", s)
		}
		if rcpts, err := msg.GetRecipients(); err != nil || len(rcpts) != 1 {
			t.Fatalf("envelope recipients %v (%v)", rcpts, err)
		}
		html := strings.ToLower(string(p.part(t, "text/html", "").Body))
		for _, bad := range []string{"<script", "<img", "<b>"} {
			if strings.Contains(html, bad) {
				t.Fatalf("HTML part holds %q:\n%s", bad, html)
			}
		}
	})
}
