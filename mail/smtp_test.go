package mail

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// testBackend is an SMTP server's backend that keeps what it receives and
// refuses what it is told to.
type testBackend struct {
	mailErr map[string]*smtp.SMTPError // by sender
	rcptErr map[string]*smtp.SMTPError // by recipient
	dataErr map[string]*smtp.SMTPError // by recipient, after reading the data
	users   map[string]string          // username → password; nil: no AUTH

	mu       sync.Mutex
	sessions int
	received []envelope
	authed   []string
}

type envelope struct {
	Conn int // which connection (1, 2, …) brought it
	From string
	To   []string
	Data []byte
}

func (b *testBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sessions++
	s := &testSession{be: b, env: envelope{Conn: b.sessions}}
	if b.users != nil {
		return &authSession{s}, nil
	}
	return s, nil
}

func (b *testBackend) snapshot() (sessions int, received []envelope, authed []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sessions, append([]envelope(nil), b.received...), append([]string(nil), b.authed...)
}

type testSession struct {
	be  *testBackend
	env envelope
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if err := s.be.mailErr[from]; err != nil {
		return err
	}
	s.env.From = from
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.be.rcptErr[to]; err != nil {
		return err
	}
	s.env.To = append(s.env.To, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, to := range s.env.To {
		if err := s.be.dataErr[to]; err != nil {
			return err
		}
	}
	env := s.env
	env.Data = b
	s.be.mu.Lock()
	s.be.received = append(s.be.received, env)
	s.be.mu.Unlock()
	return nil
}

func (s *testSession) Reset() { s.env = envelope{Conn: s.env.Conn} }

func (s *testSession) Logout() error { return nil }

type authSession struct{ *testSession }

func (s *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if want, ok := s.be.users[username]; !ok || want != password {
			return smtp.ErrAuthFailed
		}
		s.be.mu.Lock()
		s.be.authed = append(s.be.authed, username)
		s.be.mu.Unlock()
		return nil
	}), nil
}

// startSMTP serves be on a loopback port and returns a configuration that
// reaches it without TLS.
func startSMTP(t *testing.T, be *testBackend, tlsConfig *tls.Config) SMTPConfig {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.TLSConfig = tlsConfig
	srv.AllowInsecureAuth = true // so that the client is the one refusing a password in the clear
	srv.ErrorLog = testLogger{t}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		// Close only closes listeners Serve has registered; it may not have started yet.
		_ = l.Close()
		<-done
	})
	return loopbackConfig(t, l.Addr())
}

func loopbackConfig(t *testing.T, addr net.Addr) SMTPConfig {
	t.Helper()
	return SMTPConfig{Host: "127.0.0.1", Port: addr.(*net.TCPAddr).Port, TLS: TLSNone,
		HeloName: "client.test", Timeout: 5 * time.Second}
}

type testLogger struct{ t *testing.T }

func (l testLogger) Printf(format string, v ...any) { l.t.Logf("smtp server: "+format, v...) }
func (l testLogger) Println(v ...any)               { l.t.Log(append([]any{"smtp server:"}, v...)...) }

// scriptedServer accepts one connection and runs serve on it, for the
// failures a well-behaved server library will not produce.
func scriptedServer(t *testing.T, serve func(c net.Conn, r *bufio.Reader)) SMTPConfig {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer func() { _ = c.Close() }()
		serve(c, bufio.NewReader(c))
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
	})
	return loopbackConfig(t, l.Addr())
}

func batch(n int, kind Kind) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		m := fixture(kind, "en")
		m.ID = fmt.Sprintf("msg-%02d@events.example.com", i)
		m.To = fmt.Sprintf("user%02d@example.org", i)
		msgs[i] = m
	}
	return msgs
}

