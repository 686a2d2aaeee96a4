package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3"
)

// TestMain lets a test start this very binary as the eventreg server (with
// EVENTREG_TEST_CHILD set), so that it can be killed like a real process.
func TestMain(m *testing.M) {
	var args []string
	switch {
	case os.Getenv("EVENTREG_TEST_CHILD") == "1":
		args = strings.Fields(os.Getenv("EVENTREG_TEST_ARGS"))
	case os.Getenv("EVENTREG_TEST_COMMANDS") == "1" && len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-"):
		// eventreg bench starts its servers as os.Executable() with a
		// command: in a test, that is this binary.
		args = os.Args[1:]
	default:
		os.Exit(m.Run())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

type serverProc struct {
	cmd  *exec.Cmd
	base string
}

func startServer(t *testing.T, env []string) *serverProc {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append(env, "EVENTREG_TEST_CHILD=1", "EVENTREG_TEST_ARGS=serve", "EVENTREG_ADDR="+addr)...)
	logf, err := os.OpenFile(filepath.Join(t.TempDir(), "server.log"), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, base: "http://" + addr}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitReady(t, p.base)
	return p
}

func adminPost(t *testing.T, base, path, body string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer admin-secret")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("%s: %d %s", path, res.StatusCode, b)
	}
}

// TestKillDuringRush: SIGKILL in the middle of a sign-up rush. After a
// restart every sign-up that got a 201 is there, the database is intact, the
// counters agree with the rows, capacity holds, and every registrant is
// mailed exactly once (a repeat could only carry the same Message-ID).
func TestKillDuringRush(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	env := []string{
		"EVENTREG_DB=" + filepath.Join(dir, "eventreg.db"), "EVENTREG_MAIL_DIR=" + filepath.Join(dir, "mail"),
		"EVENTREG_SIGNUP_RATE=off", "EVENTREG_ADMIN_TOKEN=admin-secret", "EVENTREG_WORKER_INTERVAL=100ms",
		"EVENTREG_LOG_FORMAT=json", "EVENTREG_MAIL_LEASE=2s",
	}
	srv := startServer(t, env)
	adminPost(t, srv.base, "/api/v1/admin/events", `{"slug":"rush","kind":"webinar","title":"Rush","capacity":150,"state":"published"}`)

	var mu sync.Mutex
	acked := map[string]string{} // email → status answered
	var wg sync.WaitGroup
	stop := make(chan struct{})
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				email := fmt.Sprintf("w%d-%d@example.com", w, i)
				res, err := client.Post(srv.base+"/api/v1/events/rush/registrations", "application/json",
					strings.NewReader(`{"name":"Rush","email":"`+email+`"}`))
				if err != nil {
					return // the server is gone
				}
				var body struct{ Status string }
				_ = json.NewDecoder(res.Body).Decode(&body)
				res.Body.Close()
				if res.StatusCode == 201 {
					mu.Lock()
					acked[email] = body.Status
					mu.Unlock()
				} else if res.StatusCode >= 500 {
					t.Errorf("sign-up answered %d", res.StatusCode)
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 200 {
		t.Fatalf("only %d sign-ups before the kill", len(acked))
	}

	// Restart: the worker delivers what was queued, then we stop it cleanly.
	srv = startServer(t, env)
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", srv.base+"/api/v1/admin/events/rush/stats", nil)
		req.Header.Set("Authorization", "Bearer admin-secret")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var st struct{ Emails map[string]int }
		_ = json.NewDecoder(res.Body).Decode(&st)
		res.Body.Close()
		if st.Emails["pending"] == 0 && st.Emails["sending"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mail not drained: %v", st.Emails)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = srv.cmd.Process.Signal(os.Interrupt)
	_ = srv.cmd.Wait()

	db, err := sqlx.Open("sqlite3", "file:"+filepath.Join(dir, "eventreg.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.Get(&check, "PRAGMA integrity_check"); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	var ev struct {
		Confirmed, Waitlisted, Capacity int
	}
	if err := db.Get(&ev, "SELECT confirmed, waitlisted, capacity FROM events WHERE slug = 'rush'"); err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	var regs []struct{ Email, Status string }
	if err := db.Select(&regs, "SELECT email, status FROM registrations"); err != nil {
		t.Fatal(err)
	}
	nConfirmed, nWaitlisted := 0, 0
	for _, r := range regs {
		rows[r.Email] = r.Status
		switch r.Status {
		case "confirmed":
			nConfirmed++
		case "waitlisted":
			nWaitlisted++
		}
	}
	if ev.Confirmed != nConfirmed || ev.Waitlisted != nWaitlisted || nConfirmed > ev.Capacity {
		t.Errorf("counters %+v, rows confirmed %d waitlisted %d", ev, nConfirmed, nWaitlisted)
	}
	for email, status := range acked {
		if rows[email] != status {
			t.Errorf("%s was answered 201 %s, stored %q", email, status, rows[email])
		}
	}

	// Mail: one file per Message-ID; every registrant has exactly one
	// confirmation or waitlist notice.
	files, _ := filepath.Glob(filepath.Join(dir, "mail", "*.eml"))
	perRecipient := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\r\n") {
			if rest, ok := strings.CutPrefix(line, "To: "); ok {
				perRecipient[strings.Trim(rest[strings.LastIndex(rest, " ")+1:], "<>")]++
				break
			}
		}
	}
	for email := range rows {
		if perRecipient[email] != 1 {
			t.Errorf("%s got %d messages", email, perRecipient[email])
		}
	}
	t.Logf("%d acknowledged before the kill, %d rows after, %d mails", len(acked), len(rows), len(files))
}
