package mail

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
	"unicode"

	// Event times are shown in the event's timezone; a host without a zoneinfo
	// database must not silently print them in UTC.
	_ "time/tzdata"

	"eventreg/templates"
)

// Rendered is a message's content, ready to be put into MIME parts.
type Rendered struct {
	Subject   string
	Text      string
	HTML      string
	ICS       []byte // nil when the message carries no calendar file
	ICSMethod string // REQUEST or CANCEL; "" when ICS is nil
}

// kindTemplates are one kind's templates: each a clone of the shared layout
// with the kind's own "subject" (text only) and "body" blocks.
type kindTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// parsed holds the email templates, parsed once on first use.
var parsed = sync.OnceValues(parseTemplates)

func parseTemplates() (map[Kind]kindTemplates, error) {
	textLayout, err := texttemplate.ParseFS(templates.FS, "email/layout.txt.tmpl")
	if err != nil {
		return nil, fmt.Errorf("email templates: %w", err)
	}
	htmlLayout, err := htmltemplate.ParseFS(templates.FS, "email/layout.html.tmpl")
	if err != nil {
		return nil, fmt.Errorf("email templates: %w", err)
	}
	set := make(map[Kind]kindTemplates, len(Kinds))
	for _, k := range Kinds {
		text, err := textLayout.Clone()
		if err == nil {
			text, err = text.ParseFS(templates.FS, "email/"+string(k)+".txt.tmpl")
		}
		if err != nil {
			return nil, fmt.Errorf("email templates for %s: %w", k, err)
		}
		html, err := htmlLayout.Clone()
		if err == nil {
			html, err = html.ParseFS(templates.FS, "email/"+string(k)+".html.tmpl")
		}
		if err != nil {
			return nil, fmt.Errorf("email templates for %s: %w", k, err)
		}
		set[k] = kindTemplates{text: text, html: html}
	}
	return set, nil
}

// Render produces a message's subject, text and HTML bodies in the
// registrant's locale, and its calendar file when it carries one. Every error
// wraps ErrPermanent: sending the same message again would fail the same way.
func Render(m Message) (*Rendered, error) {
	set, err := parsed()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	kt, ok := set[m.Kind]
	if !ok {
		return nil, fmt.Errorf("%w: unknown message kind %q", ErrPermanent, m.Kind)
	}
	r := &Rendered{}
	if method := inviteMethod(m); method != "" {
		if r.ICS, err = Calendar(m); err != nil {
			return nil, fmt.Errorf("%w: render %s: %w", ErrPermanent, m.Kind, err)
		}
		r.ICSMethod = method
	}

	v := newView(m, r.ICS != nil)
	var buf bytes.Buffer
	if err := kt.text.ExecuteTemplate(&buf, "subject", v); err != nil {
		return nil, fmt.Errorf("%w: render %s subject: %w", ErrPermanent, m.Kind, err)
	}
	r.Subject = oneLine(buf.String())
	v.Subject = r.Subject

	buf.Reset()
	if err := kt.text.ExecuteTemplate(&buf, "text", v); err != nil {
		return nil, fmt.Errorf("%w: render %s text: %w", ErrPermanent, m.Kind, err)
	}
	r.Text = tidyText(buf.String())

	buf.Reset()
	if err := kt.html.ExecuteTemplate(&buf, "html", v); err != nil {
		return nil, fmt.Errorf("%w: render %s html: %w", ErrPermanent, m.Kind, err)
	}
	r.HTML = buf.String()
	return r, nil
}

// inviteMethod says which calendar file a message carries, if any: the
// messages that put the event into the registrant's calendar, move it, or take
// it out again (the registrant's own cancellation included, or the entry would
// linger there).
func inviteMethod(m Message) string {
	if m.Event.StartsAt == nil {
		return ""
	}
	switch m.Kind {
	case KindConfirmation, KindPromoted, KindEventUpdated, KindCancelled, KindEventCancelled:
		return calendarMethod(m)
	}
	return ""
}

// view is what the templates see: the message, plus what is worked out for them.
type view struct {
	Message
	Locale   string // a supported locale (the message's, or en)
	Subject  string
	Name     string // the registrant's name on one line; "" when unknown
	When     string // start (and end) in the event's timezone with the UTC offset; "" without a start
	Where    string
	Download bool // the event is a download: its link is the file, not a session
	JoinHint bool // the join link opens a live session
	Action   link // the main button: join, download or replay
	Invite   bool // a calendar file is attached

	OffsetText string // a reminder's offset in words: "1 hour"
	Soon       bool   // a reminder without a usable offset: "starts soon"
}

// link is a labelled URL; templates skip it when URL is empty. Line is the
// pair as a line of text, punctuated for the locale.
type link struct{ Label, URL, Line string }

func newView(m Message, invite bool) view {
	v := view{
		Message:  m,
		Locale:   templates.SupportedLocale(m.Locale),
		Name:     oneLine(m.ToName),
		Download: m.Event.Kind == "download",
		Invite:   invite,
	}
	if v.Locale == "" {
		v.Locale = templates.Locales[0]
	}
	if m.Event.StartsAt != nil {
		v.When = formatWhen(v.Locale, m.Event.Timezone, *m.Event.StartsAt, m.Event.EndsAt)
	}
	if m.Kind == KindReminder {
		if m.Offset >= time.Minute {
			v.OffsetText = formatOffset(v.Locale, m.Offset)
		} else {
			v.Soon = true
		}
	}
	online := isOnline(m.Event.Kind)
	v.Where = oneLine(m.Event.Location)
	if v.Where == "" && online {
		v.Where = v.T("email.where.online")
	}
	switch {
	case m.Kind == KindReplay:
		v.Action = v.Link("email.action.replay", m.Links.Join)
	case v.Download:
		v.Action = v.Link("email.action.download", m.Links.Join)
	case m.Event.Kind == "offer":
		v.Action = v.Link("email.action.offer", m.Links.Join)
	case online:
		v.Action = v.Link("email.action.join", m.Links.Join)
		v.JoinHint = m.Links.Join != "" && m.Event.StartsAt != nil
	}
	return v
}

// isOnline reports whether an event kind takes place as a live online session.
func isOnline(kind string) bool {
	switch kind {
	case "webinar", "online_conference", "online_summit":
		return true
	}
	return false
}

// T looks a catalog string up in the message's locale.
func (v view) T(key string, args ...any) string { return templates.T(v.Locale, key, args...) }

// Link labels url with a catalog string.
func (v view) Link(key, url string) link {
	label := v.T(key)
	return link{Label: label, URL: url, Line: v.T("email.label.line", label, url)}
}

// Unsubscribe is the opt-out link, shown only where the headers carry it too.
func (v view) Unsubscribe() link {
	if v.Kind.Transactional() {
		return link{}
	}
	return v.Link("email.footer.unsubscribe", v.Links.Unsubscribe)
}

// oneLine folds every run of whitespace and control characters into one
// space, so that text from outside cannot start a new line in a subject,
// header or calendar property.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
}

// tidyText lets the text templates be written for legibility: it drops
// trailing spaces and blank lines at either end, and keeps at most one blank
// line between paragraphs.
func tidyText(s string) string {
	var b strings.Builder
	blank := false
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line != "-- " { // the signature separator keeps its space
			line = strings.TrimRight(line, " \t\r")
		}
		if line == "" {
			blank = true
			continue
		}
		if blank && b.Len() > 0 {
			b.WriteByte('\n')
		}
		blank = false
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}
