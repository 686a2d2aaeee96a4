package api

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"eventreg/mail"
	"eventreg/registration"
	"eventreg/templates"
)

// ---- a browser-like client over the real router ----

// pageT0 is 2026-01-01 16:00 in Shanghai.
var pageT0 = time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)

type pageEnv struct {
	t       *testing.T
	svc     *registration.Service
	srv     *Server
	clock   *apiClock
	cookies map[string]string
}

func newPageEnv(t *testing.T, cfg Config) *pageEnv {
	t.Helper()
	ctx := context.Background()
	store, err := registration.Open(ctx, filepath.Join(t.TempDir(), "pages.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clock := &apiClock{t: pageT0}
	svc, err := registration.NewService(ctx, store, registration.Options{Now: clock.Now, BaseURL: "http://example.test",
		Calendar: mail.Calendar, MailFrom: "eventreg <no-reply@example.test>"})
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
	return &pageEnv{t: t, svc: svc, srv: srv, clock: clock, cookies: map[string]string{}}
}

type pageResp struct {
	code int
	h    http.Header
	body string
}

// do sends a request with the cookies the "browser" holds and keeps the ones
// it is given. form, when not nil, is posted as application/x-www-form-urlencoded.
func (e *pageEnv) do(method, path string, form url.Values, headers ...string) pageResp {
	e.t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	req.RemoteAddr = "198.51.100.7:4321"
	for name, v := range e.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: v})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, req)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(e.cookies, c.Name)
		} else {
			e.cookies[c.Name] = c.Value
		}
	}
	r := pageResp{code: w.Code, h: w.Header(), body: w.Body.String()}
	if strings.HasPrefix(r.h.Get("Content-Type"), "text/html") && (r.code < 300 || r.code >= 400) {
		checkPageHTML(e.t, method+" "+path, r)
	}
	return r
}

func (e *pageEnv) get(path string, headers ...string) pageResp {
	e.t.Helper()
	return e.do("GET", path, nil, headers...)
}

var rawKeyRE = regexp.MustCompile(`\b(page|lang|email|console)\.[a-z_]+(\.[a-z_0-9]+)*\b`)

// checkPageHTML holds for every HTML page: the layout, the headers, and no
// catalog key left untranslated.
func checkPageHTML(t *testing.T, what string, r pageResp) {
	t.Helper()
	if k := rawKeyRE.FindString(r.body); k != "" {
		t.Errorf("%s: raw catalog key %q in the page", what, k)
	}
	if !strings.Contains(r.body, "<html lang=\"") || !strings.Contains(r.body, `class="skip" href="#main"`) {
		t.Errorf("%s: no layout: %.300s", what, r.body)
	}
	if csp := r.h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("%s: CSP %q", what, csp)
	}
	if r.h.Get("X-Content-Type-Options") != "nosniff" || r.h.Get("Referrer-Policy") == "" {
		t.Errorf("%s: security headers %v", what, r.h)
	}
	if strings.Contains(r.body, "<script") || strings.Contains(r.body, " style=") || strings.Contains(r.body, "<style") {
		t.Errorf("%s: inline script or style", what)
	}
}

func (e *pageEnv) event(fields map[string]any) *registration.Event {
	e.t.Helper()
	raw := map[string]json.RawMessage{}
	for k, v := range fields {
		b, err := json.Marshal(v)
		if err != nil {
			e.t.Fatal(err)
		}
		raw[k] = b
	}
	if _, ok := raw["state"]; !ok {
		raw["state"] = json.RawMessage(`"published"`)
	}
	if _, ok := raw["timezone"]; !ok {
		raw["timezone"] = json.RawMessage(`"Asia/Shanghai"`)
	}
	ev, err := e.svc.CreateEvent(context.Background(), raw)
	if err != nil {
		e.t.Fatalf("create event %v: %v", fields["slug"], err)
	}
	return ev
}

func (e *pageEnv) signup(slug, name, email string) *registration.SignupResult {
	e.t.Helper()
	res, err := e.svc.Signup(context.Background(), slug, registration.SignupInput{Name: name, Email: email, Consent: true}, "")
	if err != nil {
		e.t.Fatalf("sign-up %s to %s: %v", email, slug, err)
	}
	return res
}

func (e *pageEnv) eventBySlug(slug string) *registration.Event {
	e.t.Helper()
	ev, err := e.svc.Event(context.Background(), slug)
	if err != nil {
		e.t.Fatal(err)
	}
	return ev
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf reads the form token of a page.
func csrf(t *testing.T, r pageResp) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no csrf token in %.500s", r.body)
	}
	return m[1]
}

func at(d time.Duration) string { return pageT0.Add(d).Format(time.RFC3339) }

func wantStatus(t *testing.T, r pageResp, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %.2000s", r.code, code, r.body)
	}
}

