package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"eventreg/mail"
	"eventreg/registration"
)

const adminToken = "test-admin-token"

type apiClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *apiClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *apiClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var apiT0 = time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)

type apiEnv struct {
	t     testing.TB
	svc   *registration.Service
	srv   *Server
	clock *apiClock
}

func newAPIEnv(t testing.TB, cfg Config) *apiEnv {
	t.Helper()
	ctx := context.Background()
	store, err := registration.Open(ctx, filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clock := &apiClock{t: apiT0}
	svc, err := registration.NewService(ctx, store, registration.Options{Now: clock.Now, BaseURL: "http://example.test",
		AdminToken: adminToken, Calendar: mail.Calendar, MailFrom: "eventreg <no-reply@example.test>"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	srv, err := New(svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &apiEnv{t: t, svc: svc, srv: srv, clock: clock}
}

type resp struct {
	code int
	h    http.Header
	body []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

func (e *apiEnv) do(method, path, body string, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = "192.0.2.1:1234"
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, req)
	return resp{code: w.Code, h: w.Header(), body: w.Body.Bytes()}
}

func (e *apiEnv) admin(method, path, body string, headers ...string) resp {
	e.t.Helper()
	return e.do(method, path, body, append([]string{"Authorization", "Bearer " + adminToken}, headers...)...)
}

func (e *apiEnv) createEvent(body string) map[string]any {
	e.t.Helper()
	r := e.admin("POST", "/api/v1/admin/events", body)
	if r.code != 201 {
		e.t.Fatalf("create event: %d %s", r.code, r.body)
	}
	return r.json(e.t)
}

func wantProblem(t *testing.T, r resp, status int, code string) map[string]any {
	t.Helper()
	if r.code != status {
		t.Fatalf("status %d, want %d: %s", r.code, status, r.body)
	}
	if ct := r.h.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("content type %q", ct)
	}
	m := r.json(t)
	if m["code"] != code || int(m["status"].(float64)) != status || m["title"] == "" || m["type"] == "" {
		t.Errorf("problem %v, want code %s", m, code)
	}
	return m
}

func TestEventsAPI(t *testing.T) {
	env := newAPIEnv(t, Config{})
	ev := env.createEvent(`{"slug":"allegro","kind":"webinar","title":"Allegro助力汽車電氣化","starts_at":"2026-01-08T14:00:00+08:00","ends_at":"2026-01-08T16:00:00+08:00","timezone":"Asia/Shanghai","capacity":10,"join_url":"https://meet.example.com/secret","state":"published"}`)
	if ev["join_url"] != "https://meet.example.com/secret" || ev["seats_left"].(float64) != 10 || ev["counts"] == nil {
		t.Errorf("organizer view %v", ev)
	}
	env.createEvent(`{"slug":"hidden","kind":"webinar","title":"Draft"}`)
	env.createEvent(`{"slug":"bluebook","kind":"download","title":"藍皮書","download_url":"https://files.example.com/b.pdf","registration_closes_at":"2026-08-01T18:00:00+08:00","timezone":"Asia/Shanghai","state":"published"}`)
	unl := env.admin("GET", "/api/v1/admin/events/bluebook", "").json(t)
	if v, ok := unl["seats_left"]; !ok || v != nil {
		t.Errorf("seats_left of unlimited: %v present=%v", v, ok)
	}

	r := env.do("GET", "/api/v1/events?lang=zh-Hant", "")
	if r.code != 200 {
		t.Fatal(r.code, string(r.body))
	}
	if bytes.Contains(r.body, []byte("secret")) || bytes.Contains(r.body, []byte("files.example.com")) || bytes.Contains(r.body, []byte("hidden")) {
		t.Errorf("public list leaks: %s", r.body)
	}
	items := r.json(t)["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("items %d", len(items))
	}
	first := items[0].(map[string]any)
	if first["cta"] != "立即報名" || first["window_label"] != "1月8日" || first["status"] != "open" {
		t.Errorf("zh-Hant view %v", first)
	}
	second := items[1].(map[string]any)
	if second["cta"] != "立即下載" || second["window_label"] != "即日-2026.8.1" {
		t.Errorf("download view %v", second)
	}
	// Accept-Language when there is no ?lang=.
	r = env.do("GET", "/api/v1/events/allegro", "", "Accept-Language", "zh-CN,zh;q=0.9")
	if m := r.json(t); m["cta"] != "立即报名" || m["join_url"] != nil {
		t.Errorf("zh-CN: %v", m)
	}
	r = env.do("GET", "/api/v1/events/allegro", "", "Accept-Language", "zh-HK")
	if m := r.json(t); m["cta"] != "立即報名" {
		t.Errorf("zh-HK: %v", m)
	}
	if m := env.do("GET", "/api/v1/events/allegro", "").json(t); m["cta"] != "Register now" || m["window_label"] != "Jan 8" {
		t.Errorf("en: %v", m)
	}
	// Filters and paging.
	if items := env.do("GET", "/api/v1/events?kind=download", "").json(t)["items"].([]any); len(items) != 1 {
		t.Errorf("kind filter: %d", len(items))
	}
	if items := env.do("GET", "/api/v1/events?status=live,replay", "").json(t)["items"].([]any); len(items) != 0 {
		t.Errorf("status filter: %d", len(items))
	}
	p1 := env.do("GET", "/api/v1/events?limit=1", "").json(t)
	cur, _ := p1["next_cursor"].(string)
	p2 := env.do("GET", "/api/v1/events?limit=1&cursor="+cur, "").json(t)
	if cur == "" || p2["next_cursor"] != nil || p2["items"].([]any)[0].(map[string]any)["slug"] == p1["items"].([]any)[0].(map[string]any)["slug"] {
		t.Errorf("paging: %v / %v", p1, p2)
	}
	wantProblem(t, env.do("GET", "/api/v1/events?status=bogus", ""), 422, "validation_failed")
	wantProblem(t, env.do("GET", "/api/v1/events?cursor=zzz", ""), 422, "validation_failed")
	wantProblem(t, env.do("GET", "/api/v1/events/hidden", ""), 404, "not_found")
	wantProblem(t, env.do("GET", "/api/v1/events/..%2F..%2Fetc", ""), 404, "not_found")

	// Patch: bump sequence on time change; validation; duplicate slug.
	p := env.admin("PATCH", "/api/v1/admin/events/allegro", `{"starts_at":"2026-01-09T14:00:00+08:00","ends_at":"2026-01-09T16:00:00+08:00"}`).json(t)
	if p["sequence"].(float64) != 1 || p["window_label"] != "Jan 9" {
		t.Errorf("patched %v", p)
	}
	m := wantProblem(t, env.admin("PATCH", "/api/v1/admin/events/allegro", `{"capacity":-5,"title":""}`), 422, "validation_failed")
	if errs := m["errors"].([]any); len(errs) != 2 {
		t.Errorf("errors %v", errs)
	}
	wantProblem(t, env.admin("POST", "/api/v1/admin/events", `{"slug":"allegro","kind":"webinar","title":"x"}`), 409, "slug_taken")
	wantProblem(t, env.admin("POST", "/api/v1/admin/events", `{"kind":`), 400, "invalid_json")
	wantProblem(t, env.admin("POST", "/api/v1/admin/events", `[1,2]`), 422, "validation_failed")
	wantProblem(t, env.admin("POST", "/api/v1/admin/events", `{"kind":"webinar","title":"x"}`, "Content-Type", "text/plain"), 415, "unsupported_media_type")
	// Cancel.
	c := env.admin("POST", "/api/v1/admin/events/allegro/cancel", "").json(t)
	if c["status"] != "cancelled" || c["state"] != "cancelled" {
		t.Errorf("cancelled %v", c)
	}
	wantProblem(t, env.admin("PATCH", "/api/v1/admin/events/allegro", `{"title":"again"}`), 409, "event_cancelled")
	if list := env.admin("GET", "/api/v1/admin/events", "").json(t)["items"].([]any); len(list) != 3 {
		t.Errorf("admin list %d", len(list))
	}
}

func TestOrganizerAuth(t *testing.T) {
	env := newAPIEnv(t, Config{})
	for _, h := range []string{"", "Bearer", "Bearer wrong", "Basic " + adminToken, "Bearer " + adminToken + "x"} {
		r := env.do("GET", "/api/v1/admin/events", "", "Authorization", h)
		wantProblem(t, r, 401, "unauthorized")
		if r.h.Get("WWW-Authenticate") == "" {
			t.Errorf("no WWW-Authenticate for %q", h)
		}
	}
	tok, err := env.svc.CreateToken(context.Background(), "ops")
	if err != nil {
		t.Fatal(err)
	}
	if r := env.do("GET", "/api/v1/admin/events", "", "Authorization", "Bearer "+tok); r.code != 200 {
		t.Errorf("stored token: %d", r.code)
	}
}

func TestSignupAPI(t *testing.T) {
	env := newAPIEnv(t, Config{})
	env.createEvent(`{"slug":"w","kind":"webinar","title":"W","capacity":1,"starts_at":"2026-01-08T14:00:00Z","state":"published"}`)
	env.createEvent(`{"slug":"nowait","kind":"webinar","title":"N","capacity":0,"waitlist":false,"state":"published"}`)
	env.createEvent(`{"slug":"soon","kind":"webinar","title":"S","registration_opens_at":"2026-02-01T00:00:00Z","state":"published"}`)
	env.createEvent(`{"slug":"past","kind":"webinar","title":"P","registration_opens_at":"2025-01-01T00:00:00Z","starts_at":"2025-02-01T00:00:00Z","state":"published"}`)
	env.createEvent(`{"slug":"shut","kind":"webinar","title":"C","registration_opens_at":"2025-01-01T00:00:00Z","registration_closes_at":"2025-12-01T00:00:00Z","state":"published"}`)

	r := env.do("POST", "/api/v1/events/w/registrations", `{"name":"王小明","email":"Ming@Example.com","question":"請問會有錄影嗎？"}`)
	if r.code != 201 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	first := r.json(t)
	manage := first["manage_url"].(string)
	token := strings.TrimPrefix(manage, "http://example.test/r/")
	if first["status"] != "confirmed" || first["waitlist_position"] != nil || first["calendar_url"] == "" || len(token) != 32 {
		t.Errorf("first %v", first)
	}
	dup := env.do("POST", "/api/v1/events/w/registrations", `{"name":"Someone else","email":"ming@example.com"}`)
	if dup.code != 200 || bytes.Contains(dup.body, []byte("manage")) || bytes.Contains(dup.body, []byte("王小明")) {
		t.Errorf("duplicate %d %s", dup.code, dup.body)
	}
	if m := dup.json(t); m["duplicate"] != true || m["status"] != "confirmed" {
		t.Errorf("duplicate %v", m)
	}
	w := env.do("POST", "/api/v1/events/w/registrations", `{"name":"B","email":"b@example.com"}`).json(t)
	if w["status"] != "waitlisted" || w["waitlist_position"].(float64) != 1 {
		t.Errorf("waitlisted %v", w)
	}

	// Refusals.
	wantProblem(t, env.do("POST", "/api/v1/events/nowait/registrations", `{"name":"B","email":"b@example.com"}`), 409, "event_full")
	wantProblem(t, env.do("POST", "/api/v1/events/soon/registrations", `{"name":"B","email":"b@example.com"}`), 409, "registration_not_open")
	wantProblem(t, env.do("POST", "/api/v1/events/past/registrations", `{"name":"B","email":"b@example.com"}`), 409, "event_ended")
	wantProblem(t, env.do("POST", "/api/v1/events/shut/registrations", `{"name":"B","email":"b@example.com"}`), 409, "registration_closed")
	wantProblem(t, env.do("POST", "/api/v1/events/nope/registrations", `{"name":"B","email":"b@example.com"}`), 404, "not_found")
	m := wantProblem(t, env.do("POST", "/api/v1/events/w/registrations", `{"name":"","email":"x","phone":"abc","question":"short"}`), 422, "validation_failed")
	fields := map[string]bool{}
	for _, e := range m["errors"].([]any) {
		fe := e.(map[string]any)
		fields[fe["field"].(string)] = true
		if fe["code"] == "" || fe["message"] == "" {
			t.Errorf("field error %v", fe)
		}
	}
	if !fields["name"] || !fields["email"] || !fields["phone"] || !fields["question"] {
		t.Errorf("fields %v", fields)
	}
	m = wantProblem(t, env.do("POST", "/api/v1/events/w/registrations", `{"name":5,"email":"x@example.com"}`), 422, "validation_failed")
	if m["errors"].([]any)[0].(map[string]any)["field"] != "name" {
		t.Errorf("type error %v", m)
	}
	wantProblem(t, env.do("POST", "/api/v1/events/w/registrations", `{"name":"x"`), 400, "invalid_json")
	wantProblem(t, env.do("POST", "/api/v1/events/w/registrations", `name=x`, "Content-Type", "application/x-www-form-urlencoded"), 415, "unsupported_media_type")
	big := `{"name":"` + strings.Repeat("x", 70<<10) + `","email":"a@example.com"}`
	wantProblem(t, env.do("POST", "/api/v1/events/w/registrations", big), 413, "body_too_large")
	// A chunked body (no Content-Length) is cut too.
	req := httptest.NewRequest("POST", "/api/v1/events/w/registrations", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	env.srv.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("chunked big body: %d", rec.Code)
	}

	// The registrant's own view and cancel.
	own := env.do("GET", "/api/v1/registrations/"+token, "").json(t)
	if own["name"] != "王小明" || own["status"] != "confirmed" || own["join_url"] != "http://example.test/j/"+token || own["event"].(map[string]any)["slug"] != "w" {
		t.Errorf("own %v", own)
	}
	wantProblem(t, env.do("GET", "/api/v1/registrations/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ""), 404, "not_found")
	for range 2 {
		c := env.do("POST", "/api/v1/registrations/"+token+"/cancel", "")
		if c.code != 200 || c.json(t)["status"] != "cancelled" {
			t.Errorf("cancel %d %s", c.code, c.body)
		}
	}
	// b got the freed seat.
	bTok := strings.TrimPrefix(w["manage_url"].(string), "http://example.test/r/")
	if b := env.do("GET", "/api/v1/registrations/"+bTok, "").json(t); b["status"] != "confirmed" {
		t.Errorf("b %v", b)
	}
	// Calendar.
	cal := env.do("GET", "/api/v1/registrations/"+bTok+"/calendar.ics", "")
	if cal.code != 200 || !strings.HasPrefix(cal.h.Get("Content-Type"), "text/calendar") || !bytes.Contains(cal.body, []byte("BEGIN:VEVENT")) {
		t.Errorf("calendar %d %s", cal.code, cal.body)
	}
	// Idempotency-Key.
	a1 := env.do("POST", "/api/v1/events/w/registrations", `{"name":"K","email":"k@example.com"}`, "Idempotency-Key", "abc")
	a2 := env.do("POST", "/api/v1/events/w/registrations", `{"name":"K","email":"k@example.com"}`, "Idempotency-Key", "abc")
	if a1.code != 201 || a2.code != 201 || !bytes.Equal(a1.body, a2.body) {
		t.Errorf("idempotent retry: %d %s / %d %s", a1.code, a1.body, a2.code, a2.body)
	}
	wantProblem(t, env.do("POST", "/api/v1/events/w/registrations", `{"name":"L","email":"l@example.com"}`, "Idempotency-Key", "abc"), 422, "idempotency_key_reused")
}

func TestSignupRateLimit(t *testing.T) {
	env := newAPIEnv(t, Config{SignupRate: RateLimit{Count: 3, Per: time.Minute}, TrustedProxies: []string{"10.0.0.0/8"}})
	env.createEvent(`{"slug":"rl","kind":"webinar","title":"R","state":"published"}`)
	post := func(remote, xff string, i int) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/v1/events/rl/registrations", strings.NewReader(fmt.Sprintf(`{"name":"N","email":"n%d@example.com"}`, i)))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = remote
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		w := httptest.NewRecorder()
		env.srv.ServeHTTP(w, req)
		return w
	}
	for i := range 3 {
		if w := post("192.0.2.9:1", "", i); w.Code != 201 {
			t.Fatalf("sign-up %d: %d", i, w.Code)
		}
	}
	w := post("192.0.2.9:1", "", 3)
	if w.Code != 429 || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "rate_limited") {
		t.Fatalf("4th: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	// A forged X-Forwarded-For from an untrusted peer changes nothing.
	if w := post("192.0.2.9:1", "203.0.113.7", 4); w.Code != 429 {
		t.Errorf("forged XFF lifted the limit: %d", w.Code)
	}
	// Behind a trusted proxy each client has its own allowance.
	for i := range 3 {
		if w := post("10.1.2.3:5", "203.0.113.8", 10+i); w.Code != 201 {
			t.Errorf("via proxy %d: %d", i, w.Code)
		}
	}
	if w := post("10.1.2.3:5", "203.0.113.8", 20); w.Code != 429 {
		t.Errorf("via proxy after limit: %d", w.Code)
	}
	if w := post("10.1.2.3:5", "203.0.113.9", 21); w.Code != 201 {
		t.Errorf("another client via proxy: %d", w.Code)
	}
	// Time refills the bucket.
	env.clock.Set(apiT0.Add(time.Minute))
	if w := post("192.0.2.9:1", "", 30); w.Code != 201 {
		t.Errorf("after a minute: %d", w.Code)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]RateLimit{"": {20, time.Minute}, "20/m": {20, time.Minute}, "5/s": {5, time.Second},
		"100/h": {100, time.Hour}, "off": {}, "OFF": {}} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"20", "x/m", "20/d", "-1/m"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestOrganizerRegistrations(t *testing.T) {
	env := newAPIEnv(t, Config{})
	env.createEvent(`{"slug":"org","kind":"webinar","title":"O","capacity":3,"timezone":"Asia/Shanghai","state":"published"}`)
	names := []string{"=HYPERLINK(\"http://evil\")", "王小明", "+cmd", "-1", "@SUM(A1)", "Alice", "Bob 100%_off"}
	for i, n := range names {
		body, _ := json.Marshal(map[string]any{"name": n, "email": fmt.Sprintf("u%d@example.com", i), "company": "公司" + fmt.Sprint(i)})
		if r := env.do("POST", "/api/v1/events/org/registrations", string(body)); r.code != 201 {
			t.Fatalf("%d %s", r.code, r.body)
		}
	}
	// Paging is stable while new sign-ups arrive.
	p1 := env.admin("GET", "/api/v1/admin/events/org/registrations?limit=3", "").json(t)
	if p1["total"].(float64) != 7 || len(p1["items"].([]any)) != 3 {
		t.Fatalf("p1 %v", p1)
	}
	env.do("POST", "/api/v1/events/org/registrations", `{"name":"Late","email":"late@example.com"}`)
	p2 := env.admin("GET", "/api/v1/admin/events/org/registrations?limit=3&cursor="+p1["next_cursor"].(string), "").json(t)
	if got := p2["items"].([]any)[0].(map[string]any)["name"]; got != "-1" {
		t.Errorf("page 2 starts at %v", got)
	}
	seen := 3
	cur, _ := p2["next_cursor"].(string)
	seen += len(p2["items"].([]any))
	for cur != "" {
		p := env.admin("GET", "/api/v1/admin/events/org/registrations?limit=3&cursor="+cur, "").json(t)
		seen += len(p["items"].([]any))
		cur, _ = p["next_cursor"].(string)
	}
	if seen != 8 {
		t.Errorf("paged through %d of 8", seen)
	}
	// Filters.
	if q := env.admin("GET", "/api/v1/admin/events/org/registrations?q=小明", "").json(t); q["total"].(float64) != 1 {
		t.Errorf("search Chinese %v", q)
	}
	if q := env.admin("GET", "/api/v1/admin/events/org/registrations?q=100%25_", "").json(t); q["total"].(float64) != 1 {
		t.Errorf("search with LIKE characters %v", q)
	}
	if q := env.admin("GET", "/api/v1/admin/events/org/registrations?q=U3%40EXAMPLE", "").json(t); q["total"].(float64) != 1 {
		t.Errorf("search email %v", q)
	}
	if q := env.admin("GET", "/api/v1/admin/events/org/registrations?status=waitlisted", "").json(t); q["total"].(float64) != 5 {
		t.Errorf("status filter %v", q)
	}
	wantProblem(t, env.admin("GET", "/api/v1/admin/events/org/registrations?limit=501", ""), 422, "validation_failed")
	wantProblem(t, env.admin("GET", "/api/v1/admin/events/org/registrations?status=nope", ""), 422, "validation_failed")

	// CSV.
	c := env.admin("GET", "/api/v1/admin/events/org/registrations.csv", "")
	if c.code != 200 || !strings.HasPrefix(c.h.Get("Content-Type"), "text/csv") || !bytes.HasPrefix(c.body, []byte("\ufeff")) {
		t.Fatalf("csv %d %q", c.code, c.h)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(c.body, []byte("\ufeff")))).ReadAll()
	if err != nil || len(recs) != 9 {
		t.Fatalf("csv rows %d %v", len(recs), err)
	}
	wantNames := []string{"'=HYPERLINK(\"http://evil\")", "王小明", "'+cmd", "'-1", "'@SUM(A1)", "Alice"}
	for i, w := range wantNames {
		if recs[i+1][2] != w {
			t.Errorf("row %d name %q, want %q", i+1, recs[i+1][2], w)
		}
	}
	if !strings.HasSuffix(recs[1][10], "+08:00") {
		t.Errorf("times in the event's timezone: %q", recs[1][10])
	}

	// Check-in is idempotent; only confirmed people.
	id := int(p1["items"].([]any)[0].(map[string]any)["id"].(float64))
	path := fmt.Sprintf("/api/v1/admin/events/org/registrations/%d/check-in", id)
	a := env.admin("POST", path, "").json(t)
	env.clock.Set(apiT0.Add(time.Hour))
	b := env.admin("POST", path, "").json(t)
	if a["checked_in_at"] == nil || a["checked_in_at"] != b["checked_in_at"] {
		t.Errorf("check-in %v / %v", a["checked_in_at"], b["checked_in_at"])
	}
	if u := env.admin("POST", path, `{"checked_in":false}`).json(t); u["checked_in_at"] != nil {
		t.Errorf("undo %v", u)
	}
	wl := int(p2["items"].([]any)[0].(map[string]any)["id"].(float64))
	wantProblem(t, env.admin("POST", fmt.Sprintf("/api/v1/admin/events/org/registrations/%d/check-in", wl), ""), 409, "conflict")
	wantProblem(t, env.admin("POST", "/api/v1/admin/events/org/registrations/999/check-in", ""), 404, "not_found")
	wantProblem(t, env.admin("POST", "/api/v1/admin/events/org/registrations/abc/check-in", ""), 404, "not_found")

	// Organizer cancel promotes, resend queues mail; stats and emails.
	if cr := env.admin("POST", fmt.Sprintf("/api/v1/admin/events/org/registrations/%d/cancel", id), "").json(t); cr["status"] != "cancelled" {
		t.Errorf("cancel %v", cr)
	}
	if rr := env.admin("POST", fmt.Sprintf("/api/v1/admin/events/org/registrations/%d/resend", wl), ""); rr.code != 202 {
		t.Errorf("resend %d %s", rr.code, rr.body)
	}
	st := env.admin("GET", "/api/v1/admin/events/org/stats", "").json(t)
	counts := st["counts"].(map[string]any)
	if counts["confirmed"].(float64) != 3 || counts["cancelled"].(float64) != 1 || counts["waitlisted"].(float64) != 4 {
		t.Errorf("stats %v", st)
	}
	days := st["signups_per_day"].([]any)
	if len(days) != 1 || days[0].(map[string]any)["day"] != "2026-01-01" || days[0].(map[string]any)["count"].(float64) != 8 {
		t.Errorf("per day %v", days)
	}
	em := env.admin("GET", "/api/v1/admin/events/org/emails", "").json(t)["items"].([]any)
	if len(em) < 9 || em[0].(map[string]any)["recipient"] == "" {
		t.Errorf("emails %d", len(em))
	}
	if f := env.admin("GET", "/api/v1/admin/events/org/emails?status=failed", "").json(t)["items"].([]any); len(f) != 0 {
		t.Errorf("failed %v", f)
	}
}

func TestHealthAndHeaders(t *testing.T) {
	env := newAPIEnv(t, Config{})
	if r := env.do("GET", "/healthz", ""); r.code != 200 {
		t.Errorf("healthz %d", r.code)
	}
	r := env.do("GET", "/readyz", "", "X-Request-ID", "abc-123")
	if r.code != 200 || r.h.Get("X-Request-ID") != "abc-123" {
		t.Errorf("readyz %d %v", r.code, r.h)
	}
	for _, h := range []string{"X-Content-Type-Options", "Content-Security-Policy", "Referrer-Policy"} {
		if r.h.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	if r := env.do("GET", "/readyz", "", "X-Request-ID", "bad id\n"); r.h.Get("X-Request-ID") == "bad id\n" {
		t.Errorf("request id not sanitized")
	}
	wantProblem(t, env.do("GET", "/api/v1/nope", ""), 404, "not_found")
	wantProblem(t, env.do("DELETE", "/api/v1/events", ""), 405, "method_not_allowed")
}

func BenchmarkCSVWriter(b *testing.B) {
	now := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	r := &registration.Registration{ID: 12345, Status: "confirmed", Name: "王小明", Email: "ming@example.com",
		Company: "=Example Ltd", JobTitle: "工程師", Phone: "+86 21 5555 0101", Question: "請問會有錄影嗎？",
		Locale: "zh-Hant", CreatedAt: now, ConfirmedAt: &now}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	cw, err := NewCSVWriter(io.Discard, loc)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := cw.Write(r); err != nil {
			b.Fatal(err)
		}
	}
	cw.Flush()
}

// BenchmarkSignupHTTP is a sign-up through the whole handler chain (request
// log as JSON, metrics, security headers, body limit, validation, the group
// commit on a SQLite file, the JSON answer), without the network: the CPU and
// allocations of a request on its way through eventreg.
func BenchmarkSignupHTTP(b *testing.B) {
	env := newAPIEnv(b, Config{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	env.createEvent(`{"slug":"hot","kind":"webinar","title":"Hot","capacity":100000000,"state":"published","starts_at":"2026-02-01T08:00:00Z"}`)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := fmt.Sprintf(`{"name":"測試者","email":"u%x@example.com","company":"Example","consent":true}`, uint64(n.Add(1))*0x9e3779b97f4a7c15)
			req := httptest.NewRequest("POST", "/api/v1/events/hot/registrations", strings.NewReader(body))
			req.RemoteAddr = "192.0.2.1:1234"
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			env.srv.ServeHTTP(w, req)
			if w.Code != 201 {
				b.Fatalf("sign-up: %d %s", w.Code, w.Body)
			}
		}
	})
}

func TestMetrics(t *testing.T) {
	env := newAPIEnv(t, Config{})
	env.createEvent(`{"slug":"m","kind":"webinar","title":"M","capacity":1,"waitlist":false,"state":"published"}`)
	env.do("POST", "/api/v1/events/m/registrations", `{"name":"A","email":"a@example.com"}`)
	env.do("POST", "/api/v1/events/m/registrations", `{"name":"A","email":"a@example.com"}`)
	env.do("POST", "/api/v1/events/m/registrations", `{"name":"B","email":"b@example.com"}`)
	env.srv.metrics.ObserveDelivery(registration.KindReminder, registration.MsgSent, apiT0, apiT0.Add(2*time.Second))
	r := env.do("GET", "/metrics", "")
	body := string(r.body)
	for _, want := range []string{
		`eventreg_signups_total{result="confirmed"} 1`,
		`eventreg_signups_total{result="duplicate"} 1`,
		`eventreg_signups_total{result="event_full"} 1`,
		`eventreg_http_requests_total{code="201",method="POST",route="/api/v1/events/:slug/registrations"} 1`,
		`eventreg_outbox_messages{status="pending"} 1`,
		`eventreg_reminder_lag_seconds_sum 2`,
		`eventreg_http_request_duration_seconds_bucket`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "/r/") || strings.Contains(body, "a@example.com") {
		t.Errorf("metrics leak paths or data")
	}
}

func TestProblemMapping(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("insert: %w: disk full", registration.ErrUnavailable), 503, "unavailable"},
		{registration.ErrNotFound, 404, "not_found"},
		{registration.ErrEventFull, 409, "event_full"},
		{&registration.ValidationError{Fields: []registration.FieldError{{Field: "name"}}}, 422, "validation_failed"},
		{io.ErrUnexpectedEOF, 500, "internal"},
	} {
		p := problemFor(c.err)
		if p.Status != c.status || p.Code != c.code {
			t.Errorf("%v → %d %s, want %d %s", c.err, p.Status, p.Code, c.status, c.code)
		}
	}
}
