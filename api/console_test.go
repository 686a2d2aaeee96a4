package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/csv"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"eventreg/mail"
	"eventreg/registration"
	"eventreg/templates"
)

// consoleClient is a browser in miniature: it keeps cookies and the CSRF
// token of the last page, and does not follow redirects.
type consoleClient struct {
	env     *apiEnv
	t       testing.TB
	cookies map[string]*http.Cookie
	csrf    string
	remote  string
}

var csrfInputRE = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

func newConsoleClient(env *apiEnv) *consoleClient {
	return &consoleClient{env: env, t: env.t, cookies: map[string]*http.Cookie{}, remote: "192.0.2.1:1234"}
}

func (cc *consoleClient) do(req *http.Request) resp {
	cc.t.Helper()
	req.RemoteAddr = cc.remote
	for _, c := range cc.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	cc.env.srv.ServeHTTP(w, req)
	res := w.Result()
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(cc.cookies, c.Name)
		} else {
			cc.cookies[c.Name] = c
		}
	}
	if m := csrfInputRE.FindSubmatch(w.Body.Bytes()); m != nil && len(m[1]) > 0 {
		cc.csrf = string(m[1])
	}
	return resp{code: w.Code, h: w.Header(), body: w.Body.Bytes()}
}

func (cc *consoleClient) get(path string, headers ...string) resp {
	cc.t.Helper()
	path, _, _ = strings.Cut(path, "#") // as a browser does
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return cc.do(req)
}

// post sends a form with the CSRF token of the last page.
func (cc *consoleClient) post(path string, form url.Values, headers ...string) resp {
	cc.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf_token") {
		form.Set("csrf_token", cc.csrf)
	}
	return cc.postRaw(path, form, headers...)
}

// postRaw sends the form as it is.
func (cc *consoleClient) postRaw(path string, form url.Values, headers ...string) resp {
	cc.t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return cc.do(req)
}

func (cc *consoleClient) login(token string) {
	cc.t.Helper()
	if r := cc.get("/admin/login"); r.code != 200 {
		cc.t.Fatalf("login page: %d", r.code)
	}
	r := cc.post("/admin/login", url.Values{"token": {token}})
	if r.code != http.StatusSeeOther {
		cc.t.Fatalf("sign in: %d %s", r.code, r.body)
	}
	// A page of the console gives the CSRF token forms carry.
	if r := cc.get("/admin/events"); r.code != 200 {
		cc.t.Fatalf("events after sign-in: %d", r.code)
	}
}

func wantPage(t *testing.T, r resp, code int, contains ...string) string {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %.600s", r.code, code, r.body)
	}
	body := string(r.body)
	text := html.UnescapeString(body)
	for _, s := range contains {
		if !strings.Contains(body, s) && !strings.Contains(text, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	return body
}

func wantRedirect(t *testing.T, r resp, prefix string) string {
	t.Helper()
	loc := r.h.Get("Location")
	if r.code != http.StatusSeeOther || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("status %d Location %q, want 303 to %s… (%.300s)", r.code, loc, prefix, r.body)
	}
	return loc
}

// signup registers someone through the JSON API, as the public would.
func (e *apiEnv) signup(slug, name, email string) {
	e.t.Helper()
	r := e.do("POST", "/api/v1/events/"+slug+"/registrations", fmt.Sprintf(`{"name":%q,"email":%q}`, name, email))
	if r.code != 201 {
		e.t.Fatalf("sign-up %s: %d %s", email, r.code, r.body)
	}
}

func (e *apiEnv) regID(slug, email string) int64 {
	e.t.Helper()
	ev, err := e.svc.Event(context.Background(), slug)
	if err != nil {
		e.t.Fatal(err)
	}
	regs, _, err := e.svc.Store().Registrations(context.Background(), registration.RegistrationFilter{EventID: ev.ID, Query: email, Limit: 10})
	if err != nil || len(regs) != 1 {
		e.t.Fatalf("registration of %s: %v %d", email, err, len(regs))
	}
	return regs[0].ID
}

func (e *apiEnv) event(slug string) *registration.Event {
	e.t.Helper()
	ev, err := e.svc.Event(context.Background(), slug)
	if err != nil {
		e.t.Fatal(err)
	}
	return ev
}

// consoleRoutes are every route of the console with a sample path.
var consoleGets = []string{"/admin", "/admin/events", "/admin/events/new", "/admin/events/w", "/admin/events/w/edit",
	"/admin/events/w/cancel", "/admin/events/w/registrations.csv", "/admin/events/w/registrations/1/cancel"}

var consolePosts = []string{"/admin/logout", "/admin/events/new", "/admin/events/w/edit", "/admin/events/w/publish",
	"/admin/events/w/cancel", "/admin/events/w/registrations/1/check-in", "/admin/events/w/registrations/1/cancel",
	"/admin/events/w/registrations/1/resend", "/admin/events/w/emails/retry"}