func wantIn(t *testing.T, r pageResp, subs ...string) {
	t.Helper()
	text := html.UnescapeString(r.body)
	for _, s := range subs {
		if !strings.Contains(r.body, s) && !strings.Contains(text, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

func wantNotIn(t *testing.T, r pageResp, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(r.body, s) {
			t.Errorf("page holds %q", s)
		}
	}
}

// order checks that subs appear in this order.
func wantOrder(t *testing.T, body string, subs ...string) {
	t.Helper()
	last := -1
	for _, s := range subs {
		i := strings.Index(body, s)
		if i < 0 {
			t.Errorf("%q missing", s)
			return
		}
		if i < last {
			t.Errorf("%q out of order", s)
		}
		last = i
	}
}

// ---- the catalogs ----

var pageKeyRE = regexp.MustCompile(`"(page\.[a-z0-9_.]+)"`)

func TestPageCatalogsComplete(t *testing.T) {
	en := templates.Keys("en")
	var pageKeys []string
	for _, k := range en {
		if strings.HasPrefix(k, "page.") {
			pageKeys = append(pageKeys, k)
		}
	}
	if len(pageKeys) < 100 {
		t.Fatalf("only %d page keys in en", len(pageKeys))
	}
	for _, loc := range templates.Locales {
		keys := templates.Keys(loc)
		for _, k := range keys {
			if strings.HasPrefix(k, "page.") && !slices.Contains(en, k) {
				t.Errorf("%s has %s, en does not", loc, k)
			}
		}
		for _, k := range pageKeys {
			if !slices.Contains(keys, k) {
				t.Errorf("%s lacks %s", loc, k)
				continue
			}
			// The same verbs in every language, so no locale prints %!d(MISSING).
			if verbs(templates.T(loc, k)) != verbs(templates.T("en", k)) {
				t.Errorf("%s %s: verbs %q, en %q", loc, k, templates.T(loc, k), templates.T("en", k))
			}
		}
	}
	// Every literal key the templates and the Go code name exists.
	var sources []string
	_ = fs.WalkDir(templates.FS, "pages", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".html") {
			b, _ := fs.ReadFile(templates.FS, p)
			sources = append(sources, string(b))
		}
		return nil
	})
	goFiles, _ := filepath.Glob("pages*.go")
	goFiles = append(goFiles, "csrf.go")
	for _, f := range goFiles {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, string(b))
	}
	for _, src := range sources {
		for _, m := range pageKeyRE.FindAllStringSubmatch(src, -1) {
			if k := m[1]; !strings.HasSuffix(k, ".") && !slices.Contains(en, k) {
				t.Errorf("key %s is used but not in the catalog", k)
			}
		}
	}
	// Keys built at run time.
	for _, kind := range registration.EventKinds {
		for _, prefix := range []string{"page.kind.", "page.kind_name."} {
			if !slices.Contains(en, prefix+kind) {
				t.Errorf("no %s%s", prefix, kind)
			}
		}
	}
	for _, fe := range []registration.FieldError{{Field: "name", Code: "required"}, {Field: "name", Code: "too_long"}, {Field: "email", Code: "invalid"},
		{Field: "email", Code: "required"}, {Field: "phone", Code: "invalid"}, {Field: "question", Code: "too_short"}, {Field: "question", Code: "too_long"},
		{Field: "company", Code: "too_long"}, {Field: "job_title", Code: "too_long"}} {
		if got := fieldMessage("en", fe); got == templates.T("en", "page.err.invalid") {
			t.Errorf("%s/%s has no message of its own", fe.Field, fe.Code)
		}
	}
}

var verbRE = regexp.MustCompile(`%(\[\d\])?[sdv]`)

func verbs(s string) string {
	v := verbRE.FindAllString(s, -1)
	slices.Sort(v)
	return strings.Join(v, " ")
}

// ---- the events box ----

func TestPageList(t *testing.T) {
	env := newPageEnv(t, Config{})
	env.event(map[string]any{"slug": "murata", "kind": "online_conference", "title": "【在線會議】村田用於AR/VR設計開發解決方案",
		"organizer": "村田製作所", "registration_closes_at": at(20 * 24 * time.Hour)})
	env.event(map[string]any{"slug": "allegro", "kind": "webinar", "title": "Allegro助力汽車電氣化在線研討會", "organizer": "Allegro MicroSystems",
		"starts_at": "2026-01-08T14:00:00+08:00", "ends_at": "2026-01-08T16:00:00+08:00", "capacity": 5})
	env.event(map[string]any{"slug": "iot-2024", "kind": "in_person", "title": "OFweek 2024物聯網產業大會", "organizer": "OFweek",
		"registration_opens_at": at(-60 * 24 * time.Hour), "starts_at": at(-30 * 24 * time.Hour), "ends_at": at(-30*24*time.Hour + 8*time.Hour),
		"replay_url": "https://example.com/replay", "location": "深圳"})
	env.event(map[string]any{"slug": "later", "kind": "online_summit", "title": "Upcoming summit", "registration_opens_at": at(48 * time.Hour),
		"starts_at": at(10 * 24 * time.Hour)})
	env.event(map[string]any{"slug": "secret-draft", "kind": "webinar", "title": "Not yet public", "state": "draft"})
	for i := range 4 {
		env.signup("allegro", "參加者", fmt.Sprintf("a%d@example.com", i))
	}

	r := env.get("/?lang=zh-Hant")
	wantStatus(t, r, 200)
	wantIn(t, r, `<html lang="zh-Hant">`, "【線上研討會】", "火熱報名中", "1月8日", "Allegro MicroSystems", `href="/events/allegro"`,
		"即日-1.21", "立即報名", "精彩回顧", "pill-replay", "pill-hot", "即將開放", `aria-current="true">繁體中文`)
	wantNotIn(t, r, "Not yet public", "secret-draft")
	// The title's own tag is not doubled, and it is styled as a tag.
	wantIn(t, r, `<a href="/events/murata"><span class="kind kind-online_conference">【在線會議】</span>村田用於`)
	wantNotIn(t, r, `【在線會議】</span><a href="/events/murata">`)
	// Open first, then upcoming, then replays.
	wantOrder(t, r.body, "/events/murata", "/events/later", "/events/iot-2024")
	wantOrder(t, r.body, "/events/allegro", "/events/later")
	if ck := r.h.Get("Set-Cookie"); !strings.Contains(ck, "lang=zh-Hant") || !strings.Contains(ck, "Max-Age=31536000") || !strings.Contains(ck, "SameSite=Lax") {
		t.Errorf("lang cookie %q", ck)
	}
	// The cookie remembers the choice.
	r = env.get("/")
	wantIn(t, r, `<html lang="zh-Hant">`, "最新活動")
	if r.h.Get("Content-Language") != "zh-Hant" {
		t.Errorf("Content-Language %q", r.h.Get("Content-Language"))
	}
	// Filter by kind, in simplified Chinese.
	r = env.get("/?kind=webinar&lang=zh-Hans")
	wantIn(t, r, "Allegro", "【线上研讨会】", "火热报名中", `href="/?kind=webinar" aria-current="page"`)
	wantNotIn(t, r, "村田", "OFweek", "Upcoming summit")
	// The language switcher keeps the filter.
	wantIn(t, r, `href="/?kind=webinar&amp;lang=en"`)
	// An unknown kind shows everything.
	r = env.get("/?kind=nonsense")
	wantStatus(t, r, 200)
	wantIn(t, r, "Allegro", "村田")
	// English.
	r = env.get("/?lang=en")
	wantIn(t, r, `<html lang="en">`, "[Webinar]", "[Online conference]", "Filling fast", "Watch the replay", "Jan 8", "Now – Jan 21", "Opens soon")
	// Accept-Language without a cookie or ?lang=.
	for header, want := range map[string]string{"zh-CN,zh;q=0.9": "zh-Hans", "zh-SG": "zh-Hans", "zh-TW": "zh-Hant", "zh-HK": "zh-Hant", "fr-FR": "en", "": "en"} {
		env.cookies = map[string]string{}
		r = env.get("/", "Accept-Language", header)
		if !strings.Contains(r.body, `<html lang="`+want+`">`) {
			t.Errorf("Accept-Language %q: want %s", header, want)
		}
		if _, set := env.cookies["lang"]; set {
			t.Errorf("Accept-Language %q set the lang cookie", header)
		}
	}
	// A cookie beats Accept-Language; ?lang= beats the cookie.
	env.cookies = map[string]string{"lang": "zh-Hans"}
	wantIn(t, env.get("/", "Accept-Language", "en"), `<html lang="zh-Hans">`)
	wantIn(t, env.get("/?lang=en", "Accept-Language", "zh-TW"), `<html lang="en">`)
}

