package registration

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is a settable clock shared by a service and its test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{t: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)

// newSQLiteService is a service over a fresh SQLite file.
func newSQLiteService(t testing.TB, clock *testClock) *Service {
	t.Helper()
	ctx := context.Background()
	store, err := Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(ctx, store, Options{Now: clock.Now, BaseURL: "http://example.test", MailFrom: "eventreg <no-reply@example.test>"})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// mustEvent creates a published event from JSON-ish fields.
func mustEvent(t testing.TB, svc *Service, fields map[string]any) *Event {
	t.Helper()
	raw := map[string]json.RawMessage{}
	defaults := map[string]any{"kind": "webinar", "title": "Test event", "state": "published"}
	for k, v := range defaults {
		if _, ok := fields[k]; !ok {
			fields[k] = v
		}
	}
	for k, v := range fields {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		raw[k] = b
	}
	e, err := svc.CreateEvent(context.Background(), raw)
	if err != nil {
		t.Fatalf("create event: %v", err)
	}
	return e
}

func signup(svc *Service, slug, email string) (*SignupResult, error) {
	return svc.Signup(context.Background(), slug, SignupInput{Name: "Person " + email, Email: email}, "")
}

func TestSignupCapacityUnderConcurrency(t *testing.T) {
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	e := mustEvent(t, svc, map[string]any{"slug": "rush", "capacity": 50, "starts_at": t0.Add(48 * time.Hour).Format(time.RFC3339)})

	const n = 400
	var wg sync.WaitGroup
	results := make([]*SignupResult, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = signup(svc, "rush", fmt.Sprintf("p%03d@example.com", i))
		}()
	}
	close(start)
	wg.Wait()

	confirmed, positions := 0, map[int]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("sign-up %d: %v", i, errs[i])
		}
		switch results[i].Status {
		case RegConfirmed:
			confirmed++
		case RegWaitlisted:
			positions[*results[i].WaitlistPosition] = true
		}
	}
	if confirmed != 50 {
		t.Errorf("confirmed = %d, want 50", confirmed)
	}
	for p := 1; p <= 350; p++ {
		if !positions[p] {
			t.Fatalf("waitlist position %d missing (have %d positions)", p, len(positions))
		}
	}
	got, err := svc.Store().EventBySlug(context.Background(), "rush")
	if err != nil {
		t.Fatal(err)
	}
	counts, _ := svc.Store().Counts(context.Background(), e.ID)
	if got.Confirmed != 50 || got.Waitlisted != 350 || counts.Confirmed != 50 || counts.Waitlisted != 350 {
		t.Errorf("counters %d/%d, rows %+v", got.Confirmed, got.Waitlisted, counts)
	}
}

func TestDuplicateSignupsMakeOneRow(t *testing.T) {
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	e := mustEvent(t, svc, map[string]any{"slug": "dup"})

	var wg sync.WaitGroup
	var mu sync.Mutex
	created, dups := 0, 0
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := "Same@Example.com"
			if i%2 == 0 {
				email = "same@example.COM"
			}
			res, err := signup(svc, "dup", email)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if res.Duplicate {
				dups++
				if res.ManageURL != "" || res.ID != 0 || res.CalendarURL != "" {
					t.Errorf("duplicate reveals data: %+v", res)
				}
			} else {
				created++
			}
		}()
	}
	wg.Wait()
	counts, _ := svc.Store().Counts(context.Background(), e.ID)
	if created != 1 || dups != 39 || counts.Confirmed != 1 {
		t.Errorf("created %d, duplicates %d, rows %+v", created, dups, counts)
	}
}