func TestSMTPEveryKind(t *testing.T) {
	be := &testBackend{}
	cfg := startSMTP(t, be, nil)
	var msgs []Message
	for _, locale := range []string{"en", "zh-Hans", "zh-Hant"} {
		for _, k := range Kinds {
			m := fixture(k, locale)
			m.ID = string(k) + "." + locale + "@events.example.com"
			msgs = append(msgs, m)
		}
	}
	for i, err := range NewSMTPSender(cfg).Send(context.Background(), msgs) {
		if err != nil {
			t.Errorf("%s: %v", msgs[i].ID, err)
		}
	}
	sessions, received, _ := be.snapshot()
	if sessions != 1 {
		t.Errorf("%d connections, want 1", sessions)
	}
	if len(received) != len(msgs) {
		t.Fatalf("server received %d messages, want %d", len(received), len(msgs))
	}
	for i, env := range received {
		m := msgs[i]
		if env.From != "no-reply@events.example.com" || len(env.To) != 1 || env.To[0] != m.To {
			t.Errorf("%s: envelope %s → %v", m.ID, env.From, env.To)
		}
		checkMail(t, m, env.Data)
	}
}

func TestSMTPOneConnectionPerBatch(t *testing.T) {
	be := &testBackend{}
	cfg := startSMTP(t, be, nil)
	s := NewSMTPSender(cfg)
	for range 2 {
		for i, err := range s.Send(context.Background(), batch(20, KindReminder)) {
			if err != nil {
				t.Errorf("message %d: %v", i, err)
			}
		}
	}
	sessions, received, _ := be.snapshot()
	if sessions != 2 || len(received) != 40 {
		t.Fatalf("%d connections, %d messages; want 2 and 40", sessions, len(received))
	}
	for i, env := range received {
		if want := i/20 + 1; env.Conn != want {
			t.Errorf("message %d came over connection %d, want %d", i, env.Conn, want)
		}
	}
}