func TestConsoleRefusesWithoutSession(t *testing.T) {
	env := newAPIEnv(t, Config{})
	env.createEvent(`{"slug":"w","kind":"webinar","title":"Secret webinar","state":"published"}`)
	env.signup("w", "Ann", "ann@example.com")
	check := func(name string, cc *consoleClient) {
		t.Run(name, func(t *testing.T) {
			cc.t = t
			for _, p := range consoleGets {
				r := cc.get(p)
				loc := wantRedirect(t, r, "/admin/login?next=")
				if next, _ := url.QueryUnescape(strings.TrimPrefix(loc, "/admin/login?next=")); next != p {
					t.Errorf("%s: next %q", p, next)
				}
				if bytes.Contains(r.body, []byte("Secret webinar")) || bytes.Contains(r.body, []byte("ann@example.com")) {
					t.Errorf("%s leaks data without a session", p)
				}
			}
			for _, p := range consolePosts {
				r := cc.post(p, url.Values{"title": {"x"}, "kind": {"webinar"}})
				wantPage(t, r, http.StatusForbidden)
				if bytes.Contains(r.body, []byte("Secret webinar")) {
					t.Errorf("%s leaks data without a session", p)
				}
			}
		})
	}
	anon := newConsoleClient(env)
	anon.get("/admin/login") // a CSRF token of its own: refused for the session, not the token
	check("no cookie", anon)

	forged := newConsoleClient(env)
	forged.get("/admin/login")
	forged.cookies[consoleSessionCookie] = &http.Cookie{Name: consoleSessionCookie, Value: "eyJuIjoiYWRtaW4iLCJ4Ijo5OTk5OTk5OTk5LCJmIjoiMDAwMDAwMDAwMDAwMDAwMCJ9.AAAA"}
	check("forged cookie", forged)

	expired := newConsoleClient(env)
	expired.login(adminToken)
	env.clock.Set(apiT0.Add(consoleSessionTTL + time.Minute))
	check("expired", expired)
	env.clock.Set(apiT0)

	// Revoking the token ends its sessions at once, not at expiry.
	tok, err := env.svc.CreateToken(context.Background(), "ops")
	if err != nil {
		t.Fatal(err)
	}
	revoked := newConsoleClient(env)
	revoked.login(tok)
	if err := env.svc.Store().RevokeToken(context.Background(), "ops"); err != nil {
		t.Fatal(err)
	}
	check("revoked token", revoked)

	// The same name with a new token is a new credential: the old session stays ended.
	if _, err := env.svc.CreateToken(context.Background(), "ops"); err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, revoked.get("/admin/events"), "/admin/login")
}

func TestConsoleCSRF(t *testing.T) {
	env := newAPIEnv(t, Config{})
	env.createEvent(`{"slug":"w","kind":"webinar","title":"W","state":"published","starts_at":"2026-02-01T10:00:00Z"}`)
	env.signup("w", "Ann", "ann@example.com")
	cc := newConsoleClient(env)
	cc.login(adminToken)
	other := newConsoleClient(env)
	other.get("/admin/login") // a valid token, for another browser's cookie
	for _, p := range consolePosts {
		for name, form := range map[string]url.Values{
			"none":          {"title": {"x"}, "kind": {"webinar"}},
			"wrong":         {"csrf_token": {"AAAA"}, "title": {"x"}, "kind": {"webinar"}},
			"other browser": {"csrf_token": {other.csrf}, "title": {"x"}, "kind": {"webinar"}},
		} {
			if r := cc.postRaw(p, form); r.code != http.StatusForbidden {
				t.Errorf("%s with %s token: %d", p, name, r.code)
			}
		}
	}
	// Nothing happened, and the session still works.
	if e := env.event("w"); e.State != registration.StatePublished || e.Confirmed != 1 {
		t.Errorf("event changed by refused posts: %s %d", e.State, e.Confirmed)
	}
	wantPage(t, cc.get("/admin/events"), 200)
	// The sign-in form is protected too (login CSRF).
	fresh := newConsoleClient(env)
	if r := fresh.postRaw("/admin/login", url.Values{"token": {adminToken}}); r.code != http.StatusForbidden || r.h.Get("Set-Cookie") != "" && strings.Contains(r.h.Get("Set-Cookie"), consoleSessionCookie) {
		t.Errorf("login without token: %d %v", r.code, r.h.Values("Set-Cookie"))
	}
}

func sessionCookieOf(t *testing.T, r resp) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.h}).Cookies() {
		if c.Name == consoleSessionCookie {
			return c
		}
	}
	return nil
}

