package mail

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
	"time"

	"eventreg/templates"
)

func buildRaw(t *testing.T, m Message) []byte {
	t.Helper()
	msg, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkMail checks a delivered or written message against the Message it
// was built from: the headers, the text and HTML alternatives, and the
// calendar file where the kind carries one.
func checkMail(t *testing.T, m Message, raw []byte) {
	t.Helper()
	p := parseMail(t, raw)
	r, err := Render(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Header.Get("Message-Id"); got != "<"+m.ID+">" {
		t.Errorf("%s: Message-ID %q, want <%s>", m.Kind, got, m.ID)
	}
	if got := p.subject(t); got != r.Subject {
		t.Errorf("%s: Subject %q, want %q", m.Kind, got, r.Subject)
	}
	if date, err := p.Header.Date(); err != nil || !date.Equal(m.CreatedAt) {
		t.Errorf("%s: Date %v (%v), want %v", m.Kind, date, err, m.CreatedAt)
	}
	if to, err := p.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != m.To || to[0].Name != m.ToName {
		t.Errorf("%s: To %v (%v)", m.Kind, to, err)
	}
	if got := p.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("%s: Auto-Submitted %q", m.Kind, got)
	}
	unsub, post := p.Header.Get("List-Unsubscribe"), p.Header.Get("List-Unsubscribe-Post")
	if m.Kind.Transactional() {
		if unsub != "" || post != "" {
			t.Errorf("%s: transactional mail has List-Unsubscribe %q / %q", m.Kind, unsub, post)
		}
	} else if unsub != "<"+m.Links.Unsubscribe+">" || post != "List-Unsubscribe=One-Click" {
		t.Errorf("%s: List-Unsubscribe %q, List-Unsubscribe-Post %q", m.Kind, unsub, post)
	}

	text := p.part(t, "text/plain", "")
	html := p.part(t, "text/html", "")
	for _, bp := range []mimePart{text, html} {
		if len(bp.Parents) == 0 || bp.Parents[len(bp.Parents)-1] != "multipart/alternative" {
			t.Errorf("%s: %s is not an alternative: %v", m.Kind, bp.MediaType, bp.Parents)
		}
		if !strings.EqualFold(bp.Params["charset"], "utf-8") {
			t.Errorf("%s: %s charset %q", m.Kind, bp.MediaType, bp.Params["charset"])
		}
	}
	if got := strings.ReplaceAll(string(text.Body), "\r\n", "\n"); got != r.Text {
		t.Errorf("%s: text part differs from the rendered text:\n%s", m.Kind, got)
	}
	if got := strings.ReplaceAll(string(html.Body), "\r\n", "\n"); got != r.HTML {
		t.Errorf("%s: HTML part differs from the rendered HTML", m.Kind)
	}

	if r.ICS == nil {
		if n := p.count("text/calendar"); n != 0 {
			t.Errorf("%s: %d calendar parts, want none", m.Kind, n)
		}
		return
	}
	inline := p.part(t, "text/calendar", "")
	att := p.part(t, "text/calendar", "attachment")
	if att.Filename != "invite.ics" {
		t.Errorf("%s: attachment named %q", m.Kind, att.Filename)
	}
	for _, cp := range []mimePart{inline, att} {
		if cp.Params["method"] != r.ICSMethod {
			t.Errorf("%s: calendar part method=%q, want %q", m.Kind, cp.Params["method"], r.ICSMethod)
		}
		if !bytes.Equal(cp.Body, r.ICS) {
			t.Errorf("%s: calendar part differs from the calendar file", m.Kind)
		}
		if !bytes.Contains(cp.Body, []byte("METHOD:"+r.ICSMethod+"\r\n")) {
			t.Errorf("%s: calendar body lacks METHOD:%s", m.Kind, r.ICSMethod)
		}
	}
	if !strings.EqualFold(att.Params["charset"], "utf-8") {
		t.Errorf("%s: attachment charset %q", m.Kind, att.Params["charset"])
	}
}

func TestBuildEveryKind(t *testing.T) {
	for _, k := range Kinds {
		for _, locale := range templates.Locales {
			m := fixture(k, locale)
			checkMail(t, m, buildRaw(t, m))
		}
	}
}

func TestBuildNoUnsubscribeLinkNoHeader(t *testing.T) {
	m := fixture(KindReminder, "en")
	m.Links.Unsubscribe = ""
	p := parseMail(t, buildRaw(t, m))
	if p.Header.Get("List-Unsubscribe") != "" || p.Header.Get("List-Unsubscribe-Post") != "" {
		t.Error("List-Unsubscribe without a link")
	}
}

func TestBuildHeaderInjection(t *testing.T) {
	m := fixture(KindConfirmation, "en")
	m.Event.Title = "Webinar\r\nBcc: evil@x"
	m.ToName = "Ann\r\nBcc: evil2@x\r\n\r\nbody"
	raw := buildRaw(t, m)
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if strings.HasPrefix(strings.ToLower(line), "bcc:") {
			t.Errorf("injected header line %q", line)
		}
	}
	p := parseMail(t, raw)
	if len(p.Header["Bcc"]) != 0 {
		t.Errorf("Bcc header: %q", p.Header["Bcc"])
	}
	if got := p.subject(t); got != "Registration confirmed: Webinar Bcc: evil@x" {
		t.Errorf("subject %q", got)
	}
	to, err := p.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != m.To {
		t.Errorf("To %v (%v)", to, err)
	}
	msg, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	if rcpts, err := msg.GetRecipients(); err != nil || len(rcpts) != 1 || rcpts[0] != "<"+m.To+">" {
		t.Errorf("envelope recipients %v (%v)", rcpts, err)
	}
}