func TestCancelPromotesOldestAndReRegister(t *testing.T) {
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	ctx := context.Background()
	mustEvent(t, svc, map[string]any{"slug": "small", "capacity": 2})
	a, _ := signup(svc, "small", "a@example.com")
	signup(svc, "small", "b@example.com")
	c, _ := signup(svc, "small", "c@example.com")
	d, _ := signup(svc, "small", "d@example.com")
	if c.Status != RegWaitlisted || *c.WaitlistPosition != 1 || *d.WaitlistPosition != 2 {
		t.Fatalf("c %+v d %+v", c, d)
	}
	if _, _, err := svc.CancelByToken(ctx, a.Token); err != nil {
		t.Fatal(err)
	}
	rc, _, _ := svc.RegistrationByToken(ctx, c.Token)
	rd, _, _ := svc.RegistrationByToken(ctx, d.Token)
	if rc.Status != RegConfirmed || rd.Status != RegWaitlisted || rd.WaitlistPosition != 1 {
		t.Errorf("after cancel: c=%s d=%s pos %d", rc.Status, rd.Status, rd.WaitlistPosition)
	}
	// Cancelling twice changes nothing.
	if r, _, err := svc.CancelByToken(ctx, a.Token); err != nil || r.Status != RegCancelled {
		t.Fatalf("second cancel: %v %v", r, err)
	}
	e, _ := svc.Event(ctx, "small")
	if e.Confirmed != 2 || e.Waitlisted != 1 {
		t.Errorf("counters %d/%d", e.Confirmed, e.Waitlisted)
	}
	// a signs up again: a new registration, at the back of the queue.
	again, err := signup(svc, "small", "A@example.com")
	if err != nil || again.Duplicate || again.Status != RegWaitlisted || *again.WaitlistPosition != 2 {
		t.Fatalf("re-register: %+v %v", again, err)
	}
}

func TestRaisingCapacityPromotes(t *testing.T) {
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	ctx := context.Background()
	mustEvent(t, svc, map[string]any{"slug": "grow", "capacity": 1})
	signup(svc, "grow", "a@example.com")
	b, _ := signup(svc, "grow", "b@example.com")
	c, _ := signup(svc, "grow", "c@example.com")
	if _, err := svc.UpdateEvent(ctx, "grow", map[string]json.RawMessage{"capacity": json.RawMessage("2")}); err != nil {
		t.Fatal(err)
	}
	rb, _, _ := svc.RegistrationByToken(ctx, b.Token)
	rc, _, _ := svc.RegistrationByToken(ctx, c.Token)
	if rb.Status != RegConfirmed || rc.Status != RegWaitlisted {
		t.Errorf("b %s c %s", rb.Status, rc.Status)
	}
	_, err := svc.UpdateEvent(ctx, "grow", map[string]json.RawMessage{"capacity": json.RawMessage("1")})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Fields[0].Field != "capacity" {
		t.Errorf("lowering below confirmed: %v", err)
	}
	if _, err := svc.UpdateEvent(ctx, "grow", map[string]json.RawMessage{"capacity": json.RawMessage("null")}); err != nil {
		t.Fatal(err)
	}
	if rc, _, _ = svc.RegistrationByToken(ctx, c.Token); rc.Status != RegConfirmed {
		t.Errorf("unlimited: c %s", rc.Status)
	}
}

func TestSignupRefusals(t *testing.T) {
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	ctx := context.Background()
	h := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339) }
	mustEvent(t, svc, map[string]any{"slug": "draft", "state": "draft"})
	mustEvent(t, svc, map[string]any{"slug": "later", "registration_opens_at": h(time.Hour)})
	mustEvent(t, svc, map[string]any{"slug": "closed", "registration_opens_at": h(-2 * time.Hour), "registration_closes_at": h(-time.Hour)})
	mustEvent(t, svc, map[string]any{"slug": "ended", "registration_opens_at": h(-5 * time.Hour), "starts_at": h(-3 * time.Hour), "ends_at": h(-time.Hour), "registration_closes_at": h(time.Hour)})
	mustEvent(t, svc, map[string]any{"slug": "full", "capacity": 1, "waitlist": false})
	mustEvent(t, svc, map[string]any{"slug": "gone"})
	if _, err := svc.CancelEvent(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	signup(svc, "full", "first@example.com")
	for slug, want := range map[string]error{
		"draft": ErrNotFound, "nope": ErrNotFound, "later": ErrRegistrationNotOpen, "closed": ErrRegistrationClosed,
		"ended": ErrEventEnded, "full": ErrEventFull, "gone": ErrEventCancelled,
	} {
		if _, err := signup(svc, slug, "x@example.com"); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", slug, err, want)
		}
		// With an Idempotency-Key the lock-free pre-check is skipped: the
		// guards inside the transaction refuse alike.
		if _, err := svc.Signup(ctx, slug, SignupInput{Name: "X", Email: "k@example.com"}, "key-"+slug); !errors.Is(err, want) {
			t.Errorf("%s with key: %v, want %v", slug, err, want)
		}
	}
	// A refusal through the write path too (an Idempotency-Key skips the
	// lock-free pre-check).
	if _, err := svc.Signup(ctx, "full", SignupInput{Name: "X", Email: "y@example.com"}, "k1"); !errors.Is(err, ErrEventFull) {
		t.Errorf("full with key: %v", err)
	}
}