func TestPageListEmpty(t *testing.T) {
	env := newPageEnv(t, Config{})
	r := env.get("/?kind=offer")
	wantStatus(t, r, 200)
	wantIn(t, r, "No events here right now", `href="/">Show all events`)
}

// ---- the event page in each status ----

func TestPageEventStatuses(t *testing.T) {
	env := newPageEnv(t, Config{})
	week := 7 * 24 * time.Hour
	env.event(map[string]any{"slug": "open", "kind": "webinar", "title": "Open webinar", "organizer": "Allegro",
		"summary": "All about chassis.", "description": "First paragraph.\nSecond line.\n\nSecond paragraph.",
		"starts_at": "2026-01-08T14:00:00+08:00", "ends_at": "2026-01-08T16:00:00+08:00", "capacity": 10,
		"join_url": "https://meet.example.com/secret-room"})
	env.event(map[string]any{"slug": "waitlist", "kind": "webinar", "title": "Waitlist webinar", "starts_at": at(week), "capacity": 1})
	env.signup("waitlist", "First", "first@example.com")
	env.event(map[string]any{"slug": "full", "kind": "webinar", "title": "Full webinar", "starts_at": at(week), "capacity": 1, "waitlist": false})
	env.signup("full", "First", "first@example.com")
	env.event(map[string]any{"slug": "closed", "kind": "webinar", "title": "Closed webinar", "registration_opens_at": at(-48 * time.Hour),
		"registration_closes_at": at(-24 * time.Hour), "starts_at": at(week)})
	env.event(map[string]any{"slug": "upcoming", "kind": "webinar", "title": "Upcoming webinar", "registration_opens_at": at(48 * time.Hour), "starts_at": at(week)})
	env.event(map[string]any{"slug": "live", "kind": "webinar", "title": "Live webinar", "registration_opens_at": at(-week),
		"registration_closes_at": at(-time.Hour), "starts_at": at(-30 * time.Minute), "ends_at": at(time.Hour)})
	env.event(map[string]any{"slug": "live-open", "kind": "webinar", "title": "Live and open", "registration_opens_at": at(-week),
		"starts_at": at(-30 * time.Minute), "ends_at": at(time.Hour)})
	env.event(map[string]any{"slug": "replay", "kind": "in_person", "title": "Replay conference", "registration_opens_at": at(-3 * week),
		"starts_at": at(-2 * week), "ends_at": at(-2*week + 8*time.Hour), "replay_url": "https://example.com/replay/iot", "location": "深圳會展中心"})
	env.event(map[string]any{"slug": "ended", "kind": "webinar", "title": "Ended webinar", "registration_opens_at": at(-3 * week),
		"starts_at": at(-2 * week), "ends_at": at(-2*week + time.Hour)})
	env.event(map[string]any{"slug": "cancelled", "kind": "webinar", "title": "Cancelled webinar", "starts_at": at(week)})
	if _, err := env.svc.CancelEvent(context.Background(), "cancelled"); err != nil {
		t.Fatal(err)
	}
	env.event(map[string]any{"slug": "draft", "kind": "webinar", "title": "Draft webinar", "state": "draft"})
	env.event(map[string]any{"slug": "bluebook", "kind": "download", "title": "藍皮書", "registration_closes_at": at(300 * 24 * time.Hour),
		"download_url": "https://files.example.com/b.pdf"})

	r := env.get("/events/open?lang=en")
	wantStatus(t, r, 200)
	wantIn(t, r, "<h1 id=\"event-title\">Open webinar</h1>", "By Allegro", "All about chassis.",
		"Thu, Jan 8, 2026 14:00–16:00 (Asia/Shanghai, UTC+08:00)", "10 of 10 seats left",
		"<p>First paragraph.<br>Second line.</p>", "<p>Second paragraph.</p>", "Register now",
		`<form class="signup" method="post" action="/events/open/register" novalidate>`,
		`<label for="f-name">Name</label>`, `id="f-name" name="name" type="text"`, `autocomplete="email"`,
		`<textarea id="f-question" name="question"`, `name="consent" type="checkbox"`, `name="website"`, `tabindex="-1"`,
		`<button class="button primary wide" type="submit">Register</button>`)
	wantNotIn(t, r, "secret-room")
	if csrf(t, r) == "" || env.cookies["csrf"] == "" {
		t.Error("no csrf token and cookie")
	}
	if !strings.Contains(r.h.Get("Cache-Control"), "no-cache") {
		t.Errorf("Cache-Control %q", r.h.Get("Cache-Control"))
	}
	zh := env.get("/events/open?lang=zh-Hant")
	wantIn(t, zh, "2026年1月8日 星期四 14:00–16:00（Asia/Shanghai，UTC+08:00）", "剩餘 10 個名額（共 10 個）", "姓名", "電子郵件", "（選填）")

	cases := []struct {
		slug     string
		code     int
		form     bool
		want     []string
		wantNot  []string
		language string
	}{
		{"waitlist", 200, true, []string{"All seats are taken. Join the waitlist", "Join the waitlist</button>", "All 1 seats are taken"}, nil, "en"},
		{"full", 200, false, []string{"fully booked and has no waitlist", "Fully booked"}, nil, "en"},
		{"closed", 200, false, []string{"Registration for this event has closed.", "Registration closed"}, nil, "en"},
		{"upcoming", 200, false, []string{"Registration is not open yet", "Opens soon", "Registration opens</dt><dd>Sat, Jan 3, 2026 16:00 (Asia/Shanghai, UTC+08:00)"}, nil, "en"},
		{"live", 200, false, []string{"This event is happening now. Registration has closed."}, nil, "en"},
		{"live-open", 200, true, []string{"Happening now — register and you can join straight away."}, nil, "en"},
		{"replay", 200, false, []string{"The replay is available", `href="https://example.com/replay/iot"`, "Watch the replay", "深圳會展中心"}, nil, "en"},
		{"ended", 200, false, []string{"This event has ended."}, []string{"Watch the replay"}, "en"},
		{"cancelled", 200, false, []string{"主辦單位已取消本活動。", "已取消"}, nil, "zh-Hant"},
		{"bluebook", 200, true, []string{"立即下载</button>", "【资料下载】"}, []string{"files.example.com"}, "zh-Hans"},
		{"draft", 404, false, []string{"Page not found"}, []string{"Draft webinar"}, "en"},
		{"no-such-event", 404, false, []string{"Page not found"}, nil, "en"},
	}
	for _, c := range cases {
		t.Run(c.slug, func(t *testing.T) {
			r := env.get("/events/" + c.slug + "?lang=" + c.language)
			wantStatus(t, r, c.code)
			wantIn(t, r, c.want...)
			wantNotIn(t, r, c.wantNot...)
			if got := strings.Contains(r.body, `class="signup"`); got != c.form {
				t.Errorf("form shown %v, want %v", got, c.form)
			}
		})
	}
}