func TestSMTPReplyClassification(t *testing.T) {
	msgs := batch(7, KindConfirmation)
	msgs[1].To = "gone@example.org"
	msgs[2].To = "busy@example.org"
	msgs[3].To = "spam@example.org"
	msgs[4].To = "full@example.org"
	msgs[5].From = "Blocked <blocked@events.example.com>"
	be := &testBackend{
		rcptErr: map[string]*smtp.SMTPError{
			"gone@example.org": {Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"},
			"busy@example.org": {Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"},
		},
		dataErr: map[string]*smtp.SMTPError{
			"spam@example.org": {Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected as spam"},
			"full@example.org": {Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"},
		},
		mailErr: map[string]*smtp.SMTPError{
			"blocked@events.example.com": {Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sender not allowed"},
		},
	}
	cfg := startSMTP(t, be, nil)
	errs := NewSMTPSender(cfg).Send(context.Background(), msgs)
	want := []string{"ok", "permanent", "temporary", "permanent", "temporary", "temporary", "ok"}
	for i, err := range errs {
		if got := outcome(err); got != want[i] {
			t.Errorf("message %d (%s): %s (%v), want %s", i, msgs[i].To, got, err, want[i])
		}
	}
	if errs[1] != nil && !strings.Contains(errs[1].Error(), "550") {
		t.Errorf("the error does not carry the server's reply: %v", errs[1])
	}
	sessions, received, _ := be.snapshot()
	if sessions != 1 || len(received) != 2 || received[0].To[0] != msgs[0].To || received[1].To[0] != msgs[6].To {
		t.Errorf("%d connections, %d messages received; want the first and the last over one", sessions, len(received))
	}
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case IsPermanent(err):
		return "permanent"
	}
	return "temporary"
}

func TestSMTPUnbuildableMessageIsPermanent(t *testing.T) {
	be := &testBackend{}
	cfg := startSMTP(t, be, nil)
	msgs := batch(3, KindConfirmation)
	msgs[1].Kind = "newsletter"
	errs := NewSMTPSender(cfg).Send(context.Background(), msgs)
	if errs[0] != nil || !IsPermanent(errs[1]) || errs[2] != nil {
		t.Errorf("errors %v, want [nil permanent nil]", errs)
	}
	if _, received, _ := be.snapshot(); len(received) != 2 {
		t.Errorf("%d messages received, want 2", len(received))
	}
}

func TestSMTPNothingToSendNoConnection(t *testing.T) {
	be := &testBackend{}
	cfg := startSMTP(t, be, nil)
	msgs := batch(1, KindConfirmation)
	msgs[0].ID = ""
	if errs := NewSMTPSender(cfg).Send(context.Background(), msgs); !IsPermanent(errs[0]) {
		t.Errorf("err = %v, want permanent", errs[0])
	}
	if sessions, _, _ := be.snapshot(); sessions != 0 {
		t.Errorf("%d connections for nothing to send", sessions)
	}
}

// checkAllTemporary checks that every message failed, none permanently.
func checkAllTemporary(t *testing.T, errs []error, n int) {
	t.Helper()
	if len(errs) != n {
		t.Fatalf("%d results for %d messages", len(errs), n)
	}
	for i, err := range errs {
		if err == nil || IsPermanent(err) {
			t.Errorf("message %d: %v, want a temporary error", i, err)
		}
	}
}

func TestSMTPConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := loopbackConfig(t, l.Addr())
	_ = l.Close() // nothing listens there now
	errs := NewSMTPSender(cfg).Send(context.Background(), batch(3, KindConfirmation))
	checkAllTemporary(t, errs, 3)
	if !strings.Contains(errs[0].Error(), "refused") {
		t.Errorf("error does not say what happened: %v", errs[0])
	}
}

func TestSMTPGreeting421(t *testing.T) {
	cfg := scriptedServer(t, func(c net.Conn, _ *bufio.Reader) {
		_, _ = io.WriteString(c, "421 4.3.2 busy, try later\r\n")
	})
	errs := NewSMTPSender(cfg).Send(context.Background(), batch(3, KindConfirmation))
	checkAllTemporary(t, errs, 3)
	if !strings.Contains(errs[0].Error(), "421") {
		t.Errorf("error does not carry the reply: %v", errs[0])
	}
}

func TestSMTPGreeting554IsStillTemporary(t *testing.T) {
	// A refusal before any message says nothing about the messages.
	cfg := scriptedServer(t, func(c net.Conn, _ *bufio.Reader) {
		_, _ = io.WriteString(c, "554 no service for you\r\n")
	})
	checkAllTemporary(t, NewSMTPSender(cfg).Send(context.Background(), batch(2, KindConfirmation)), 2)
}

func TestSMTPTimeout(t *testing.T) {
	release := make(chan struct{})
	cfg := scriptedServer(t, func(net.Conn, *bufio.Reader) { <-release }) // never greets
	defer close(release)
	cfg.Timeout = 200 * time.Millisecond
	start := time.Now()
	checkAllTemporary(t, NewSMTPSender(cfg).Send(context.Background(), batch(2, KindConfirmation)), 2)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v with a 200ms timeout", d)
	}
}

func TestSMTPCancelledContext(t *testing.T) {
	be := &testBackend{}
	cfg := startSMTP(t, be, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	checkAllTemporary(t, NewSMTPSender(cfg).Send(ctx, batch(2, KindConfirmation)), 2)
	if _, received, _ := be.snapshot(); len(received) != 0 {
		t.Errorf("%d messages sent after cancellation", len(received))
	}
}

// TestSMTPAcceptedThenConnectionLost: the server takes the first message and
// hangs up before the client's next command. The first message is delivered
// whatever happens afterwards; the second is not, and may be retried.
func TestSMTPAcceptedThenConnectionLost(t *testing.T) {
	var data strings.Builder
	cfg := scriptedServer(t, func(c net.Conn, r *bufio.Reader) {
		reply := func(s string) { _, _ = io.WriteString(c, s+"\r\n") }
		reply("220 localhost ESMTP")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cmd := strings.ToUpper(strings.TrimSpace(line))
			switch {
			case strings.HasPrefix(cmd, "EHLO"):
				reply("250-localhost")
				reply("250 8BITMIME")
			case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
				reply("250 OK")
			case cmd == "DATA":
				reply("354 go ahead")
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if l == ".\r\n" {
						break
					}
					data.WriteString(l)
				}
				reply("250 2.0.0 queued as 1")
				return // hang up before RSET, the next MAIL and QUIT
			default:
				reply("502 not implemented")
			}
		}
	})
	errs := NewSMTPSender(cfg).Send(context.Background(), batch(3, KindConfirmation))
	if errs[0] != nil {
		t.Errorf("accepted message: %v, want nil", errs[0])
	}
	for i := 1; i < 3; i++ {
		if errs[i] == nil || IsPermanent(errs[i]) {
			t.Errorf("message %d after the connection was lost: %v, want a temporary error", i, errs[i])
		}
	}
	if !strings.Contains(data.String(), "Message-ID: <msg-00@events.example.com>") {
		t.Errorf("server did not get the first message:\n%s", data.String())
	}
}

func TestSMTPStartTLSWithAuth(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	be := &testBackend{users: map[string]string{"mailer": "s3cret:/@"}}
	cfg := startSMTP(t, be, serverTLS)
	cfg.TLS, cfg.TLSConfig = TLSStartTLS, clientTLS
	cfg.Username, cfg.Password = "mailer", "s3cret:/@"
	for i, err := range NewSMTPSender(cfg).Send(context.Background(), batch(2, KindConfirmation)) {
		if err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
	if _, received, authed := be.snapshot(); len(received) != 2 || len(authed) != 1 || authed[0] != "mailer" {
		t.Errorf("received %d messages, authenticated %v", len(received), authed)
	}

	cfg.Password = "wrong"
	checkAllTemporary(t, NewSMTPSender(cfg).Send(context.Background(), batch(1, KindConfirmation)), 1)
}

func TestSMTPNoPasswordInTheClear(t *testing.T) {
	be := &testBackend{users: map[string]string{"mailer": "pw"}}
	cfg := startSMTP(t, be, nil) // offers AUTH PLAIN without TLS
	cfg.Username, cfg.Password = "mailer", "pw"
	checkAllTemporary(t, NewSMTPSender(cfg).Send(context.Background(), batch(1, KindConfirmation)), 1)
	if _, received, authed := be.snapshot(); len(received) != 0 || len(authed) != 0 {
		t.Errorf("password sent in the clear: authenticated %v", authed)
	}
}

func TestSMTPStartTLSRequired(t *testing.T) {
	be := &testBackend{}
	cfg := startSMTP(t, be, nil) // no STARTTLS on offer
	cfg.TLS = TLSStartTLS
	checkAllTemporary(t, NewSMTPSender(cfg).Send(context.Background(), batch(1, KindConfirmation)), 1)
	if _, received, _ := be.snapshot(); len(received) != 0 {
		t.Error("sent without the TLS the configuration asks for")
	}
}

// testTLS makes a self-signed certificate for 127.0.0.1, and the server and
// client configurations that use and trust it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		raw  string
		want SMTPConfig
		err  bool
	}{
		{raw: "smtp://mail.example.com", want: SMTPConfig{Host: "mail.example.com", Port: 587, TLS: TLSStartTLS}},
		{raw: "smtp://mail.example.com?tls=tls", want: SMTPConfig{Host: "mail.example.com", Port: 465, TLS: TLSImplicit}},
		{raw: "smtp://localhost?tls=none", want: SMTPConfig{Host: "localhost", Port: 25, TLS: TLSNone}},
		{raw: "smtp://127.0.0.1:1025", want: SMTPConfig{Host: "127.0.0.1", Port: 1025, TLS: TLSStartTLS}},
		{raw: "smtp://user%40example.com:p%40ss%3Aw%2Fd@mail.example.com:2525?tls=starttls",
			want: SMTPConfig{Host: "mail.example.com", Port: 2525, TLS: TLSStartTLS, Username: "user@example.com", Password: "p@ss:w/d"}},
		{raw: "smtp://apikey@[::1]:25?tls=none", want: SMTPConfig{Host: "::1", Port: 25, TLS: TLSNone, Username: "apikey"}},
		{raw: "smtps://mail.example.com", err: true},
		{raw: "http://mail.example.com", err: true},
		{raw: "smtp://", err: true},
		{raw: "smtp://mail.example.com?tls=yes", err: true},
		{raw: "smtp://mail.example.com?tsl=none", err: true},
		{raw: "smtp://mail.example.com?tls=none&tls=tls", err: true},
		{raw: "smtp://mail.example.com:0", err: true},
		{raw: "smtp://mail.example.com:70000", err: true},
		{raw: "smtp://mail.example.com/path", err: true},
		{raw: "mail.example.com:25", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := ParseSMTPURL(tt.raw)
			if tt.err {
				if err == nil {
					t.Errorf("got %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestSMTPConfigStringHidesPassword(t *testing.T) {
	cfg := SMTPConfig{Host: "mail.example.com", Port: 587, TLS: TLSStartTLS, Username: "u", Password: "hunter2"}
	if s := fmt.Sprint(cfg); strings.Contains(s, "hunter2") {
		t.Errorf("%s shows the password", s)
	}
}