func TestIdempotencyKey(t *testing.T) {
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	ctx := context.Background()
	e := mustEvent(t, svc, map[string]any{"slug": "idem"})
	in := SignupInput{Name: "Ann", Email: "ann@example.com"}
	first, err := svc.Signup(ctx, "idem", in, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := svc.Signup(ctx, "idem", in, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	if second.Code != 201 || second.ID != first.ID || second.ManageURL != first.ManageURL || second.Duplicate {
		t.Errorf("retry answered %+v, first %+v", second, first)
	}
	if _, err := svc.Signup(ctx, "idem", SignupInput{Name: "Bob", Email: "bob@example.com"}, "key-1"); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Errorf("reuse for another body: %v", err)
	}
	counts, _ := svc.Store().Counts(ctx, e.ID)
	if counts.Confirmed != 1 {
		t.Errorf("rows %+v", counts)
	}
}

func TestSignupValidation(t *testing.T) {
	ok := SignupInput{Name: "王小明", Email: "ming@example.com"}
	tests := []struct {
		name  string
		edit  func(in *SignupInput)
		field string
	}{
		{"valid", func(in *SignupInput) {}, ""},
		{"500 Chinese characters in question", func(in *SignupInput) { in.Question = strings.Repeat("問", 500) }, ""},
		{"501 characters in question", func(in *SignupInput) { in.Question = strings.Repeat("問", 501) }, "question"},
		{"question too short", func(in *SignupInput) { in.Question = "短問題" }, "question"},
		{"question may have newlines", func(in *SignupInput) { in.Question = "line one\nline two" }, ""},
		{"100 character name", func(in *SignupInput) { in.Name = strings.Repeat("名", 100) }, ""},
		{"101 character name", func(in *SignupInput) { in.Name = strings.Repeat("名", 101) }, "name"},
		{"empty name", func(in *SignupInput) { in.Name = "  " }, "name"},
		{"CR LF in name", func(in *SignupInput) { in.Name = "Ann\r\nBcc: x@example.com" }, "name"},
		{"control char in company", func(in *SignupInput) { in.Company = "A\x00B" }, "company"},
		{"display name email", func(in *SignupInput) { in.Email = "Ann <ann@example.com>" }, "email"},
		{"two emails", func(in *SignupInput) { in.Email = "a@example.com, b@example.com" }, "email"},
		{"no domain dot", func(in *SignupInput) { in.Email = "a@localhost" }, "email"},
		{"email newline", func(in *SignupInput) { in.Email = "a@example.com\nBcc: b@example.com" }, "email"},
		{"email too long", func(in *SignupInput) { in.Email = strings.Repeat("a", 250) + "@example.com" }, "email"},
		{"phone", func(in *SignupInput) { in.Phone = "+86 (21) 5555-0101" }, ""},
		{"phone letters", func(in *SignupInput) { in.Phone = "call me" }, "phone"},
		{"phone too long", func(in *SignupInput) { in.Phone = strings.Repeat("1", 33) }, "phone"},
		{"job title 101", func(in *SignupInput) { in.JobTitle = strings.Repeat("x", 101) }, "job_title"},
		{"company 201", func(in *SignupInput) { in.Company = strings.Repeat("公", 201) }, "company"},
		{"bad locale", func(in *SignupInput) { in.Locale = "fr" }, "locale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ok
			tt.edit(&in)
			err := in.normalize()
			var ve *ValidationError
			switch {
			case tt.field == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.field != "" && (!errors.As(err, &ve) || ve.Fields[0].Field != tt.field):
				t.Errorf("want error on %s, got %v", tt.field, err)
			}
		})
	}
}