// ---- signing up ----

func TestPageSignupErrorsKeepInput(t *testing.T) {
	env := newPageEnv(t, Config{})
	env.event(map[string]any{"slug": "allegro", "kind": "webinar", "title": "Allegro 在線研討會", "starts_at": "2026-01-08T14:00:00+08:00", "capacity": 10})
	token := csrf(t, env.get("/events/allegro?lang=zh-Hant"))
	form := url.Values{"csrf_token": {token}, "name": {""}, "email": {"王小明@無效"}, "company": {"維科網 OFweek"},
		"job_title": {"工程師"}, "phone": {"+86 (21) 5555-0100"}, "question": {"太短"}, "consent": {"yes"}}
	r := env.do("POST", "/events/allegro/register", form)
	wantStatus(t, r, 422)
	wantIn(t, r, `<html lang="zh-Hant">`,
		// Each error beside its field, tied to it.
		`<p class="error" id="f-name-error"><span class="visually-hidden">錯誤： </span>請填寫姓名。</p>`,
		`id="f-name" name="name" type="text" value=""`, `aria-invalid="true" aria-describedby="f-name-error"`,
		`<p class="error" id="f-email-error">`, "請填寫一個有效的電子郵件",
		`aria-describedby="f-email-hint f-email-error"`,
		`<p class="error" id="f-question-error">`, "問題至少需要 6 個字",
		// The input is kept, Chinese included.
		`value="王小明@無效"`, `value="維科網 OFweek"`, `value="工程師"`, `value="&#43;86 (21) 5555-0100"`, `>太短</textarea>`, `value="yes" checked`,
		// A summary on top links to the fields.
		`class="error-summary" role="alert"`, `<a href="#f-name">姓名：請填寫姓名。</a>`)
	wantNotIn(t, r, `id="f-company" name="company" type="text" value="維科網 OFweek" maxlength="200" autocomplete="organization" aria-invalid`)
	if n := env.eventBySlug("allegro").Confirmed; n != 0 {
		t.Errorf("confirmed %d after a refused form", n)
	}
	// The language switcher of the re-rendered page leads to the event page.
	wantIn(t, r, `href="/events/allegro?lang=en"`)
	if r := env.get("/events/allegro/register?lang=en"); r.code != 303 || r.h.Get("Location") != "/events/allegro?lang=en" {
		t.Errorf("GET of the form address: %d %q", r.code, r.h.Get("Location"))
	}
}

