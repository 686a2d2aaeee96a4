package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS modes of an SMTPConfig.
const (
	TLSNone     = "none"     // plain text, for a relay on the same host or network
	TLSStartTLS = "starttls" // upgrade with STARTTLS, required (port 587 by default)
	TLSImplicit = "tls"      // TLS from the first byte (port 465 by default)
)

// DefaultSMTPTimeout bounds connecting and each SMTP command when
// SMTPConfig.Timeout is zero.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPConfig says how to reach the SMTP server.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string // empty: no authentication
	Password string
	TLS      string // TLSNone, TLSStartTLS or TLSImplicit
	HeloName string // empty: the machine's host name
	Timeout  time.Duration
	// TLSConfig, when set, replaces the default (system roots, ServerName
	// Host), for a relay with a private CA.
	TLSConfig *tls.Config
}

// String describes the configuration without the password, for logs.
func (c SMTPConfig) String() string {
	user := ""
	if c.Username != "" {
		user = c.Username + "@"
	}
	return fmt.Sprintf("smtp://%s%s?tls=%s", user, net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), c.TLS)
}

// ParseSMTPURL reads smtp://user:pass@host:port?tls=none|starttls|tls.
//
// User and password are optional and percent-decoded. tls defaults to
// starttls — also for loopback hosts: a local relay without TLS must say
// tls=none. The port defaults by mode: 587 for starttls, 465 for tls, 25 for
// none. Any other query parameter is an error, so a typo cannot silently
// weaken the connection.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, fmt.Errorf("smtp url: %w", err)
	}
	if u.Scheme != "smtp" {
		return SMTPConfig{}, fmt.Errorf("smtp url: scheme %q, want smtp", u.Scheme)
	}
	if u.Hostname() == "" {
		return SMTPConfig{}, errors.New("smtp url: no host")
	}
	if u.Path != "" && u.Path != "/" {
		return SMTPConfig{}, fmt.Errorf("smtp url: unexpected path %q", u.Path)
	}
	cfg := SMTPConfig{Host: u.Hostname(), TLS: TLSStartTLS}
	q := u.Query()
	for k, v := range q {
		if k != "tls" || len(v) != 1 {
			return SMTPConfig{}, fmt.Errorf("smtp url: unexpected parameter %q", k)
		}
	}
	if q.Has("tls") {
		cfg.TLS = q.Get("tls")
	}
	switch cfg.TLS {
	case TLSNone:
		cfg.Port = 25
	case TLSStartTLS:
		cfg.Port = 587
	case TLSImplicit:
		cfg.Port = 465
	default:
		return SMTPConfig{}, fmt.Errorf("smtp url: tls=%q, want none, starttls or tls", cfg.TLS)
	}
	if p := u.Port(); p != "" {
		if cfg.Port, err = strconv.Atoi(p); err != nil || cfg.Port < 1 || cfg.Port > 65535 {
			return SMTPConfig{}, fmt.Errorf("smtp url: bad port %q", p)
		}
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	return cfg, nil
}

// SMTPSender delivers messages over SMTP. It keeps no state: each Send opens
// one connection, sends the batch over it, and closes it, so it is safe for
// concurrent use.
type SMTPSender struct {
	cfg SMTPConfig
}

// NewSMTPSender returns a Sender for cfg. Configuration errors show when sending.
func NewSMTPSender(cfg SMTPConfig) *SMTPSender {
	return &SMTPSender{cfg: cfg}
}

// Send delivers msgs over one connection and reports each message's fate:
//
//   - nil: the server accepted the message (answered 250 to its data), even if
//     something failed afterwards, such as RSET or QUIT;
//   - an error wrapping ErrPermanent: the message cannot be built, or the
//     server refused its recipient or its data with a 5xx reply;
//   - any other error is temporary: a 4xx reply; a 5xx reply to MAIL FROM (the
//     sender is the same for every message, so that is the server's or the
//     configuration's fault, not the message's); a lost or timed-out
//     connection; and any failure before the first message — connection
//     refused, a 421 or other refusal in the greeting, TLS, authentication —
//     which says nothing about the messages themselves.
//
// Once the connection is lost, the rest of the batch is not attempted. ctx
// bounds connecting and is checked between messages; a message under way is
// finished (each command is bounded by the timeout) rather than cut off after
// the server may have taken it.
func (s *SMTPSender) Send(ctx context.Context, msgs []Message) []error {
	errs := make([]error, len(msgs))
	built := make([]*gomail.Msg, len(msgs))
	pending := 0
	for i, m := range msgs {
		if built[i], errs[i] = Build(m); errs[i] == nil {
			pending++
		}
	}
	if pending == 0 {
		return errs
	}
	failRest := func(from int, err error) {
		for i := from; i < len(msgs); i++ {
			if built[i] != nil && errs[i] == nil {
				errs[i] = err
			}
		}
	}

	client, err := s.client()
	if err != nil {
		failRest(0, fmt.Errorf("smtp: %w", err))
		return errs
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		failRest(0, fmt.Errorf("smtp: connect to %s: %w", s.cfg, err))
		return errs
	}
	// Every message's fate is known by now; a failed QUIT changes none of them.
	defer func() { _ = client.CloseWithSMTPClient(conn) }()

	for i, msg := range built {
		if msg == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			failRest(i, fmt.Errorf("smtp: not sent: %w", err))
			break
		}
		var lost bool
		errs[i], lost = classify(msg, client.SendWithSMTPClient(conn, msg))
		if lost {
			failRest(i+1, fmt.Errorf("smtp: not sent, connection lost: %w", errs[i]))
			break
		}
	}
	return errs
}

// classify turns go-mail's result for one message into nil, a permanent or a
// temporary error, and reports whether the connection is gone.
func classify(msg *gomail.Msg, err error) (_ error, lost bool) {
	if msg.IsDelivered() {
		return nil, false
	}
	if err == nil {
		// Not delivered and no error cannot happen; retrying is the safe reading.
		return errors.New("smtp: message not delivered"), false
	}
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return fmt.Errorf("smtp: %w", err), true
	}
	code := se.ErrorCode()
	switch {
	case code >= 500 && se.Reason != gomail.ErrSMTPMailFrom:
		return fmt.Errorf("%w: smtp: %w", ErrPermanent, err), false
	case code == 421: // the server is closing the connection
		return fmt.Errorf("smtp: %w", err), true
	case code != 0:
		return fmt.Errorf("smtp: %w", err), false
	}
	switch se.Reason {
	case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
		// go-mail found the message itself unsendable before talking to the server.
		return fmt.Errorf("%w: smtp: %w", ErrPermanent, err), false
	}
	// No reply code: the connection broke or timed out.
	return fmt.Errorf("smtp: %w", err), true
}

// client configures a go-mail client for one batch.
func (s *SMTPSender) client() (*gomail.Client, error) {
	c := s.cfg
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	opts := []gomail.Option{
		gomail.WithPort(c.Port),
		gomail.WithTimeout(timeout),
		// One NOOP per message only checks what the next command finds out anyway.
		gomail.WithoutNoop(),
	}
	switch c.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS, "":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("unknown TLS mode %q", c.TLS)
	}
	if c.TLSConfig != nil {
		tc := c.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = c.Host
		}
		opts = append(opts, gomail.WithTLSConfig(tc))
	}
	if c.HeloName != "" {
		opts = append(opts, gomail.WithHELO(c.HeloName))
	}
	if c.Username != "" {
		// Auto-discovery picks the strongest mechanism the server offers, and
		// PLAIN or LOGIN only over TLS: a password never crosses in the clear.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	}
	return gomail.NewClient(c.Host, opts...)
}
