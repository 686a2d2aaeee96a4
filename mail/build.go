package mail

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// Build turns a message into a MIME message: a text and an HTML alternative
// in the registrant's locale, and, when the message carries a calendar file,
// that file both as a third alternative (which is what makes Gmail and Outlook
// show an invitation) and as the attachment invite.ics (for everyone else).
// Every error wraps ErrPermanent: the same message would fail the same way again.
func Build(m Message) (*gomail.Msg, error) {
	r, err := Render(m)
	if err != nil {
		return nil, err
	}
	msg, err := build(m, r)
	if err != nil {
		return nil, fmt.Errorf("%w: build %s message %s: %w", ErrPermanent, m.Kind, m.ID, err)
	}
	return msg, nil
}

func build(m Message, r *Rendered) (*gomail.Msg, error) {
	if err := checkMessageID(m.ID); err != nil {
		return nil, err
	}
	if m.CreatedAt.IsZero() {
		return nil, errors.New("no CreatedAt for the Date header")
	}
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("from %q: %w", m.From, err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("to %q: %w", m.To, err)
	}

	// No User-Agent or X-Mailer: they tell the world which library to probe.
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(from)
	msg.ToMailAddress(&mail.Address{Name: displayName(m.ToName), Address: to.Address})
	// Header values go through go-mail's RFC 2047 encoder, which turns a stray
	// CR or LF into an encoded word; oneLine has already removed them anyway.
	msg.Subject(r.Subject)
	msg.SetMessageIDWithValue(m.ID)
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if !m.Kind.Transactional() && m.Links.Unsubscribe != "" {
		u, err := unsubscribeURL(m.Links.Unsubscribe)
		if err != nil {
			return nil, err
		}
		// Not SetListUnsubscribeOneClick: it insists on https, and a server
		// run on plain http (the demo) still deserves working headers.
		msg.SetListUnsubscribe(u)
		msg.SetListUnsubscribePost()
	}

	msg.SetBodyString(gomail.TypeTextPlain, r.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	if r.ICS != nil {
		msg.AddAlternativeString(gomail.ContentType("text/calendar; method="+r.ICSMethod), string(r.ICS),
			gomail.WithPartEncoding(gomail.EncodingB64))
		if err := msg.AttachReader("invite.ics", bytes.NewReader(r.ICS),
			gomail.WithFileContentType(gomail.ContentType("text/calendar; charset=utf-8; method="+r.ICSMethod))); err != nil {
			return nil, fmt.Errorf("attach invite.ics: %w", err)
		}
	}
	return msg, nil
}

// checkMessageID accepts what can stand between the angle brackets of a
// Message-ID header as it is: printable ASCII without spaces or brackets.
func checkMessageID(id string) error {
	if id == "" {
		return errors.New("empty message ID")
	}
	for _, c := range []byte(id) {
		if c <= ' ' || c > '~' || c == '<' || c == '>' {
			return fmt.Errorf("message ID %q: invalid character %q", id, c)
		}
	}
	return nil
}

// unsubscribeURL checks that the opt-out link is an absolute http(s) URL that
// can go into the List-Unsubscribe header as it is (the header is written
// preformatted, so nothing may break out of its angle brackets).
func unsubscribeURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("unsubscribe link: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("unsubscribe link %q: not an absolute http(s) URL", raw)
	}
	if strings.ContainsAny(raw, "<>\" \t\r\n") {
		return "", fmt.Errorf("unsubscribe link %q: characters not allowed in a header", raw)
	}
	return raw, nil
}

// displayName makes a person's name safe for an address header: one line of
// valid UTF-8 without backslashes or double quotes, which the RFC 2047
// encoder would pass through into the encoded word where mail readers
// cannot parse them. The body of the message shows the name as given.
func displayName(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r == '\\' || r == '"' {
			return ' '
		}
		return r
	}, s)
	return oneLine(s)
}