func TestPageSignupFlow(t *testing.T) {
	env := newPageEnv(t, Config{})
	env.event(map[string]any{"slug": "allegro", "kind": "webinar", "title": "Allegro 在線研討會", "organizer": "Allegro",
		"starts_at": "2026-01-08T14:00:00+08:00", "ends_at": "2026-01-08T16:00:00+08:00", "capacity": 1,
		"location": "", "join_url": "https://meet.example.com/room"})
	token := csrf(t, env.get("/events/allegro?lang=zh-Hant"))
	form := url.Values{"csrf_token": {token}, "name": {"王小明"}, "email": {"Ming@Example.com"}, "company": {"維科網"}, "consent": {"yes"}}
	r := env.do("POST", "/events/allegro/register", form)
	wantStatus(t, r, 303)
	loc := r.h.Get("Location")
	if !strings.HasPrefix(loc, "/r/") || len(loc) < 20 {
		t.Fatalf("Location %q", loc)
	}
	reg := strings.TrimPrefix(loc, "/r/")
	rr, _, err := env.svc.RegistrationByToken(context.Background(), reg)
	if err != nil || rr.Status != registration.RegConfirmed || rr.Locale != "zh-Hant" || !rr.Consent || rr.Company != "維科網" {
		t.Fatalf("registration %+v %v", rr, err)
	}

	// The registrant's page.
	p := env.get(loc)
	wantStatus(t, p, 200)
	if p.h.Get("Cache-Control") != "no-store" || p.h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("personal page headers %v", p.h)
	}
	wantIn(t, p, "報名成功", "Ming@Example.com", "王小明", "Allegro 在線研討會",
		"2026年1月8日 星期四 14:00–16:00（Asia/Shanghai，UTC+08:00）",
		`href="/api/v1/registrations/`+reg+`/calendar.ics"`, `href="http://example.test/j/`+reg+`"`,
		`action="/r/`+reg+`/cancel"`, `<meta name="robots" content="noindex, nofollow">`)
	wantNotIn(t, p, "meet.example.com")
	g := regexp.MustCompile(`href="(https://calendar\.google\.com/calendar/render\?[^"]+)"`).FindStringSubmatch(p.body)
	if g == nil {
		t.Fatal("no Google Calendar link")
	}
	gu, err := url.Parse(html.UnescapeString(g[1]))
	if err != nil {
		t.Fatal(err)
	}
	q := gu.Query()
	if q.Get("action") != "TEMPLATE" || q.Get("text") != "Allegro 在線研討會" || q.Get("dates") != "20260108T060000Z/20260108T080000Z" ||
		!strings.Contains(q.Get("details"), "http://example.test/j/"+reg) || q.Get("location") != "http://example.test/j/"+reg {
		t.Errorf("Google Calendar link %v", q)
	}
	// The calendar file it links to.
	if ics := env.get("/api/v1/registrations/" + reg + "/calendar.ics"); ics.code != 200 || !strings.Contains(ics.body, "BEGIN:VEVENT") {
		t.Errorf("calendar.ics %d", ics.code)
	}

	// The same email again: no new registration, no manage link.
	form.Set("email", "ming@example.com")
	r = env.do("POST", "/events/allegro/register", form)
	wantStatus(t, r, 303)
	if r.h.Get("Location") != "/events/allegro/already-registered" {
		t.Fatalf("duplicate to %q", r.h.Get("Location"))
	}
	d := env.get(r.h.Get("Location"))
	wantStatus(t, d, 200)
	wantIn(t, d, "您已經報過名了", "我們已重新寄出確認信", "Allegro 在線研討會")
	wantNotIn(t, d, "/r/", reg)

	// A second person takes the waitlist; the first cancels through the
	// confirmation step; the second gets the seat.
	env.cookies = map[string]string{"lang": "en"}
	token = csrf(t, env.get("/events/allegro"))
	r = env.do("POST", "/events/allegro/register", url.Values{"csrf_token": {token}, "name": {"Second"}, "email": {"second@example.com"}})
	wantStatus(t, r, 303)
	second := r.h.Get("Location")
	w := env.get(second)
	wantIn(t, w, "You&#39;re on the waitlist", "Your place in line", `<strong class="position-number">1</strong>`)
	wantNotIn(t, w, "/j/")

	p = env.get(loc)
	cancelToken := csrf(t, p)
	c := env.do("POST", "/r/"+reg+"/cancel", url.Values{"csrf_token": {cancelToken}})
	wantStatus(t, c, 200)
	wantIn(t, c, "Are you sure?", `name="confirm" value="yes"`, "Yes, cancel my registration", `href="/r/`+reg+`">No, keep it`,
		"Your seat will go to the next person on the waitlist.")
	if env.eventBySlug("allegro").Confirmed != 1 {
		t.Fatal("the question alone cancelled")
	}
	c = env.do("POST", "/r/"+reg+"/cancel", url.Values{"csrf_token": {csrf(t, c)}, "confirm": {"yes"}})
	wantStatus(t, c, 303)
	if c.h.Get("Location") != "/r/"+reg {
		t.Errorf("after cancel to %q", c.h.Get("Location"))
	}
	p = env.get(loc)
	wantIn(t, p, "Your registration is cancelled")
	wantNotIn(t, p, "Cancel my registration", "calendar.ics", "/j/")
	wantIn(t, env.get(second), "You&#39;re registered", "/j/")
	// Cancelling again changes nothing and asks nothing.
	c = env.do("POST", "/r/"+reg+"/cancel", url.Values{"csrf_token": {cancelToken}})
	if c.code != 303 {
		t.Errorf("cancel of a cancelled registration: %d", c.code)
	}
	if r := env.get("/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); r.code != 404 {
		t.Errorf("unknown token: %d", r.code)
	}
}

func TestPageSignupRefused(t *testing.T) {
	env := newPageEnv(t, Config{})
	env.event(map[string]any{"slug": "soon-closed", "kind": "webinar", "title": "Closing", "registration_closes_at": at(time.Hour), "starts_at": at(48 * time.Hour)})
	env.event(map[string]any{"slug": "tiny", "kind": "webinar", "title": "Tiny", "capacity": 1, "waitlist": false, "starts_at": at(48 * time.Hour)})
	token := csrf(t, env.get("/events/soon-closed?lang=en"))
	env.clock.Set(pageT0.Add(2 * time.Hour))
	r := env.do("POST", "/events/soon-closed/register", url.Values{"csrf_token": {token}, "name": {"Late"}, "email": {"late@example.com"}})
	wantStatus(t, r, 409)
	wantIn(t, r, `class="alert alert-error" role="alert">Sorry, registration closed before your sign-up arrived.`)
	wantNotIn(t, r, `class="signup"`)

	env.signup("tiny", "First", "first@example.com")
	r = env.do("POST", "/events/tiny/register", url.Values{"csrf_token": {token}, "name": {"Second"}, "email": {"second@example.com"}})
	wantStatus(t, r, 409)
	wantIn(t, r, "Sorry, the last seat was just taken")
	r = env.do("POST", "/events/no-such/register", url.Values{"csrf_token": {token}, "name": {"X"}, "email": {"x@example.com"}})
	wantStatus(t, r, 404)
}

func TestPageHoneypot(t *testing.T) {
	env := newPageEnv(t, Config{})
	env.event(map[string]any{"slug": "allegro", "kind": "webinar", "title": "Allegro", "starts_at": at(48 * time.Hour)})
	token := csrf(t, env.get("/events/allegro"))
	r := env.do("POST", "/events/allegro/register", url.Values{"csrf_token": {token}, "name": {"Bot"}, "email": {"bot@example.com"},
		"website": {"http://spam.example.com"}})
	wantStatus(t, r, 303)
	if r.h.Get("Location") != "/events/allegro/thanks" {
		t.Fatalf("honeypot to %q", r.h.Get("Location"))
	}
	if e := env.eventBySlug("allegro"); e.Confirmed != 0 || e.Waitlisted != 0 {
		t.Errorf("honeypot registered someone: %+v", e)
	}
	th := env.get("/events/allegro/thanks")
	wantStatus(t, th, 200)
	wantIn(t, th, "Thank you!", "Please check your inbox")
	if r := env.get("/events/no-such/thanks"); r.code != 404 {
		t.Errorf("thanks of an unknown event: %d", r.code)
	}
}

