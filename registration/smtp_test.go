package registration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	eventmail "eventreg/mail"
)

// smtpSink is a real SMTP server on loopback that keeps what it receives.
type smtpSink struct {
	mu    sync.Mutex
	ids   []string
	conns int
}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.conns++
	s.mu.Unlock()
	return &sinkSession{s}, nil
}

type sinkSession struct{ s *smtpSink }

func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*sinkSession) Reset()                               {}
func (*sinkSession) Logout() error                        { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.ids = append(ss.s.ids, m.Header.Get("Message-Id"))
	ss.s.mu.Unlock()
	return nil
}

func serveSMTP(t *testing.T, l net.Listener, be smtp.Backend) {
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
}

// TestSMTPOutage: with the SMTP server down, sign-ups go on and mail waits;
// retries back off instead of spinning; when the server is back every
// message is delivered once, with the Message-ID it was given at sign-up.
func TestSMTPOutage(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	mustEvent(t, svc, map[string]any{"slug": "outage"})

	// Reserve a port, and keep it closed for now.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	sender := eventmail.NewSMTPSender(eventmail.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: eventmail.TLSNone,
		HeloName: "eventreg.test", Timeout: 2 * time.Second})
	w := svc.NewWorker(sender, time.Second, quiet)

	attempts := 0
	for i := range 20 {
		if _, err := signup(svc, "outage", fmt.Sprintf("p%02d@example.com", i)); err != nil {
			t.Fatalf("sign-up during the outage: %v", err)
		}
		n, err := w.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		attempts += n
		clock.Add(time.Second)
	}
	if attempts > 40 {
		t.Errorf("%d attempts for 20 messages in 20 s: a hot loop", attempts)
	}
	e, _ := svc.Event(ctx, "outage")
	pending, _ := svc.Store().Messages(ctx, MessageFilter{EventID: e.ID, Status: MsgPending, Limit: 100})
	if len(pending) != 20 || pending[0].LastError == "" {
		t.Fatalf("pending %d", len(pending))
	}
	want := map[string]bool{}
	for _, m := range pending {
		want["<"+m.MessageID+">"] = true
	}

	l, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Skipf("port %d taken meanwhile: %v", port, err)
	}
	sink := &smtpSink{}
	serveSMTP(t, l, sink)
	clock.Add(5 * time.Minute)
	drain(t, w)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.ids) != 20 {
		t.Fatalf("delivered %d of 20", len(sink.ids))
	}
	for _, id := range sink.ids {
		if !want[id] {
			t.Errorf("unexpected Message-ID %s", id)
		}
		delete(want, id)
	}
	if sink.conns > 4 {
		t.Errorf("%d connections for one batch of 20", sink.conns)
	}
}