func TestEventValidation(t *testing.T) {
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	ctx := context.Background()
	raw := func(s string) map[string]json.RawMessage {
		m := map[string]json.RawMessage{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	bad := []struct {
		body, field string
	}{
		{`{"title":"x"}`, "kind"},
		{`{"kind":"party","title":"x"}`, "kind"},
		{`{"kind":"webinar"}`, "title"},
		{`{"kind":"webinar","title":"x","slug":"Bad Slug"}`, "slug"},
		{`{"kind":"webinar","title":"x","timezone":"Mars/Base"}`, "timezone"},
		{`{"kind":"webinar","title":"x","starts_at":"tomorrow"}`, "starts_at"},
		{`{"kind":"webinar","title":"x","starts_at":"2026-02-01T10:00:00Z","ends_at":"2026-02-01T09:00:00Z"}`, "ends_at"},
		{`{"kind":"webinar","title":"x","capacity":-1}`, "capacity"},
		{`{"kind":"webinar","title":"x","capacity":"ten"}`, "capacity"},
		{`{"kind":"webinar","title":"x","reminders":["1m"]}`, "reminders"},
		{`{"kind":"webinar","title":"x","reminders":["1h","2h","3h","4h","5h","6h"]}`, "reminders"},
		{`{"kind":"webinar","title":"x","reminders":["31d"]}`, "reminders"},
		{`{"kind":"webinar","title":"x","join_url":"javascript:alert(1)"}`, "join_url"},
		{`{"kind":"webinar","title":"x","registration_opens_at":"2026-02-01T10:00:00Z","registration_closes_at":"2026-01-01T10:00:00Z"}`, "registration_closes_at"},
		{`{"kind":"webinar","title":"x","colour":"red"}`, "colour"},
		{`{"kind":"webinar","title":"` + strings.Repeat("標", 201) + `"}`, "title"},
	}
	for _, b := range bad {
		_, err := svc.CreateEvent(ctx, raw(b.body))
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: %v, want a validation error", b.body, err)
			continue
		}
		found := false
		for _, f := range ve.Fields {
			found = found || f.Field == b.field
		}
		if !found {
			t.Errorf("%s: fields %+v, want %s", b.body, ve.Fields, b.field)
		}
	}
	e, err := svc.CreateEvent(ctx, raw(`{"kind":"webinar","title":"`+strings.Repeat("標", 200)+`","starts_at":"2026-02-01T10:00:00+08:00"}`))
	if err != nil {
		t.Fatal(err)
	}
	if e.EndsAt == nil || !e.EndsAt.Equal(e.StartsAt.Add(time.Hour)) || e.State != StateDraft || e.Slug == "" || len(e.Reminders) != 2 {
		t.Errorf("defaults: %+v", e)
	}
	if _, err := svc.CreateEvent(ctx, raw(`{"kind":"webinar","title":"x","slug":"`+e.Slug+`"}`)); !errors.Is(err, ErrSlugTaken) {
		t.Errorf("duplicate slug: %v", err)
	}
	// Generated slugs never collide.
	a := mustEvent(t, svc, map[string]any{"title": "Same Title"})
	b := mustEvent(t, svc, map[string]any{"title": "Same Title"})
	if a.Slug == b.Slug || !ValidSlug(a.Slug) || !ValidSlug(b.Slug) {
		t.Errorf("slugs %q %q", a.Slug, b.Slug)
	}
}

func TestManageTokens(t *testing.T) {
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	ctx := context.Background()
	mustEvent(t, svc, map[string]any{"slug": "tok"})
	res, _ := signup(svc, "tok", "t@example.com")
	if len(res.Token) != tokenLen {
		t.Fatalf("token %q", res.Token)
	}
	if _, _, err := svc.RegistrationByToken(ctx, res.Token); err != nil {
		t.Fatal(err)
	}
	// Flip one character: the MAC no longer matches.
	bad := []byte(res.Token)
	bad[len(bad)-1] ^= 1
	for _, tok := range []string{string(bad), "", "../../etc/passwd", strings.Repeat("A", tokenLen), res.Token + "x"} {
		if _, _, err := svc.RegistrationByToken(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("token %q: %v", tok, err)
		}
	}
	// Another server secret does not accept the token.
	other := newSQLiteService(t, clock)
	if _, err := other.parseToken(purposeManage, res.Token); !errors.Is(err, ErrNotFound) {
		t.Errorf("foreign secret accepted the token")
	}
	// The keyed hashes are reused: tokens made at once from many goroutines
	// are each the HMAC of their own id, as one made on its own is.
	want := func(id int64) string {
		var buf [24]byte
		binary.BigEndian.PutUint64(buf[:8], uint64(id))
		m := hmac.New(sha256.New, svc.secret)
		m.Write([]byte(purposeManage + "\x00"))
		m.Write(buf[:8])
		copy(buf[8:], m.Sum(nil))
		return b64.EncodeToString(buf[:])
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for id := int64(g); id < 4000; id += 8 {
				if got := svc.ManageToken(id); got != want(id) {
					t.Errorf("token of %d: %s, want %s", id, got, want(id))
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestOrganizerTokens(t *testing.T) {
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	ctx := context.Background()
	tok, err := svc.CreateToken(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if name, err := svc.Authenticate(ctx, tok); err != nil || name != "alice" {
		t.Fatalf("auth: %q %v", name, err)
	}
	if _, err := svc.CreateToken(ctx, "alice"); !errors.Is(err, ErrTokenNameTaken) {
		t.Errorf("same name: %v", err)
	}
	if _, err := svc.Authenticate(ctx, tok+"x"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong token: %v", err)
	}
	ts, _ := svc.Store().Tokens(ctx)
	if len(ts) != 1 || strings.Contains(ts[0].Hash, tok) || ts[0].Hash == tok {
		t.Errorf("stored %+v", ts)
	}
	if err := svc.Store().RevokeToken(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, tok); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("revoked token: %v", err)
	}
}

func TestJoinLink(t *testing.T) {
	clock := newTestClock(t0)
	svc := newSQLiteService(t, clock)
	ctx := context.Background()
	start := t0.Add(24 * time.Hour)
	mustEvent(t, svc, map[string]any{"slug": "join", "starts_at": start.Format(time.RFC3339),
		"ends_at": start.Add(time.Hour).Format(time.RFC3339), "join_url": "https://meet.example.com/j",
		"replay_url": "https://video.example.com/r"})
	mustEvent(t, svc, map[string]any{"slug": "dl", "kind": "download", "download_url": "https://files.example.com/b.pdf"})
	res, _ := signup(svc, "join", "j@example.com")
	for _, c := range []struct {
		at       time.Time
		redirect string
		reason   string
	}{
		{start.Add(-16 * time.Minute), "", "not_yet"},
		{start.Add(-15 * time.Minute), "https://meet.example.com/j", ""},
		{start.Add(30 * time.Minute), "https://meet.example.com/j", ""},
		{start.Add(time.Hour), "https://video.example.com/r", ""},
	} {
		clock.Set(c.at)
		_, _, a, err := svc.Join(ctx, res.Token)
		if err != nil || a.Redirect != c.redirect || a.Reason != c.reason {
			t.Errorf("at %s: %+v %v", c.at, a, err)
		}
	}
	r, _, _ := svc.RegistrationByToken(ctx, res.Token)
	if r.JoinedAt == nil || !r.JoinedAt.Equal(start.Add(-15*time.Minute)) {
		t.Errorf("joined_at %v", r.JoinedAt)
	}
	clock.Set(t0)
	d, _ := signup(svc, "dl", "d@example.com")
	if _, _, a, _ := svc.Join(ctx, d.Token); a.Redirect != "https://files.example.com/b.pdf" {
		t.Errorf("download: %+v", a)
	}
}