func TestPageCSRF(t *testing.T) {
	env := newPageEnv(t, Config{})
	env.event(map[string]any{"slug": "allegro", "kind": "webinar", "title": "Allegro", "starts_at": at(48 * time.Hour)})
	good := url.Values{"name": {"Ming"}, "email": {"ming@example.com"}}

	// No cookie, no token.
	r := env.do("POST", "/events/allegro/register", good, "Referer", "http://example.com/events/allegro")
	wantStatus(t, r, 403)
	wantIn(t, r, "This form has expired", `href="/events/allegro">Go back and try again`)
	if r.h.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.h.Get("Cache-Control"))
	}

	// A cookie but no token, or a wrong one, or the token of another browser.
	page := env.get("/events/allegro")
	token := csrf(t, page)
	for name, v := range map[string]string{"missing": "", "wrong": "AAAA" + token[4:], "other browser": ""} {
		f := url.Values{}
		for k, vs := range good {
			f[k] = vs
		}
		if v != "" {
			f.Set("csrf_token", v)
		}
		if name == "other browser" {
			other := newPageEnvSharing(env)
			f.Set("csrf_token", csrf(t, other.get("/events/allegro")))
		}
		r = env.do("POST", "/events/allegro/register", f, "Referer", "https://evil.example/")
		if r.code != 403 {
			t.Errorf("%s token: %d", name, r.code)
		}
		wantIn(t, r, `href="/">Go back and try again`)
	}
	if n := env.eventBySlug("allegro").Confirmed; n != 0 {
		t.Fatalf("%d registered without a valid token", n)
	}
	// The header works as well as the field, and the right token passes.
	f := url.Values{"name": {"Ming"}, "email": {"ming@example.com"}}
	r = env.do("POST", "/events/allegro/register", f, "X-CSRF-Token", token)
	wantStatus(t, r, 303)

	// The cancel form is protected too.
	reg := strings.TrimPrefix(r.h.Get("Location"), "/r/")
	r = env.do("POST", "/r/"+reg+"/cancel", url.Values{"confirm": {"yes"}})
	wantStatus(t, r, 403)
	if n := env.eventBySlug("allegro").Confirmed; n != 1 {
		t.Errorf("cancelled without a token: confirmed %d", n)
	}
	// The csrf cookie: HttpOnly, SameSite=Lax.
	fresh := newPageEnvSharing(env)
	set := fresh.get("/events/allegro").h.Values("Set-Cookie")
	if !slices.ContainsFunc(set, func(s string) bool {
		return strings.HasPrefix(s, "csrf=") && strings.Contains(s, "HttpOnly") && strings.Contains(s, "SameSite=Lax") && !strings.Contains(s, "Secure")
	}) {
		t.Errorf("csrf cookie %q", set)
	}
}

// newPageEnvSharing is another browser on the same server.
func newPageEnvSharing(e *pageEnv) *pageEnv {
	return &pageEnv{t: e.t, svc: e.svc, srv: e.srv, clock: e.clock, cookies: map[string]string{}}
}

func TestPageRateLimit(t *testing.T) {
	env := newPageEnv(t, Config{SignupRate: RateLimit{Count: 2, Per: time.Minute}})
	env.event(map[string]any{"slug": "allegro", "kind": "webinar", "title": "Allegro", "starts_at": at(48 * time.Hour)})
	token := csrf(t, env.get("/events/allegro?lang=zh-Hans"))
	for i := range 2 {
		r := env.do("POST", "/events/allegro/register", url.Values{"csrf_token": {token}, "name": {"X"}, "email": {fmt.Sprintf("x%d@example.com", i)}})
		wantStatus(t, r, 303)
	}
	r := env.do("POST", "/events/allegro/register", url.Values{"csrf_token": {token}, "name": {"X"}, "email": {"x9@example.com"}})
	wantStatus(t, r, 429)
	ra, err := strconv.Atoi(r.h.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After %q", r.h.Get("Retry-After"))
	}
	if !strings.HasPrefix(r.h.Get("Content-Type"), "text/html") {
		t.Errorf("content type %q", r.h.Get("Content-Type"))
	}
	wantIn(t, r, `<html lang="zh-Hans">`, "报名次数过多", fmt.Sprintf("请等待 %d 秒后再试。", ra), `href="/events/allegro"`)
	if n := env.eventBySlug("allegro").Confirmed; n != 2 {
		t.Errorf("confirmed %d", n)
	}
}

// ---- the personal links ----