func TestConsoleLogin(t *testing.T) {
	env := newAPIEnv(t, Config{TrustedProxies: []string{"198.51.100.0/24"}})
	cc := newConsoleClient(env)
	wantPage(t, cc.get("/admin/login?next=/admin/events/w"), 200, `name="next" value="/admin/events/w"`, `type="password"`)

	// A bad token: an error, no session.
	r := cc.post("/admin/login", url.Values{"token": {"wrong"}, "next": {"/admin/events/w"}})
	wantPage(t, r, http.StatusUnauthorized, "not valid", `aria-invalid="true"`, `value="/admin/events/w"`)
	if sessionCookieOf(t, r) != nil {
		t.Error("a session for a bad token")
	}
	r = cc.get("/admin/login?lang=zh-Hans")
	r = cc.post("/admin/login", url.Values{"token": {""}})
	wantPage(t, r, http.StatusUnauthorized, "令牌无效")

	// A good one: the cookie, with its attributes, and on to next.
	r = cc.post("/admin/login", url.Values{"token": {adminToken}, "next": {"/admin/events/w?q=a"}})
	wantRedirect(t, r, "/admin/events/w?q=a")
	c := sessionCookieOf(t, r)
	if c == nil {
		t.Fatal("no session cookie")
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin" || c.Secure || c.MaxAge != 12*3600 ||
		!c.Expires.Equal(apiT0.Add(12*time.Hour).Truncate(time.Second)) {
		t.Errorf("cookie %+v", c)
	}
	if strings.Contains(c.Value, adminToken) {
		t.Error("the token is in the cookie")
	}
	wantPage(t, cc.get("/admin/events?lang=en"), 200, "Signed in as admin")

	// Over https: directly, or said by a trusted proxy; an untrusted one is not believed.
	for _, tc := range []struct {
		remote, proto string
		tls, secure   bool
	}{
		{"192.0.2.9:1", "", true, true},
		{"198.51.100.7:1", "https", false, true},
		{"203.0.113.5:1", "https", false, false},
	} {
		b := newConsoleClient(env)
		b.remote = tc.remote
		b.get("/admin/login")
		req := httptest.NewRequest("POST", "/admin/login", strings.NewReader(url.Values{"token": {adminToken}, "csrf_token": {b.csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.proto != "" {
			req.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		if tc.tls {
			req.TLS = &tls.ConnectionState{}
		}
		r := b.do(req)
		if c := sessionCookieOf(t, r); c == nil || c.Secure != tc.secure {
			t.Errorf("%+v: cookie %+v", tc, c)
		}
	}

	// next stays inside the console.
	for _, next := range []string{"//evil.example/admin", "https://evil.example/admin/x", "/elsewhere", "/admin/login", `/\evil.example`, "/adminx"} {
		b := newConsoleClient(env)
		b.get("/admin/login")
		if loc := wantRedirect(t, b.post("/admin/login", url.Values{"token": {adminToken}, "next": {next}}), "/admin/"); loc != "/admin/events" {
			t.Errorf("next %q → %q", next, loc)
		}
	}

	// Signing in again while signed in goes straight on.
	wantRedirect(t, cc.get("/admin/login?next=/admin/events/new"), "/admin/events/new")

	// Sign out: the cookie is cleared with the same attributes, the session ends.
	r = cc.post("/admin/logout", nil)
	wantRedirect(t, r, "/admin/login?done=signed_out")
	c = sessionCookieOf(t, r)
	if c == nil || c.MaxAge >= 0 || c.Value != "" || c.Path != "/admin" || !c.HttpOnly {
		t.Errorf("cleared cookie %+v", c)
	}
	wantRedirect(t, cc.get("/admin/events"), "/admin/login")
	wantPage(t, cc.get("/admin/login?done=signed_out&lang=en"), 200, "You are signed out.")
}

func TestConsoleLoginRateLimit(t *testing.T) {
	env := newAPIEnv(t, Config{})
	cc := newConsoleClient(env)
	cc.get("/admin/login")
	for i := 0; i < 10; i++ {
		cc.post("/admin/login", url.Values{"token": {"guess"}})
	}
	wantPage(t, cc.post("/admin/login", url.Values{"token": {adminToken}}), http.StatusTooManyRequests, "Too many attempts")
	env.clock.Set(apiT0.Add(time.Minute))
	wantRedirect(t, cc.post("/admin/login", url.Values{"token": {adminToken}}), "/admin/events")
}

func eventForm(v map[string]string) url.Values {
	f := url.Values{"kind": {"webinar"}, "timezone": {"Asia/Shanghai"}, "waitlist": {"true"}, "reminders": {"24h, 1h"}, "state": {"draft"}}
	for k, x := range v {
		f.Set(k, x)
	}
	return f
}

func fieldError(body, field string) string {
	m := regexp.MustCompile(`<p class="field-error" id="e-` + field + `">([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestConsoleCreateAndEditEvent(t *testing.T) {
	env := newAPIEnv(t, Config{})
	cc := newConsoleClient(env)
	cc.login(adminToken)
	wantPage(t, cc.get("/admin/events/new"), 200, `name="title"`, `type="datetime-local"`, `<option value="online_summit">`)

	// Refused: every error beside its field, everything typed kept.
	r := cc.post("/admin/events/new?lang=zh-Hant", eventForm(map[string]string{
		"title": "【在線會議】村田用於AR/VR設計開發解決方案", "slug": "Bad Slug", "join_url": "javascript:alert(1)",
		"reminders": "1s", "capacity": "很多", "starts_at": "2026-01-08T14:00", "ends_at": "2026-01-08T13:00",
		"description": "第一行\n第二行 <b>粗</b>",
	}))
	body := wantPage(t, r, http.StatusUnprocessableEntity, `value="【在線會議】村田用於AR/VR設計開發解決方案"`,
		`value="Bad Slug"`, `value="1s"`, `value="很多"`, `value="2026-01-08T14:00"`, "第一行\n第二行 &lt;b&gt;粗&lt;/b&gt;</textarea>",
		`<option value="webinar" selected>`, `aria-invalid="true"`)
	for field, want := range map[string]string{"slug": "a–z", "join_url": "https://", "reminders": "720h", "capacity": "整數", "ends_at": "晚於開始"} {
		if got := fieldError(body, field); !strings.Contains(got, want) {
			t.Errorf("error beside %s: %q, want %q", field, got, want)
		}
	}
	if fieldError(body, "title") != "" {
		t.Error("an error beside a good title")
	}
	// Title required (English; the service's own rule).
	cc.get("/admin/events/new?lang=en")
	body = wantPage(t, cc.post("/admin/events/new", eventForm(map[string]string{"title": " "})), 422)
	if got := fieldError(body, "title"); got != "A title is required." {
		t.Errorf("title error %q", got)
	}
	// A bad time zone is refused; the times wait.
	body = wantPage(t, cc.post("/admin/events/new", eventForm(map[string]string{"title": "T", "timezone": "Mars/Olympus", "starts_at": "2026-01-08T14:00"})), 422)
	if got := fieldError(body, "timezone"); !strings.Contains(got, "IANA") {
		t.Errorf("timezone error %q", got)
	}

	// Accepted: times read in the event's timezone.
	r = cc.post("/admin/events/new", eventForm(map[string]string{
		"title": "Allegro助力汽車電氣化", "slug": "allegro", "starts_at": "2026-01-08T14:00", "ends_at": "2026-01-08T16:00",
		"capacity": "2", "join_url": "https://meet.example.com/a", "organizer": "Allegro",
	}))
	wantRedirect(t, r, "/admin/events/allegro?done=created")
	e := env.event("allegro")
	if !e.StartsAt.Equal(time.Date(2026, 1, 8, 6, 0, 0, 0, time.UTC)) || *e.Capacity != 2 || e.State != "draft" || e.Timezone != "Asia/Shanghai" ||
		e.RegistrationClosesAt == nil || !e.RegistrationClosesAt.Equal(*e.EndsAt) || len(e.Reminders) != 2 || !e.Waitlist {
		t.Errorf("created %+v", e)
	}
	wantPage(t, cc.get("/admin/events/allegro?done=created"), 200, "The event is created.", "Allegro助力汽車電氣化", "Edit", "Publish")
	// Taken slug: beside the field.
	body = wantPage(t, cc.post("/admin/events/new", eventForm(map[string]string{"title": "Again", "slug": "allegro"})), 409)
	if got := fieldError(body, "slug"); got != "Another event uses this slug." {
		t.Errorf("slug taken: %q", got)
	}
	// No slug: made from the title.
	wantRedirect(t, cc.post("/admin/events/new", eventForm(map[string]string{"title": "Report download", "kind": "download"})), "/admin/events/report-download?")

	// The list shows it.
	wantPage(t, cc.get("/admin/events"), 200, `href="/admin/events/allegro"`, "Webinar", "Draft", "Jan 8", "0 / 2")

	// Edit: the form holds the stored values, in the event's timezone.
	wantPage(t, cc.get("/admin/events/allegro/edit"), 200, `value="2026-01-08T14:00"`, `value="24h, 1h"`, `value="2"`, `checked`)
	// Saving unchanged changes nothing: no new sequence, no mail.
	form := eventForm(map[string]string{"title": "Allegro助力汽車電氣化", "slug": "allegro", "starts_at": "2026-01-08T14:00",
		"ends_at": "2026-01-08T16:00", "capacity": "2", "join_url": "https://meet.example.com/a", "organizer": "Allegro",
		"registration_opens_at": e.RegistrationOpensAt.In(e.Loc()).Format("2006-01-02T15:04"), "registration_closes_at": "2026-01-08T16:00"})
	wantRedirect(t, cc.post("/admin/events/allegro/edit", form), "/admin/events/allegro?done=saved")
	if e2 := env.event("allegro"); e2.Sequence != 0 || !e2.UpdatedAt.Equal(e.UpdatedAt) || !e2.RegistrationOpensAt.Equal(e.RegistrationOpensAt) {
		t.Errorf("unchanged save changed the event: seq %d", e2.Sequence)
	}
	// A real change; a refused one keeps the input.
	form.Set("starts_at", "2026-01-09T14:00")
	form.Set("ends_at", "2026-01-09T16:00")
	form.Set("title", "Allegro 2")
	form.Set("reminders", "")
	wantRedirect(t, cc.post("/admin/events/allegro/edit", form), "/admin/events/allegro?done=saved")
	e = env.event("allegro")
	if e.Title != "Allegro 2" || !e.StartsAt.Equal(time.Date(2026, 1, 9, 6, 0, 0, 0, time.UTC)) || e.Sequence != 1 || len(e.Reminders) != 0 {
		t.Errorf("edited %+v", e)
	}
	form.Set("capacity", "-1")
	body = wantPage(t, cc.post("/admin/events/allegro/edit", form), 422, `value="-1"`, "Save changes")
	if fieldError(body, "capacity") == "" {
		t.Error("no capacity error")
	}
	// Clearing the end is allowed on edit: null, not "unchanged".
	form.Set("capacity", "2")
	form.Set("ends_at", "")
	form.Set("registration_closes_at", "2026-01-09T16:00")
	wantRedirect(t, cc.post("/admin/events/allegro/edit", form), "/admin/events/allegro?done=saved")
	if e = env.event("allegro"); e.EndsAt != nil {
		t.Errorf("ends_at not cleared: %v", e.EndsAt)
	}
	wantPage(t, cc.get("/admin/events/nope/edit"), 404)

	// Publish.
	wantRedirect(t, cc.post("/admin/events/allegro/publish", nil), "/admin/events/allegro?done=published")
	if e = env.event("allegro"); e.State != "published" {
		t.Errorf("state %s", e.State)
	}
}

func TestConsoleCancelEvent(t *testing.T) {
	env := newAPIEnv(t, Config{})
	env.createEvent(`{"slug":"w","kind":"webinar","title":"W","capacity":2,"state":"published","starts_at":"2026-02-01T10:00:00Z"}`)
	env.createEvent(`{"slug":"d","kind":"webinar","title":"D"}`)
	for _, who := range []string{"a", "b", "c"} {
		env.signup("w", who, who+"@example.com")
	}
	env.signup("w", "gone", "gone@example.com")
	cc := newConsoleClient(env)
	cc.login(adminToken)
	// The confirmation says who will be told: confirmed + waitlisted.
	wantPage(t, cc.get("/admin/events/w/cancel"), 200, "4 people will be emailed that it is cancelled: 2 confirmed and 2 waitlisted.", `action="/admin/events/w/cancel"`)
	wantPage(t, cc.get("/admin/events/w/cancel?lang=zh-Hans"), 200, "将向 4 人发送取消通知：已确认 2 人，候补 2 人。")
	wantPage(t, cc.get("/admin/events/d/cancel?lang=en"), 200, "Nobody will be emailed")
	if e := env.event("w"); e.State != "published" {
		t.Fatal("the confirmation step cancelled")
	}
	wantRedirect(t, cc.post("/admin/events/w/cancel", nil), "/admin/events/w?done=cancelled")
	if e := env.event("w"); e.State != "cancelled" {
		t.Errorf("state %s", e.State)
	}
	msgs, _ := env.svc.Store().Messages(context.Background(), registration.MessageFilter{EventID: env.event("w").ID, Limit: 100})
	n := 0
	for _, m := range msgs {
		if m.Kind == registration.KindEventCancelled {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d event-cancelled emails, want 4", n)
	}
	// A cancelled event offers neither edit nor cancel.
	body := wantPage(t, cc.get("/admin/events/w"), 200, "Cancelled", "Not sent: the event is cancelled.")
	if strings.Contains(body, "/admin/events/w/edit") || strings.Contains(body, `href="/admin/events/w/cancel"`) {
		t.Error("cancelled event still offers edit or cancel")
	}
	wantPage(t, cc.get("/admin/events/w/edit"), 409)
	wantRedirect(t, cc.get("/admin/events/w/cancel"), "/admin/events/w")
	wantPage(t, cc.post("/admin/events/nope/cancel", nil), 404)
}

func TestConsoleRegistrations(t *testing.T) {
	env := newAPIEnv(t, Config{})
	env.createEvent(`{"slug":"w","kind":"webinar","title":"W","capacity":2,"state":"published","timezone":"Asia/Shanghai","starts_at":"2026-02-01T10:00:00Z"}`)
	env.signup("w", "Ann Lee", "ann@example.com")
	env.signup("w", "=cmd|' /C calc'!A0", "bob@example.com")
	env.signup("w", "王小明", "ming@example.cn")
	ann, bob, ming := env.regID("w", "ann@"), env.regID("w", "bob@"), env.regID("w", "ming@")
	cc := newConsoleClient(env)
	cc.login(adminToken)

	body := wantPage(t, cc.get("/admin/events/w"), 200, "Ann Lee", "王小明", "ann@example.com", "Sign-ups <span class=\"muted\">(3)</span>", "No. 1 on the waitlist",
		"Check in", `href="/admin/events/w/registrations.csv"`, "Waitlisted")
	if !strings.Contains(body, fmt.Sprintf(`id="r%d"`, ming)) {
		t.Error("no row for ming")
	}
	// Search and filter use the API's reading of q and status.
	body = wantPage(t, cc.get("/admin/events/w?q=ANN"), 200, "Ann Lee", `value="ANN"`, `href="/admin/events/w/registrations.csv?q=ANN"`)
	if strings.Contains(body, "王小明") {
		t.Error("search shows others")
	}
	body = wantPage(t, cc.get("/admin/events/w?status=waitlisted"), 200, "王小明")
	if strings.Contains(body, "Ann Lee") {
		t.Error("filter shows others")
	}
	wantPage(t, cc.get("/admin/events/w?status=bogus"), 200, "could not be read", "Ann Lee")
	// Paging by cursor.
	body = wantPage(t, cc.get("/admin/events/w?limit=2"), 200, "Next page")
	m := regexp.MustCompile(`cursor=([A-Za-z0-9_-]+)#signups" rel="next"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no next link")
	}
	body = wantPage(t, cc.get("/admin/events/w?limit=2&cursor="+m[1]), 200, "王小明", "First page")
	if strings.Contains(body, "Ann Lee") {
		t.Error("page 2 repeats page 1")
	}

	// Check in, and undo, coming back to the same list.
	ret := url.Values{"q": {"ann"}}.Encode()
	r := cc.post(fmt.Sprintf("/admin/events/w/registrations/%d/check-in", ann), url.Values{"checked_in": {"true"}, "return": {ret}})
	loc := wantRedirect(t, r, "/admin/events/w?")
	if !strings.Contains(loc, "q=ann") || !strings.Contains(loc, "done=checked_in") {
		t.Errorf("back to %q", loc)
	}
	if c, _ := env.svc.EventCounts(context.Background(), env.event("w")); c.CheckedIn != 1 {
		t.Errorf("checked in %d", c.CheckedIn)
	}
	wantPage(t, cc.get(loc), 200, "Checked in.", "Undo", `name="checked_in" value="false"`)
	cc.post(fmt.Sprintf("/admin/events/w/registrations/%d/check-in", ann), url.Values{"checked_in": {"false"}})
	if c, _ := env.svc.EventCounts(context.Background(), env.event("w")); c.CheckedIn != 0 {
		t.Errorf("after undo, checked in %d", c.CheckedIn)
	}
	// A waitlisted registration cannot be checked in.
	wantPage(t, cc.post(fmt.Sprintf("/admin/events/w/registrations/%d/check-in", ming), nil), 409)
	wantPage(t, cc.post("/admin/events/w/registrations/abc/check-in", nil), 404)

	// Resend queues one more confirmation.
	count := func(id int64, kind string) int {
		msgs, _ := env.svc.Store().Messages(context.Background(), registration.MessageFilter{EventID: env.event("w").ID, RegistrationID: id, Limit: 100})
		n := 0
		for _, m := range msgs {
			if m.Kind == kind {
				n++
			}
		}
		return n
	}
	wantRedirect(t, cc.post(fmt.Sprintf("/admin/events/w/registrations/%d/resend", ann), nil), "/admin/events/w?done=resent")
	if n := count(ann, registration.KindConfirmation); n != 2 {
		t.Errorf("%d confirmations after resend", n)
	}

	// Cancel: a confirmation step, then the seat goes to the waitlist.
	wantPage(t, cc.get(fmt.Sprintf("/admin/events/w/registrations/%d/cancel?return=q%%3Dann", bob)), 200,
		"bob@example.com", "Their seat goes to the first person on the waitlist", `name="return" value="q=ann"`)
	if r, _ := env.svc.Store().RegistrationByID(context.Background(), bob); r.Status != "confirmed" {
		t.Fatal("the confirmation step cancelled")
	}
	loc = wantRedirect(t, cc.post(fmt.Sprintf("/admin/events/w/registrations/%d/cancel", bob), url.Values{"return": {"q=ann"}}), "/admin/events/w?")
	if !strings.Contains(loc, "done=registration_cancelled") || !strings.Contains(loc, "q=ann") {
		t.Errorf("back to %q", loc)
	}
	if r, _ := env.svc.Store().RegistrationByID(context.Background(), ming); r.Status != "confirmed" {
		t.Errorf("ming not promoted: %s", r.Status)
	}
	if n := count(bob, registration.KindCancelled); n != 1 {
		t.Errorf("%d cancellation emails", n)
	}
	wantPage(t, cc.get(fmt.Sprintf("/admin/events/w/registrations/%d/cancel", 999)), 404)
	wantPage(t, cc.post(fmt.Sprintf("/admin/events/w/registrations/%d/resend", bob), nil), 409)

	// CSV: the API's export, through the session.
	r = cc.get("/admin/events/w/registrations.csv")
	if r.code != 200 || r.h.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(r.h.Get("Content-Disposition"), "w-registrations.csv") {
		t.Fatalf("csv %d %v", r.code, r.h)
	}
	if !bytes.HasPrefix(r.body, []byte("\ufeff")) {
		t.Error("no BOM")
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.body, []byte("\ufeff")))).ReadAll()
	if err != nil || len(recs) != 4 || recs[0][2] != "name" || recs[2][2] != "'=cmd|' /C calc'!A0" || recs[3][2] != "王小明" || recs[2][1] != "cancelled" {
		t.Errorf("csv %v %v", recs, err)
	}
	api := env.admin("GET", "/api/v1/admin/events/w/registrations.csv", "")
	if !bytes.Equal(api.body, r.body) {
		t.Error("console CSV differs from the API's")
	}
	r = cc.get("/admin/events/w/registrations.csv?status=confirmed")
	if recs, _ := csv.NewReader(bytes.NewReader(r.body)).ReadAll(); len(recs) != 3 {
		t.Errorf("filtered csv rows %d", len(recs))
	}
	wantPage(t, cc.get("/admin/events/w/registrations.csv?status=bogus"), 422)
	wantPage(t, cc.get("/admin/events/nope/registrations.csv"), 404)
}

// failingMailer refuses every message for good, like an SMTP 550.
type failingMailer struct{}

func (failingMailer) Send(_ context.Context, msgs []mail.Message) []error {
	errs := make([]error, len(msgs))
	for i := range errs {
		errs[i] = fmt.Errorf("%w: 550 mailbox unavailable", mail.ErrPermanent)
	}
	return errs
}

// okMailer accepts everything.
type okMailer struct{}

func (okMailer) Send(_ context.Context, msgs []mail.Message) []error { return make([]error, len(msgs)) }

func TestConsoleEmailsAndRetry(t *testing.T) {
	env := newAPIEnv(t, Config{})
	env.createEvent(`{"slug":"w","kind":"webinar","title":"W","state":"published","starts_at":"2026-02-01T10:00:00Z"}`)
	env.signup("w", "Ann", "ann@example.com")
	env.signup("w", "Bob", "bob@example.com")
	ctx := context.Background()
	if _, err := env.svc.NewWorker(failingMailer{}, time.Second, slog.New(slog.DiscardHandler)).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	cc := newConsoleClient(env)
	cc.login(adminToken)
	body := wantPage(t, cc.get("/admin/events/w?emails=failed"), 200, "550 mailbox unavailable", "Retry all failed (2)", "ann@example.com", "Confirmation")
	if strings.Count(body, `name="id"`) != 2 {
		t.Errorf("%d retry buttons", strings.Count(body, `name="id"`))
	}
	wantPage(t, cc.get("/admin/events"), 200, `href="/admin/events/w?emails=failed#emails">2</a>`)
	msgs, _ := env.svc.Store().Messages(ctx, registration.MessageFilter{EventID: env.event("w").ID, Status: "failed", Limit: 10})
	if len(msgs) != 2 {
		t.Fatalf("%d failed", len(msgs))
	}
	// One row.
	loc := wantRedirect(t, cc.post("/admin/events/w/emails/retry", url.Values{"id": {fmt.Sprint(msgs[0].ID)}, "return": {"emails=failed"}}), "/admin/events/w?")
	if !strings.Contains(loc, "n=1") || !strings.Contains(loc, "emails=failed") {
		t.Errorf("back to %q", loc)
	}
	wantPage(t, cc.get(loc), 200, "1 failed emails are queued again.", "Retry all failed (1)")
	// All of them.
	if _, err := env.svc.NewWorker(failingMailer{}, time.Second, slog.New(slog.DiscardHandler)).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, cc.post("/admin/events/w/emails/retry", nil), "/admin/events/w?done=retried&n=2")
	if _, err := env.svc.NewWorker(okMailer{}, time.Second, slog.New(slog.DiscardHandler)).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	body = wantPage(t, cc.get("/admin/events/w?emails=sent"), 200, "ann@example.com", "bob@example.com")
	if strings.Contains(body, "Retry all") {
		t.Error("retry offered with nothing failed")
	}
	wantPage(t, cc.post("/admin/events/w/emails/retry", url.Values{"id": {"x"}}), 404)
}

func TestConsoleReminderSchedule(t *testing.T) {
	env := newAPIEnv(t, Config{})
	// Starts two days after apiT0 (08:00 UTC), reminders 24h and 1h before.
	env.createEvent(`{"slug":"w","kind":"webinar","title":"W","state":"published","timezone":"Asia/Shanghai","starts_at":"2026-01-03T08:00:00Z","reminders":["24h","1h"]}`)
	env.signup("w", "Ann", "ann@example.com")
	env.signup("w", "Bob", "bob@example.com")
	env.signup("w", "Cy", "cy@example.com")
	ctx := context.Background()
	// Cy opts out of reminders.
	if _, _, err := env.svc.Unsubscribe(ctx, env.svc.ManageToken(env.regID("w", "cy@"))); err != nil {
		t.Fatal(err)
	}
	cc := newConsoleClient(env)
	cc.login(adminToken)
	// Due times in the event's timezone with its offset; 2 will get each.
	body := wantPage(t, cc.get("/admin/events/w"), 200, "24h before the start", "2026-01-02 16:00", "UTC+08:00", "2026-01-03 15:00")
	if n := strings.Count(body, "2 confirmed now would get it"); n != 2 {
		t.Errorf("audience shown %d times:\n%s", n, body)
	}
	// After the 24h reminder falls due and the worker sends it, the page
	// shows what the worker did: the count it announced.
	env.clock.Set(time.Date(2026, 1, 2, 8, 1, 0, 0, time.UTC))
	if _, err := env.svc.NewWorker(okMailer{}, time.Second, slog.New(slog.DiscardHandler)).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	cc.login(adminToken) // a day later: the first session has expired
	wantPage(t, cc.get("/admin/events/w"), 200, "2 sent, 0 pending, 0 skipped, 0 failed, 0 cancelled", "2 confirmed now would get it")
	wantPage(t, cc.get("/admin/events/w?lang=zh-Hans"), 200, "开始前 24h", "已发送 2，待发送 0")
	// An event with no start has no schedule.
	env.createEvent(`{"slug":"dl","kind":"download","title":"D","state":"published"}`)
	wantPage(t, cc.get("/admin/events/dl?lang=en"), 200, "the event has no start time")
}

func TestConsoleCharts(t *testing.T) {
	env := newAPIEnv(t, Config{})
	env.createEvent(`{"slug":"w","kind":"webinar","title":"W","state":"published","timezone":"Asia/Shanghai","starts_at":"2026-02-01T10:00:00Z"}`)
	cc := newConsoleClient(env)
	cc.login(adminToken)
	wantPage(t, cc.get("/admin/events/w"), 200, "No sign-ups yet.")
	env.signup("w", "A", "a@example.com")
	env.signup("w", "B", "b@example.com")
	env.clock.Set(apiT0.Add(48 * time.Hour))
	env.signup("w", "C", "c@example.com")
	cc.login(adminToken) // two days later: the first session has expired
	if _, err := env.svc.CheckIn(context.Background(), "w", env.regID("w", "a@"), true); err != nil {
		t.Fatal(err)
	}
	body := wantPage(t, cc.get("/admin/events/w"), 200,
		`role="img" aria-labelledby="perday-title perday-desc"`, `<title id="perday-title">Sign-ups per day</title>`,
		"3 sign-ups from Jan 1 to Jan 3; the busiest day had 2.", "<title>Jan 2: 0</title>",
		`<td>2026-01-01</td><td>2</td>`, "1 checked in (33%)", `<title id="funnel-title">`)
	// Three days, one bar each (an empty one for the quiet day).
	if n := strings.Count(body, `<rect class="bar"`); n != 3 {
		t.Errorf("%d bars", n)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, " style=") {
		t.Error("script or inline style in the console")
	}
	wantPage(t, cc.get("/admin/events/w?lang=zh-Hant"), 200, "1月1日至1月3日共 3 人報名，單日最多 2 人。")
}

func TestConsoleEscapes(t *testing.T) {
	env := newAPIEnv(t, Config{})
	env.createEvent(`{"slug":"x","kind":"webinar","title":"<script>alert('t')</script>","organizer":"\"><img src=x onerror=alert(1)>","state":"published","starts_at":"2026-02-01T10:00:00Z"}`)
	env.signup("x", `<img src=x onerror=alert(2)>`, "x@example.com")
	cc := newConsoleClient(env)
	cc.login(adminToken)
	for _, p := range []string{"/admin/events", "/admin/events/x", "/admin/events/x/edit", "/admin/events/x/cancel",
		fmt.Sprintf("/admin/events/x/registrations/%d/cancel", env.regID("x", "x@"))} {
		body := wantPage(t, cc.get(p), 200)
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("%s: unescaped markup", p)
		}
		if !strings.Contains(body, "&lt;script&gt;") && !strings.Contains(body, "&lt;img") {
			t.Errorf("%s: escaped text missing", p)
		}
	}
	// A hostile q is echoed escaped too.
	body := wantPage(t, cc.get(`/admin/events/x?q=%22%3E%3Cscript%3Ealert(3)%3C/script%3E`), 200)
	if strings.Contains(body, "<script>alert(3)") {
		t.Error("q unescaped")
	}
}

func TestConsoleLanguages(t *testing.T) {
	env := newAPIEnv(t, Config{})
	cc := newConsoleClient(env)
	wantPage(t, cc.get("/admin/login", "Accept-Language", "zh-TW"), 200, `<html lang="zh-Hant">`, "主辦方登入")
	wantPage(t, cc.get("/admin/login?lang=zh-Hans"), 200, "主办方登录")
	// The choice is kept in the lang cookie.
	wantPage(t, cc.get("/admin/login"), 200, "主办方登录")
	cc.login(adminToken)
	wantPage(t, cc.get("/admin/events/new"), 200, "新建活动", "在线研讨会")
	wantPage(t, cc.get("/admin/events/new?lang=en"), 200, "New event", "Online conference")
}

// Every console key is in all three catalogs, and every key the templates
// and the code name exists.
func TestConsoleCatalogs(t *testing.T) {
	keys := map[string][]string{}
	for _, loc := range templates.Locales {
		for _, k := range templates.Keys(loc) {
			if strings.HasPrefix(k, "console.") {
				keys[loc] = append(keys[loc], k)
			}
		}
		slices.Sort(keys[loc])
	}
	if len(keys["en"]) < 100 || !slices.Equal(keys["en"], keys["zh-Hans"]) || !slices.Equal(keys["en"], keys["zh-Hant"]) {
		t.Errorf("catalogs differ: %d %d %d keys", len(keys["en"]), len(keys["zh-Hans"]), len(keys["zh-Hant"]))
	}
	for _, loc := range templates.Locales {
		for _, k := range keys[loc] {
			if strings.TrimSpace(templates.T(loc, k)) == "" {
				t.Errorf("%s %s is empty", loc, k)
			}
		}
	}
	keyRE := regexp.MustCompile(`"(console\.[a-z_.]+[a-z_])"`)
	var sources []string
	for _, name := range consolePages {
		b, err := fs.ReadFile(templates.FS, "pages/console/"+name+".html")
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, string(b))
	}
	for _, name := range []string{"console.go", "console_form.go", "console_chart.go", "console_session.go"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, string(b))
	}
	for _, src := range sources {
		for _, m := range keyRE.FindAllStringSubmatch(src, -1) {
			if m[1] == "console.css" {
				continue // the stylesheet, not a key
			}
			if strings.HasSuffix(m[1], ".") || !slices.Contains(keys["en"], m[1]) && !hasPrefixKey(keys["en"], m[1]) {
				t.Errorf("key %s is used but not in the catalog", m[1])
			}
		}
	}
	// Keys built from values: every kind, status and outcome has its words.
	var want []string
	for _, k := range registration.EventKinds {
		want = append(want, "console.kind."+k)
	}
	for _, s := range []string{"draft", "cancelled", "live", "replay", "ended", "upcoming", "closed", "waitlist", "full", "open"} {
		want = append(want, "console.status."+s)
	}
	for _, s := range msgStatuses {
		want = append(want, "console.mailstatus."+s)
	}
	for _, k := range []string{"confirmation", "waitlisted", "promoted", "cancelled", "event_updated", "event_cancelled", "reminder", "replay"} {
		want = append(want, "console.mail."+k)
	}
	for _, d := range consoleDone {
		want = append(want, "console.done."+d)
	}
	for f := range consoleFields {
		want = append(want, "console.field."+f)
	}
	for _, k := range want {
		if !slices.Contains(keys["en"], k) {
			t.Errorf("missing %s", k)
		}
	}
}

// hasPrefixKey accepts a key that is the start of keys built at run time
// (such as "console.kind" + "." + kind).
func hasPrefixKey(keys []string, k string) bool {
	for _, x := range keys {
		if strings.HasPrefix(x, k+".") {
			return true
		}
	}
	return false
}
