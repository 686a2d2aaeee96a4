package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHostileHeadersAndSlowClients runs the real server and sends it what
// the http.Server settings are there for: a header block over the 64 KiB
// limit, and a slowloris client that trickles its headers in.
func TestHostileHeadersAndSlowClients(t *testing.T) {
	old := readHeaderTimeout
	readHeaderTimeout = 600 * time.Millisecond
	dir := t.TempDir()
	addr := freeAddr(t)
	e := env(map[string]string{"EVENTREG_DB": filepath.Join(dir, "eventreg.db"), "EVENTREG_MAIL_DIR": filepath.Join(dir, "mail"),
		"EVENTREG_ADDR": addr, "EVENTREG_LOG_FORMAT": "json"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--worker=false"}, e, io.Discard, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
		readHeaderTimeout = old
	})
	base := "http://" + addr
	waitReady(t, base)

	// rawGet sends a GET with one extra header of n bytes and reads the answer.
	rawGet := func(n int) (int, error) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return 0, err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			// The server may answer and close before all of it is written.
			_, _ = fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\nConnection: close\r\n\r\n", strings.Repeat("a", n))
		}()
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	if code, err := rawGet(100 << 10); err != nil || code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("100 KiB header: %d (%v), want 431", code, err)
	}
	if code, err := rawGet(32 << 10); err != nil || code != 200 {
		t.Errorf("32 KiB header: %d (%v), want 200", code, err)
	}

	// Slowloris: headers one byte per 100ms. The server hangs up once
	// ReadHeaderTimeout has passed, and serves others meanwhile.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		_, _ = io.Copy(io.Discard, conn)
		closed <- time.Since(start)
	}()
	req := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("z", 200)
	var cut time.Duration
	served := false
	for i := 0; cut == 0; i++ {
		select {
		case cut = <-closed:
			continue
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := conn.Write([]byte{req[i%len(req)]}); err != nil {
			cut = <-closed
			continue
		}
		if !served && i == 2 {
			res, err := http.Get(base + "/healthz")
			if err != nil || res.StatusCode != 200 {
				t.Errorf("another client during the slowloris: %v %v", res, err)
			} else {
				res.Body.Close()
			}
			served = true
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("the slow client is still connected after 10s")
		}
	}
	if cut < readHeaderTimeout-100*time.Millisecond || cut > readHeaderTimeout+2*time.Second {
		t.Errorf("slow client cut off after %v, want about %v", cut, readHeaderTimeout)
	}
}