func TestPageJoin(t *testing.T) {
	env := newPageEnv(t, Config{})
	start := pageT0.Add(24 * time.Hour) // 2026-01-02 16:00 in Shanghai
	env.event(map[string]any{"slug": "web", "kind": "webinar", "title": "Webinar", "starts_at": start.Format(time.RFC3339),
		"ends_at": start.Add(time.Hour).Format(time.RFC3339), "capacity": 1, "join_url": "https://meet.example.com/room",
		"replay_url": "https://example.com/replay"})
	env.event(map[string]any{"slug": "noreplay", "kind": "webinar", "title": "No replay", "starts_at": start.Format(time.RFC3339),
		"join_url": "https://meet.example.com/other"})
	env.event(map[string]any{"slug": "book", "kind": "download", "title": "Book", "download_url": "https://files.example.com/b.pdf"})
	env.event(map[string]any{"slug": "hall", "kind": "in_person", "title": "Hall", "starts_at": start.Format(time.RFC3339), "location": "深圳會展中心"})
	in := env.signup("web", "In", "in@example.com")
	wait := env.signup("web", "Wait", "wait@example.com")
	gone := env.signup("noreplay", "Gone", "gone@example.com")
	book := env.signup("book", "Reader", "reader@example.com")
	hall := env.signup("hall", "Guest", "guest@example.com")
	if _, _, err := env.svc.CancelByToken(context.Background(), gone.Token); err != nil {
		t.Fatal(err)
	}
	noreplay := env.signup("noreplay", "Other", "other@example.com")

	r := env.get("/j/" + in.Token + "?lang=en")
	wantStatus(t, r, 200)
	wantIn(t, r, "Not yet", "Your link opens at 15:45 (15 minutes before the start)", "Fri, Jan 2, 2026 15:45 (Asia/Shanghai, UTC+08:00)")
	if r.h.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.h.Get("Cache-Control"))
	}
	wantNotIn(t, r, "meet.example.com", "http-equiv=\"refresh\"")
	// Within the hour, the page reloads itself when the link opens.
	env.clock.Set(start.Add(-20 * time.Minute))
	wantIn(t, env.get("/j/"+in.Token), `<meta http-equiv="refresh" content="301">`)
	wantIn(t, env.get("/j/"+wait.Token), "still on the waitlist", "number 1 in line")
	wantIn(t, env.get("/j/"+gone.Token), "This link no longer works", "Your registration was cancelled.")

	env.clock.Set(start.Add(-10 * time.Minute))
	wantIn(t, env.get("/j/"+hall.Token), "No online link yet", "深圳會展中心")
	r = env.get("/j/" + in.Token)
	if r.code != 302 || r.h.Get("Location") != "https://meet.example.com/room" || r.h.Get("Cache-Control") != "no-store" {
		t.Errorf("join: %d %q %q", r.code, r.h.Get("Location"), r.h.Get("Cache-Control"))
	}
	if rr, _, _ := env.svc.RegistrationByToken(context.Background(), in.Token); rr.JoinedAt == nil {
		t.Error("joined_at not recorded")
	}
	r = env.get("/j/" + book.Token)
	if r.code != 302 || r.h.Get("Location") != "https://files.example.com/b.pdf" {
		t.Errorf("download: %d %q", r.code, r.h.Get("Location"))
	}

	env.clock.Set(start.Add(2 * time.Hour))
	r = env.get("/j/" + in.Token)
	if r.code != 302 || r.h.Get("Location") != "https://example.com/replay" {
		t.Errorf("replay: %d %q", r.code, r.h.Get("Location"))
	}
	r = env.get("/j/" + noreplay.Token + "?lang=zh-Hant")
	wantStatus(t, r, 200)
	wantIn(t, r, "活動已結束", "本活動不提供回放")
	if _, err := env.svc.CancelEvent(context.Background(), "hall"); err != nil {
		t.Fatal(err)
	}
	wantIn(t, env.get("/j/"+hall.Token+"?lang=en"), "The organizer has cancelled this event.")
	if r := env.get("/j/not-a-token"); r.code != 404 {
		t.Errorf("bad token: %d", r.code)
	}
	// The registrant page of an ended event with a replay offers the replay, not a cancel.
	p := env.get("/r/" + in.Token)
	wantIn(t, p, "Watch the replay")
	wantNotIn(t, p, "Cancel my registration", "calendar.ics")
}

func TestPageUnsubscribe(t *testing.T) {
	env := newPageEnv(t, Config{})
	env.event(map[string]any{"slug": "web", "kind": "webinar", "title": "Webinar <b>", "starts_at": at(72 * time.Hour)})
	a := env.signup("web", "A", "a@example.com")
	b := env.signup("web", "B", "b@example.com")

	// The registrant's page links to it.
	wantIn(t, env.get("/r/"+a.Token+"?lang=en"), `href="/u/`+a.Token+`">Stop reminders`)

	r := env.get("/u/" + a.Token)
	wantStatus(t, r, 200)
	wantIn(t, r, "Stop reminder emails?", `<form method="post" action="/u/`+a.Token+`"`, "Webinar &lt;b&gt;")
	if r.h.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.h.Get("Cache-Control"))
	}
	// The page's button: no CSRF token needed.
	r = env.do("POST", "/u/"+a.Token, url.Values{})
	wantStatus(t, r, 200)
	wantIn(t, r, "Reminders are off")
	// A mail provider's one-click POST (RFC 8058): no cookies, no token.
	provider := newPageEnvSharing(env)
	r = provider.do("POST", "/u/"+b.Token, url.Values{"List-Unsubscribe": {"One-Click"}})
	wantStatus(t, r, 200)
	for _, tok := range []string{a.Token, b.Token} {
		rr, _, err := env.svc.RegistrationByToken(context.Background(), tok)
		if err != nil || !rr.RemindersOff {
			t.Errorf("reminders still on: %+v %v", rr, err)
		}
	}
	wantIn(t, env.get("/u/"+a.Token), "Reminders are off")
	wantNotIn(t, env.get("/r/"+a.Token), "Stop reminders")
	if r := provider.do("POST", "/u/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", url.Values{"List-Unsubscribe": {"One-Click"}}); r.code != 404 {
		t.Errorf("unknown token: %d", r.code)
	}
}

// ---- escaping, errors, static files ----

func TestPageEscaping(t *testing.T) {
	env := newPageEnv(t, Config{})
	const evil = `<script>alert(1)</script>`
	env.event(map[string]any{"slug": "xss", "kind": "webinar", "title": evil, "organizer": evil, "summary": evil,
		"description": evil + "\n\n\"quoted\" & <img src=x onerror=alert(2)>", "location": evil, "starts_at": at(48 * time.Hour)})
	token := csrf(t, env.get("/events/xss"))
	r := env.do("POST", "/events/xss/register", url.Values{"csrf_token": {token}, "name": {evil}, "email": {"x@example.com"},
		"company": {`"><script>alert(3)</script>`}})
	wantStatus(t, r, 303)
	reg := r.h.Get("Location")
	bad := env.do("POST", "/events/xss/register", url.Values{"csrf_token": {token}, "name": {evil}, "email": {"not an email"},
		"company": {`"><script>alert(3)</script>`}})
	wantStatus(t, bad, 422)
	for _, p := range []pageResp{env.get("/"), env.get("/events/xss"), env.get(reg), bad, env.get("/events/xss/already-registered")} {
		if strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "<img src=x") {
			t.Errorf("unescaped: %s", p.body)
		}
	}
	wantIn(t, env.get("/"), "&lt;script&gt;alert(1)&lt;/script&gt;")
	wantIn(t, env.get(reg), "&lt;script&gt;alert(1)&lt;/script&gt;")
	wantIn(t, bad, `value="&#34;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"`)
}

