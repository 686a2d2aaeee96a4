package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestConfigFlagsAndEnvironment(t *testing.T) {
	cfg, _, err := parseConfig("serve", []string{"--addr", "127.0.0.1:9999", "--signup-rate", "off"},
		env(map[string]string{"EVENTREG_ADDR": "127.0.0.1:7777", "EVENTREG_LOCALE": "zh-Hant", "EVENTREG_DEMO": "true",
			"EVENTREG_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1", "EVENTREG_WORKER_INTERVAL": "2s"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9999" || cfg.BaseURL != "http://127.0.0.1:9999" || cfg.Locale != "zh-Hant" || !cfg.Demo ||
		cfg.SignupRate.Count != 0 || len(cfg.TrustedProxies) != 2 || cfg.TrustedProxies[1] != "192.0.2.1/32" ||
		cfg.WorkerInterval != 2*time.Second || !cfg.Worker || cfg.DB != "data/eventreg.db" {
		t.Errorf("config %+v", cfg)
	}
	for _, bad := range [][]string{{"--locale", "fr"}, {"--timezone", "Nowhere/City"}, {"--signup-rate", "lots"},
		{"--trusted-proxies", "not-a-cidr"}, {"--base-url", "ftp://x"}, {"--worker-interval", "0"}, {"--nope"}} {
		if _, _, err := parseConfig("serve", bad, env(nil)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, _, err := parseConfig("serve", nil, env(map[string]string{"EVENTREG_DEMO": "maybe"})); err == nil {
		t.Errorf("bad bool accepted")
	}
}

func TestTokenCommands(t *testing.T) {
	ctx := context.Background()
	e := env(map[string]string{"EVENTREG_DB": filepath.Join(t.TempDir(), "t.db")})
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"token", "create", "--name", "alice"}, e, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	tok := out.String()
	if !strings.HasPrefix(tok, "evr_") || strings.Count(tok, "\n") != 1 || len(strings.TrimSpace(tok)) < 40 {
		t.Errorf("token output %q", tok)
	}
	out.Reset()
	if err := run(ctx, []string{"token", "list"}, e, &out, &errb); err != nil || !strings.Contains(out.String(), "alice") || strings.Contains(out.String(), strings.TrimSpace(tok)) {
		t.Errorf("list %q %v", out.String(), err)
	}
	if err := run(ctx, []string{"token", "create", "--name", "alice"}, e, &out, &errb); err == nil {
		t.Errorf("same name twice")
	}
	out.Reset()
	if err := run(ctx, []string{"token", "revoke", "alice"}, e, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"token", "revoke", "alice"}, e, &out, &errb); err == nil {
		t.Errorf("revoke twice")
	}
	if err := run(ctx, []string{"bogus"}, e, &out, &errb); err == nil {
		t.Errorf("unknown command")
	}
}

// TestServeDemoAndShutdown runs the real server with the demo, signs up,
// waits for the mail file, takes a backup while serving, and stops it with a
// request in flight.
func TestServeDemoAndShutdown(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	e := env(map[string]string{
		"EVENTREG_DB": filepath.Join(dir, "data", "eventreg.db"), "EVENTREG_MAIL_DIR": filepath.Join(dir, "mail"),
		"EVENTREG_ADDR": addr, "EVENTREG_WORKER_INTERVAL": "100ms", "EVENTREG_ADMIN_TOKEN": "admin-secret",
		"EVENTREG_LOG_FORMAT": "json",
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs safeBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--demo"}, e, io.Discard, &logs) }()
	base := "http://" + addr
	waitReady(t, base)

	var list struct {
		Items []struct {
			Slug, CTA string
			Status    string
		}
	}
	getJSON(t, base+"/api/v1/events?lang=zh-Hant", &list)
	ctas := map[string]string{}
	for _, it := range list.Items {
		ctas[it.Slug] = it.CTA
	}
	want := map[string]string{"murata-ar-vr": "立即報名", "allegro-ev-chassis": "火熱報名中", "onsemi-treo": "立即參與",
		"smart-manufacturing-bluebook-2024": "立即下載", "ofweek-2024-iot": "精彩回顧", "ofweek-2025-cio-summit": "立即報名"}
	for slug, cta := range want {
		if ctas[slug] != cta {
			t.Errorf("%s: cta %q, want %q (all: %v)", slug, ctas[slug], cta, ctas)
		}
	}

	res, err := http.Post(base+"/api/v1/events/murata-ar-vr/registrations", "application/json",
		strings.NewReader(`{"name":"王小明","email":"ming@example.com"}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("sign-up %v %v", res, err)
	}
	res.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "mail", "*.eml"))
		found := false
		for _, f := range files {
			b, _ := os.ReadFile(f)
			found = found || bytes.Contains(b, []byte("ming@example.com"))
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no confirmation mail among %d files", len(files))
		}
		time.Sleep(50 * time.Millisecond)
	}

	var out bytes.Buffer
	backupFile := filepath.Join(dir, "backup.db")
	if err := run(context.Background(), []string{"backup", backupFile}, e, &out, io.Discard); err != nil {
		t.Fatalf("backup while serving: %v", err)
	}
	if st, err := os.Stat(backupFile); err != nil || st.Size() == 0 {
		t.Fatalf("backup file: %v", err)
	}

	// A slow client is mid-request when the signal comes; it gets its answer.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"Late","email":"late@example.com"}`
	fmt.Fprintf(conn, "POST /api/v1/events/murata-ar-vr/registrations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
	time.Sleep(100 * time.Millisecond)
	cancel()
	time.Sleep(100 * time.Millisecond)
	fmt.Fprint(conn, body[10:])
	reply, _ := io.ReadAll(conn)
	if !bytes.HasPrefix(reply, []byte("HTTP/1.1 201")) {
		t.Errorf("in-flight request got %q", reply)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(logs.String(), `"msg":"shutting down"`) {
		t.Errorf("logs: %s", logs.String())
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *safeBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("server not ready")
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