func TestBuildNonASCIIHeaders(t *testing.T) {
	m := fixture(KindConfirmation, "zh-Hant")
	m.Event.Title = "【在線會議】村田用於AR/VR設計開發解決方案"
	raw := buildRaw(t, m)
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, c := range head {
		if c >= 0x80 {
			t.Fatalf("raw 8-bit byte in the header:\n%s", head)
		}
	}
	p := parseMail(t, raw)
	if got := p.subject(t); got != "報名成功："+m.Event.Title {
		t.Errorf("subject %q", got)
	}
	to, err := p.Header.AddressList("To")
	if err != nil || to[0].Name != m.ToName {
		t.Errorf("To %v (%v)", to, err)
	}
}

func TestBuildRefusesBadMessages(t *testing.T) {
	for name, mutate := range map[string]func(*Message){
		"empty ID":             func(m *Message) { m.ID = "" },
		"ID with a space":      func(m *Message) { m.ID = "a b@x" },
		"ID with brackets":     func(m *Message) { m.ID = "<a@x>" },
		"ID with CRLF":         func(m *Message) { m.ID = "a@x\r\nBcc: evil@x" },
		"no CreatedAt":         func(m *Message) { m.CreatedAt = time.Time{} },
		"bad from":             func(m *Message) { m.From = "eventreg" },
		"bad to":               func(m *Message) { m.To = "ann" },
		"two recipients":       func(m *Message) { m.To = "a@x, b@x" },
		"relative unsubscribe": func(m *Message) { m.Links.Unsubscribe = "/u/tok" },
		"unsubscribe breaking out of its brackets": func(m *Message) {
			m.Links.Unsubscribe = "https://x/u/tok>, <mailto:evil@x"
		},
	} {
		t.Run(name, func(t *testing.T) {
			m := fixture(KindReminder, "en")
			mutate(&m)
			if _, err := Build(m); !IsPermanent(err) {
				t.Errorf("err = %v, want a permanent error", err)
			}
		})
	}
}

func TestBuildFromWithoutName(t *testing.T) {
	m := fixture(KindWaitlisted, "en")
	m.From = "no-reply@events.example.com"
	p := parseMail(t, buildRaw(t, m))
	from, err := mail.ParseAddress(p.Header.Get("From"))
	if err != nil || from.Address != m.From {
		t.Errorf("From %v (%v)", from, err)
	}
}