func TestPageNotFoundAndStatic(t *testing.T) {
	env := newPageEnv(t, Config{})
	r := env.get("/no/such/page", "Accept-Language", "zh-TW")
	wantStatus(t, r, 404)
	wantIn(t, r, "找不到頁面", `href="/"`)
	if !strings.HasPrefix(r.h.Get("Content-Type"), "text/html") {
		t.Errorf("404 content type %q", r.h.Get("Content-Type"))
	}
	// The JSON API keeps its problems.
	if r := env.get("/api/v1/nothing"); r.code != 404 || r.h.Get("Content-Type") != "application/problem+json" {
		t.Errorf("API 404: %d %q", r.code, r.h.Get("Content-Type"))
	}

	if r := env.do("HEAD", "/", nil); r.code != 200 || !strings.HasPrefix(r.h.Get("Content-Type"), "text/html") {
		t.Errorf("HEAD /: %d %q", r.code, r.h.Get("Content-Type"))
	}
	page := env.get("/")
	m := regexp.MustCompile(`href="(/static/style\.css\?v=([0-9a-f]+))"`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatal("no stylesheet link")
	}
	css := env.get(m[1])
	wantStatus(t, css, 200)
	if !strings.HasPrefix(css.h.Get("Content-Type"), "text/css") || css.h.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		!strings.Contains(css.body, ".pill-hot") {
		t.Errorf("style.css: %v", css.h)
	}
	if r := env.get("/static/style.css"); r.h.Get("Cache-Control") != "public, max-age=300" {
		t.Errorf("unversioned Cache-Control %q", r.h.Get("Cache-Control"))
	}
	if r := env.get("/static/style.css", "If-None-Match", css.h.Get("ETag")); r.code != 304 {
		t.Errorf("If-None-Match: %d", r.code)
	}
	if r := env.get("/static/favicon.svg"); r.code != 200 || r.h.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("favicon: %d %q", r.code, r.h.Get("Content-Type"))
	}
	for _, p := range []string{"/static/nope.css", "/static/README.txt", "/static/../templates.go", "/static/"} {
		if r := env.get(p); r.code != 404 {
			t.Errorf("%s: %d", p, r.code)
		}
	}
}

// TestPageCSRFAcrossInstances: a token made by one server is good on another
// sharing the database (the key derives from the shared server secret).
func TestPageCSRFAcrossInstances(t *testing.T) {
	env := newPageEnv(t, Config{})
	env.event(map[string]any{"slug": "allegro", "kind": "webinar", "title": "Allegro", "starts_at": at(48 * time.Hour)})
	token := csrf(t, env.get("/events/allegro"))
	svc2, err := registration.NewService(context.Background(), env.svc.Store(), registration.Options{Now: env.clock.Now, BaseURL: "http://example.test"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(svc2, Config{Logger: slog.New(slog.DiscardHandler), Now: env.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	second := &pageEnv{t: t, svc: svc2, srv: other, clock: env.clock, cookies: env.cookies}
	r := second.do("POST", "/events/allegro/register", url.Values{"csrf_token": {token}, "name": {"Ming"}, "email": {"ming@example.com"}})
	wantStatus(t, r, 303)
}

func TestPageBadForm(t *testing.T) {
	env := newPageEnv(t, Config{})
	env.event(map[string]any{"slug": "allegro", "kind": "webinar", "title": "Allegro", "starts_at": at(48 * time.Hour)})
	token := csrf(t, env.get("/events/allegro"))
	req := httptest.NewRequest("POST", "/events/allegro/register", strings.NewReader("name=%zz&email=x%40example.com"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", token)
	req.AddCookie(&http.Cookie{Name: "csrf", Value: env.cookies["csrf"]})
	w := httptest.NewRecorder()
	env.srv.ServeHTTP(w, req)
	r := pageResp{code: w.Code, h: w.Header(), body: w.Body.String()}
	wantStatus(t, r, 400)
	checkPageHTML(t, "bad form", r)
	wantIn(t, r, "That didn&#39;t work")
}

func TestPageWhen(t *testing.T) {
	tm := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	cases := []struct {
		tz, start, end, loc, want string
	}{
		{"Asia/Shanghai", "2026-01-08T06:00:00Z", "2026-01-08T08:00:00Z", "en", "Thu, Jan 8, 2026 14:00–16:00 (Asia/Shanghai, UTC+08:00)"},
		{"Asia/Shanghai", "2026-01-08T06:00:00Z", "2026-01-08T08:00:00Z", "zh-Hans", "2026年1月8日 星期四 14:00–16:00（Asia/Shanghai，UTC+08:00）"},
		{"Asia/Shanghai", "2026-01-08T01:00:00Z", "2026-01-09T10:00:00Z", "en", "Thu, Jan 8, 2026 09:00 – Fri, Jan 9, 2026 18:00 (Asia/Shanghai, UTC+08:00)"},
		{"Asia/Shanghai", "2026-01-08T01:00:00Z", "2026-01-09T10:00:00Z", "zh-Hant", "2026年1月8日 星期四 09:00 至 2026年1月9日 星期五 18:00（Asia/Shanghai，UTC+08:00）"},
		// Across a change to summer time, each end has its own offset.
		{"America/New_York", "2026-03-07T15:00:00Z", "2026-03-08T15:00:00Z", "en",
			"Sat, Mar 7, 2026 10:00 (America/New_York, UTC-05:00) – Sun, Mar 8, 2026 11:00 (America/New_York, UTC-04:00)"},
		{"Asia/Kolkata", "2026-01-08T06:00:00Z", "", "en", "Thu, Jan 8, 2026 11:30 (Asia/Kolkata, UTC+05:30)"},
	}
	for _, c := range cases {
		e := &registration.Event{Timezone: c.tz, StartsAt: tm(c.start)}
		if c.end != "" {
			e.EndsAt = tm(c.end)
		}
		if got := pageWhen(c.loc, e); got != c.want {
			t.Errorf("%s %s %s:\n got %s\nwant %s", c.tz, c.start, c.loc, got, c.want)
		}
	}
	if got := pageWhen("en", &registration.Event{Timezone: "UTC"}); got != "" {
		t.Errorf("no start: %q", got)
	}
}
