package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// sink is a local SMTP server that counts what it receives.
type sink struct {
	reminders atomic.Int64
	total     atomic.Int64
	conns     atomic.Int64
	mu        sync.Mutex
	last      time.Time
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) {
	s.conns.Add(1)
	return &sinkSession{s: s}, nil
}

type sinkSession struct{ s *sink }

func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*sinkSession) Reset()                               {}
func (*sinkSession) Logout() error                        { return nil }

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.total.Add(1)
	if bytes.Contains(b, []byte("Message-ID: <reminder.")) || bytes.Contains(b, []byte("Message-Id: <reminder.")) {
		ss.s.reminders.Add(1)
		ss.s.mu.Lock()
		ss.s.last = time.Now()
		ss.s.mu.Unlock()
	}
	return nil
}

func benchReminders(ctx context.Context, o *benchOptions, stdout, stderr io.Writer) error {
	dir, cleanup, err := benchDir(o)
	if err != nil {
		return err
	}
	defer cleanup()
	sk := &sink{}
	srv := smtp.NewServer(sk)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.MaxRecipients = 10
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(ln)
	defer srv.Close()

	lead := 40 * time.Second // time to sign everyone up before the reminders fall due
	c, _, err := startChild(ctx, dir, serverEnv(dir, o, "EVENTREG_WORKER=true", "EVENTREG_WORKER_INTERVAL=1s",
		"EVENTREG_SMTP_URL=smtp://"+ln.Addr().String()+"?tls=none"), "serve")
	if err != nil {
		return err
	}
	defer c.stop()
	due := time.Now().Add(lead).Truncate(time.Second)
	start := due.Add(time.Hour)
	body := fmt.Sprintf(`{"slug":"reminders","kind":"webinar","title":"Reminder rush","starts_at":%q,"reminders":["1h"],"state":"published","timezone":"Asia/Shanghai","join_url":"https://meet.example.com/r"}`,
		start.UTC().Format(time.RFC3339))
	if err := adminDo(c.url, o.adminToken, "POST", "/api/v1/admin/events", body); err != nil {
		return err
	}
	var n atomic.Int64
	signups := signupRequests(c.url, []string{"reminders"}, "rem", o.emails)
	next := func(w, i int, buf []byte) ([]byte, error) {
		if n.Add(1) > int64(o.reminders) {
			return nil, fmt.Errorf("enough")
		}
		return signups(w, i, buf)
	}
	fill := drive(ctx, "sign-ups", c.url, o.conns, lead-5*time.Second, next)
	fmt.Fprintf(stdout, "%d sign-ups at %.0f/s; waiting for the confirmations to drain and the reminders to fall due at %s\n",
		fill.codes[201], fill.rate(), due.Format(time.TimeOnly))
	if fill.codes[201] != o.reminders {
		return fmt.Errorf("only %d of %d sign-ups taken", fill.codes[201], o.reminders)
	}
	confirmedBy := time.Now()
	for sk.total.Load() < int64(o.reminders) && time.Now().Before(due) {
		time.Sleep(50 * time.Millisecond)
		confirmedBy = time.Now()
	}
	fmt.Fprintf(stdout, "confirmations delivered: %d (last by %s)\n", sk.total.Load(), confirmedBy.Format(time.TimeOnly))
	connsBefore := sk.conns.Load()
	time.Sleep(time.Until(due))
	deadline := due.Add(2 * time.Minute)
	for sk.reminders.Load() < int64(o.reminders) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	sk.mu.Lock()
	last := sk.last
	sk.mu.Unlock()
	fmt.Fprintf(stdout, "reminders delivered: %d of %d, the last %.2fs after they fell due, over %d SMTP connections\n",
		sk.reminders.Load(), o.reminders, last.Sub(due).Seconds(), sk.conns.Load()-connsBefore)
	if sk.reminders.Load() < int64(o.reminders) {
		return fmt.Errorf("not all reminders delivered")
	}
	return nil
}
