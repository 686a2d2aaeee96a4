package mail

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFileSender(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail") // missing: Send creates it
	s := NewFileSender(dir)
	msgs := []Message{fixture(KindConfirmation, "en"), fixture(KindReminder, "zh-Hans")}
	msgs[1].CreatedAt = msgs[0].CreatedAt.Add(time.Hour)
	for i, err := range s.Send(context.Background(), msgs) {
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() || st.Mode().Perm()&0o700 != 0o700 {
		t.Fatalf("dir %v (%v)", st, err) // 0755 less the umask
	}
	want := []string{
		"20260102T030405Z-confirmation.0123456789abcdef01234567@events.example.com.eml",
		"20260102T040405Z-reminder.0123456789abcdef01234567@events.example.com.eml",
	}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	for i, name := range want {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		checkMail(t, msgs[i], raw)
	}

	// Sending again, as after a crash before the outbox row was marked,
	// replaces the file instead of adding one.
	again := msgs[0]
	again.ToName = "Ann Lee-Again"
	if errs := s.Send(context.Background(), []Message{again}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Fatalf("after a second send: files %v, want %v", got, want)
	}
	raw, err := os.ReadFile(filepath.Join(dir, want[0]))
	if err != nil {
		t.Fatal(err)
	}
	checkMail(t, again, raw)
}

func TestFileSenderBadMessage(t *testing.T) {
	dir := t.TempDir()
	m := fixture(KindConfirmation, "en")
	m.To = "nobody"
	if errs := NewFileSender(dir).Send(context.Background(), []Message{m}); !IsPermanent(errs[0]) {
		t.Errorf("err = %v, want permanent", errs[0])
	}
	if got := names(t, dir); len(got) != 0 {
		t.Errorf("files left behind: %v", got)
	}
}

func TestFileSenderUnwritableDirIsTemporary(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	errs := NewFileSender(file).Send(context.Background(), batch(2, KindConfirmation))
	checkAllTemporary(t, errs, 2)
}

func TestFileName(t *testing.T) {
	at := time.Date(2026, 1, 8, 14, 0, 0, 0, time.FixedZone("CST", 8*3600))
	a := fileName(Message{ID: "a/b@x", CreatedAt: at})
	b := fileName(Message{ID: "a_b@x", CreatedAt: at})
	if !strings.HasPrefix(a, "20260108T060000Z-a_b@x-") || !strings.HasSuffix(a, ".eml") || strings.Contains(a, "/") {
		t.Errorf("name %q", a)
	}
	if a == b {
		t.Errorf("distinct IDs share the file name %q", a)
	}
	if n := fileName(Message{ID: strings.Repeat("x", 500) + "@x", CreatedAt: at}); len(n) > 200 {
		t.Errorf("name of %d bytes", len(n))
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range entries {
		n = append(n, e.Name())
	}
	return n // ReadDir sorts by name
}
