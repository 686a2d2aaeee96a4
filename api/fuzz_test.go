package api

// Native fuzz targets that go through the real router over a real SQLite
// database: sign-up and event bodies, and the CSV writer. Under plain
// `go test` they run their seed corpus; scripts/fuzz.sh lets them search.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/mail"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"

	eventmail "eventreg/mail"
	"eventreg/registration"
	"eventreg/templates"
)

// fuzzServer is newAPIEnv for a fuzz target: one server and database for
// every input, built before f.Fuzz.
type fuzzServer struct {
	svc   *registration.Service
	srv   *Server
	clock *apiClock
}

func newFuzzServer(f *testing.F) *fuzzServer {
	f.Helper()
	ctx := context.Background()
	store, err := registration.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	clock := &apiClock{t: apiT0}
	svc, err := registration.NewService(ctx, store, registration.Options{Now: clock.Now, BaseURL: "http://example.test",
		AdminToken: adminToken, Calendar: eventmail.Calendar, MailFrom: "eventreg <no-reply@example.test>"})
	if err != nil {
		f.Fatal(err)
	}
	srv, err := New(svc, Config{Logger: slog.New(slog.DiscardHandler), Now: clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	return &fuzzServer{svc: svc, srv: srv, clock: clock}
}

// env is the usual test environment over the shared server, for one input.
func (fs *fuzzServer) env(t *testing.T) *apiEnv {
	return &apiEnv{t: t, svc: fs.svc, srv: fs.srv, clock: fs.clock}
}

func (fs *fuzzServer) event(f *testing.F, body string) {
	f.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		f.Fatal(err)
	}
	if _, err := fs.svc.CreateEvent(context.Background(), raw); err != nil {
		f.Fatalf("%s: %v", body, err)
	}
}

// checkAnswer checks what every answer of the JSON API must be: an allowed
// status, and JSON (problem+json for errors, with the same status inside).
func checkAnswer(t *testing.T, r resp, allowed ...int) map[string]any {
	t.Helper()
	if !slices.Contains(allowed, r.code) {
		t.Fatalf("status %d, want one of %v: %s", r.code, allowed, r.body)
	}
	ct := r.h.Get("Content-Type")
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("%d body is not a JSON object (%v): %q", r.code, err, r.body)
	}
	if r.code >= 400 {
		if ct != "application/problem+json" || m["code"] == "" || m["status"] != float64(r.code) {
			t.Fatalf("%d problem %q %v", r.code, ct, m)
		}
	} else if !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%d content type %q", r.code, ct)
	}
	return m
}

var (
	fuzzPhoneRE = regexp.MustCompile(`^[0-9 +()\-]*$`)
	fuzzSlugRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,79}$`)
)

// lineOK: min..max characters of valid UTF-8 with no control characters or
// line separators.
func lineOK(s string, min, max int) bool {
	n := utf8.RuneCountInString(s)
	return utf8.ValidString(s) && n >= min && n <= max &&
		!strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' })
}

// textOK: up to max characters of valid UTF-8 with no control characters
// but line breaks and tabs.
func textOK(s string, max int) bool {
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= max &&
		!strings.ContainsFunc(s, func(r rune) bool {
			return r != '\n' && r != '\r' && r != '\t' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029')
		})
}

// registrationRulesBroken lists the fields of a stored registration that
// break SPEC §4.
func registrationRulesBroken(r *registration.Registration) []string {
	var bad []string
	trimmed := func(s string) bool { return s == strings.TrimSpace(s) }
	if !lineOK(r.Name, 1, 100) || !trimmed(r.Name) {
		bad = append(bad, "name")
	}
	a, err := mail.ParseAddress(r.Email)
	if !lineOK(r.Email, 3, 254) || err != nil || a.Name != "" || a.Address != r.Email || strings.ContainsAny(r.Email, " ,;<>\"'") {
		bad = append(bad, "email")
	}
	if r.EmailNorm != strings.ToLower(r.Email) {
		bad = append(bad, "email_norm")
	}
	if !lineOK(r.Company, 0, 200) || !trimmed(r.Company) {
		bad = append(bad, "company")
	}
	if !lineOK(r.JobTitle, 0, 100) || !trimmed(r.JobTitle) {
		bad = append(bad, "job_title")
	}
	if !lineOK(r.Phone, 0, 32) || !fuzzPhoneRE.MatchString(r.Phone) || !trimmed(r.Phone) {
		bad = append(bad, "phone")
	}
	if q := r.Question; q != "" && (!textOK(q, 500) || utf8.RuneCountInString(q) < 6 || !trimmed(q)) {
		bad = append(bad, "question")
	}
	if !slices.Contains(registration.Locales, r.Locale) {
		bad = append(bad, "locale")
	}
	if r.Status != registration.RegConfirmed && r.Status != registration.RegWaitlisted {
		bad = append(bad, "status")
	}
	return bad
}

// fuzzSignupSlugs: open, a waitlist after one seat, full without waitlist,
// closed, and a draft.
var fuzzSignupSlugs = []string{"open", "wait", "full", "closed", "draft"}

func signupFuzzServer(f *testing.F) *fuzzServer {
	fs := newFuzzServer(f)
	fs.event(f, `{"slug":"open","kind":"webinar","title":"Open","starts_at":"2026-03-01T10:00:00Z","state":"published"}`)
	fs.event(f, `{"slug":"wait","kind":"webinar","title":"Wait","capacity":1,"state":"published"}`)
	fs.event(f, `{"slug":"full","kind":"in_person","title":"Full","capacity":0,"waitlist":false,"state":"published"}`)
	fs.event(f, `{"slug":"closed","kind":"download","title":"Closed","registration_opens_at":"2025-01-01T00:00:00Z","registration_closes_at":"2025-06-01T00:00:00Z","state":"published"}`)
	fs.event(f, `{"slug":"draft","kind":"webinar","title":"Draft"}`)
	return fs
}

// FuzzSignupJSON: a sign-up body through the real router never gets a 5xx
// or an unexpected status; what is stored obeys every field rule and is
// what was sent, trimmed; a repeat reveals nothing.
func FuzzSignupJSON(f *testing.F) {
	for _, seed := range []struct {
		body, ct, key string
		slug          uint8
	}{
		{`{"name":"王小明","email":"Ming@Example.com","company":"村田","job_title":"工程師","phone":"+86 (21) 5555-0100","question":"請問會有錄影嗎？","locale":"zh-Hant","consent":true}`, "", "", 0},
		{`{"name":"  Ann  ","email":" ann@example.org "}`, "", "k1", 1},
		{`{"name":"Ann","email":"ann@example.org"}`, "", "", 0},
		{`{"name":"Eve\r\nBcc: evil@example.com","email":"eve@example.com"}`, "", "", 0},
		{`{"name":"Eve","email":"eve@example.com\r\nBcc: evil@example.com"}`, "", "", 0},
		{`{"name":"Eve","email":"Eve <eve@example.com>"}`, "", "", 0},
		{`{"name":"=HYPERLINK(\"http://x\")","email":"x@example.com","question":"line one\nline two"}`, "", "", 0},
		{`{"name":"<script>alert(1)</script>","email":"x2@example.com","company":"\"><img src=x onerror=alert(1)>"}`, "", "", 0},
		{`{"name":"\u2028","email":"x@example.com","phone":"abc"}`, "", "", 0},
		{`{"name":5,"email":[]}`, "", "", 0},
		{`{"name":"x"`, "", "", 0},
		{`{"name":"x","email":"y@example.com"}]`, "", "", 0},
		{`{"name":"x","email":"y@example.com"}{}`, "", "", 0},
		{`[]`, "", "", 0},
		{`null`, "", "", 0},
		{`"str"`, "", "", 0},
		{``, "", "", 0},
		{`{"name":"x","email":"z@example.com"}`, "text/plain", "", 0},
		{`{"name":"x","email":"z@example.com"}`, "application/problem+json; charset=utf-8", "", 0},
		{`{"name":"x","email":"z@example.com"}`, "", "bad\nkey", 0},
		{`{"name":"x","email":"z@example.com"}`, "", strings.Repeat("k", 300), 0},
		{`{"name":"Full","email":"full@example.com"}`, "", "", 2},
		{`{"name":"Closed","email":"closed@example.com"}`, "", "", 3},
		{`{"name":"Draft","email":"draft@example.com"}`, "", "", 4},
		{`{"NAME":"Upper","EMAIL":"upper@example.com","Locale":"zh-Hans","name":"Later"}`, "", "", 0},
		{`{"name":"` + strings.Repeat("名", 101) + `","email":"long@example.com","question":"` + strings.Repeat("問", 501) + `"}`, "", "", 0},
		{`{"name":"x\u0000y","email":"nul@example.com","company":"a\u0085b","job_title":"\t"}`, "", "", 0},
		{"{\"name\":\"bad \xff utf-8\",\"email\":\"u8@example.com\"}", "", "", 0},
	} {
		f.Add(seed.body, seed.ct, seed.key, seed.slug)
	}
	fs := signupFuzzServer(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body, contentType, idemKey string, which uint8) {
		env := fs.env(t)
		slug := fuzzSignupSlugs[int(which)%len(fuzzSignupSlugs)]
		var h []string
		if contentType != "" {
			h = append(h, "Content-Type", contentType)
		}
		if idemKey != "" {
			h = append(h, "Idempotency-Key", idemKey)
		}
		allowed := []int{200, 201, 400, 409, 413, 415, 422, 429}
		if slug == "draft" {
			allowed = append(allowed, 404)
		}
		r := env.do("POST", "/api/v1/events/"+slug+"/registrations", body, h...)
		m := checkAnswer(t, r, allowed...)
		switch r.code {
		case 200:
			if m["duplicate"] != true {
				t.Fatalf("200 without duplicate: %v", m)
			}
			for k := range m {
				if k != "status" && k != "duplicate" && k != "waitlist_position" {
					t.Fatalf("a repeat reveals %q: %s", k, r.body)
				}
			}
		case 201:
			if !json.Valid([]byte(body)) {
				t.Fatalf("201 for a body that is not JSON: %q", body)
			}
			var in registration.SignupInput
			if err := json.Unmarshal([]byte(body), &in); err != nil {
				t.Fatalf("201 for %q, which does not decode: %v", body, err)
			}
			id, _ := m["id"].(float64)
			manage, _ := m["manage_url"].(string)
			if id <= 0 || !strings.HasPrefix(manage, "http://example.test/r/") || r.h.Get("Location") != manage {
				t.Fatalf("201 answer %v, Location %q", m, r.h.Get("Location"))
			}
			reg, err := fs.svc.Store().RegistrationByID(ctx, int64(id))
			if err != nil {
				t.Fatalf("registration %v: %v", id, err)
			}
			if bad := registrationRulesBroken(reg); len(bad) > 0 {
				t.Fatalf("stored %+v breaks the rules of %v (body %q)", reg, bad, body)
			}
			if reg.Name != strings.TrimSpace(in.Name) || reg.Email != strings.TrimSpace(in.Email) ||
				reg.Company != strings.TrimSpace(in.Company) || reg.JobTitle != strings.TrimSpace(in.JobTitle) ||
				reg.Phone != strings.TrimSpace(in.Phone) || reg.Question != strings.TrimSpace(in.Question) ||
				(in.Locale != "" && reg.Locale != in.Locale) || reg.Consent != in.Consent {
				t.Fatalf("stored %+v, sent %+v", reg, in)
			}
			if reg.Status != m["status"] {
				t.Fatalf("stored status %q, answered %v", reg.Status, m["status"])
			}
			// The registrant's own view of it works.
			own := env.do("GET", "/api/v1/registrations/"+strings.TrimPrefix(manage, "http://example.test/r/"), "")
			if ov := checkAnswer(t, own, 200); ov["email"] != reg.Email {
				t.Fatalf("own view %v", ov)
			}
		}
	})
}

// csrfPair is a csrf cookie seed and the token that goes with it, as a
// browser that loaded the form would hold them.
func (fs *fuzzServer) csrfPair() (cookie, token string) {
	b := make([]byte, csrfSeedBytes)
	_, _ = rand.Read(b)
	seed := base64.RawURLEncoding.EncodeToString(b)
	return csrfCookie + "=" + seed, fs.srv.csrfMAC(seed)
}

// FuzzSignupForm: the sign-up form of the event page, posted with a valid
// CSRF token. No 5xx; a registration it makes obeys every field rule and is
// what was typed, trimmed; a page it answers holds no markup of the input.
func FuzzSignupForm(f *testing.F) {
	type seed struct {
		name, email, company, jobTitle, phone, question, consent, website, raw string
		slug                                                                   uint8
	}
	for _, sd := range []seed{
		{"王小明", "Ming@Example.com", "村田", "工程師", "+86 (21) 5555-0100", "請問會有錄影嗎？", "on", "", "", 0},
		{"  Ann  ", " ann@example.org ", "", "", "", "", "", "", "", 1},
		{"Eve\r\nBcc: evil@example.com", "eve@example.com", "", "", "", "", "", "", "", 0},
		{"Eve", "eve@example.com\r\nBcc: evil@example.com", "", "", "", "", "", "", "", 0},
		{"<script>alert(1)</script>", "x@example", "\"><img src=x onerror=alert(1)>", "</textarea><svg onload=alert(1)>", "abc", "</textarea><script>alert(1)</script>", "", "", "", 0},
		{"=HYPERLINK(\"http://x\")", "form@example.com", "", "", "", "line one\nline two", "on", "", "", 0},
		{"Robot", "robot@example.com", "", "", "", "", "", "http://spam.example", "", 0},
		{"Full", "full@example.com", "", "", "", "", "", "", "", 2},
		{"Closed", "closed@example.com", "", "", "", "", "", "", "", 3},
		{"Draft", "draft@example.com", "", "", "", "", "", "", "", 4},
		{"", "", "", "", "", "", "", "", "name=%zz&email=bad%", 0},
		{"", "", "", "", "", "", "", "", "name=a&name=b&email=dup%40example.com&email=other%40example.com", 0},
		{"", "", "", "", "", "", "", "", "name=" + strings.Repeat("%E5%90%8D", 101) + "&email=long%40example.com", 0},
		{"", "", "", "", "", "", "", "", ";;;&&&==", 0},
	} {
		f.Add(sd.name, sd.email, sd.company, sd.jobTitle, sd.phone, sd.question, sd.consent, sd.website, sd.raw, sd.slug)
	}
	fs := signupFuzzServer(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, name, email, company, jobTitle, phone, question, consent, website, raw string, which uint8) {
		env := fs.env(t)
		slug := fuzzSignupSlugs[int(which)%len(fuzzSignupSlugs)]
		vals := url.Values{"name": {name}, "email": {email}, "company": {company}, "job_title": {jobTitle},
			"phone": {phone}, "question": {question}, "consent": {consent}, "website": {website}}
		body := vals.Encode()
		if raw != "" {
			body = raw
			vals, _ = url.ParseQuery(raw)
		}
		cookie, token := fs.csrfPair()
		r := env.do("POST", "/events/"+slug+"/register", body, "Content-Type", "application/x-www-form-urlencoded",
			"Cookie", cookie, "X-CSRF-Token", token)
		allowed := []int{303, 400, 409, 413, 422, 429}
		if slug == "draft" {
			allowed = append(allowed, 404)
		}
		if !slices.Contains(allowed, r.code) {
			t.Fatalf("status %d, want one of %v: %s", r.code, allowed, r.body)
		}
		if r.code != 303 {
			if bad := injectedMarkup(r.body); bad != "" {
				t.Fatalf("the page answering %q holds %s", body, bad)
			}
			return
		}
		loc := r.h.Get("Location")
		tok, ok := strings.CutPrefix(loc, "/r/")
		if !ok {
			if loc != "/events/"+slug+"/thanks" && loc != "/events/"+slug+"/already-registered" {
				t.Fatalf("303 to %q", loc)
			}
			return
		}
		if vals.Get("website") != "" {
			t.Fatalf("the honeypot was filled in, yet registered")
		}
		reg, _, err := fs.svc.RegistrationByToken(ctx, tok)
		if err != nil {
			t.Fatalf("registration of %q: %v", loc, err)
		}
		if bad := registrationRulesBroken(reg); len(bad) > 0 {
			t.Fatalf("stored %+v breaks the rules of %v (body %q)", reg, bad, body)
		}
		// Form values are bytes; the database keeps what was sent, trimmed.
		for field, got := range map[string]string{"name": reg.Name, "email": reg.Email, "company": reg.Company,
			"job_title": reg.JobTitle, "phone": reg.Phone, "question": reg.Question} {
			if want := strings.TrimSpace(vals.Get(field)); got != want {
				t.Fatalf("%s stored %q, sent %q", field, got, want)
			}
		}
		if reg.Consent != (vals.Get("consent") != "") {
			t.Fatalf("consent stored %v, sent %q", reg.Consent, vals.Get("consent"))
		}
		page := env.do("GET", loc, "")
		if page.code != 200 {
			t.Fatalf("registrant page %d", page.code)
		}
		if bad := injectedMarkup(page.body); bad != "" {
			t.Fatalf("the registrant page of %+v holds %s", reg, bad)
		}
	})
}

// pageWords are the words of the page templates: every element and
// attribute name a page may have. A name not among them was injected.
var pageWords = sync.OnceValue(func() map[string]bool {
	words := map[string]bool{}
	word := regexp.MustCompile(`[A-Za-z][A-Za-z0-9-]*`)
	err := fs.WalkDir(templates.FS, "pages", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		b, err := fs.ReadFile(templates.FS, path)
		for _, w := range word.FindAll(b, -1) {
			words[strings.ToLower(string(w))] = true
		}
		return err
	})
	if err != nil {
		panic(err)
	}
	return words
})

// injectedMarkup tokenizes a page as a browser would and names the first
// element or attribute that is not in the templates, or returns "".
func injectedMarkup(body []byte) string {
	words := pageWords()
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, more := z.TagName()
			if !words[string(name)] {
				return "element <" + string(name) + ">"
			}
			for more {
				var key []byte
				key, _, more = z.TagAttr()
				if !words[string(key)] {
					return "attribute " + string(key) + " on <" + string(name) + ">"
				}
			}
		}
	}
}

// eventRulesBroken lists the fields of a stored event that break SPEC §3.
func eventRulesBroken(e *registration.Event) []string {
	var bad []string
	if !fuzzSlugRE.MatchString(e.Slug) {
		bad = append(bad, "slug")
	}
	if !slices.Contains(registration.EventKinds, e.Kind) {
		bad = append(bad, "kind")
	}
	if !lineOK(e.Title, 1, 200) || e.Title != strings.TrimSpace(e.Title) {
		bad = append(bad, "title")
	}
	for name, v := range map[string]string{"organizer": e.Organizer, "summary": e.Summary, "location": e.Location} {
		if !lineOK(v, 0, 2000) {
			bad = append(bad, name)
		}
	}
	if !textOK(e.Description, 20000) {
		bad = append(bad, "description")
	}
	if _, err := time.LoadLocation(e.Timezone); err != nil || e.Timezone == "" || strings.EqualFold(e.Timezone, "local") {
		bad = append(bad, "timezone")
	}
	if e.RegistrationOpensAt.IsZero() || (e.RegistrationClosesAt != nil && !e.RegistrationClosesAt.After(e.RegistrationOpensAt)) {
		bad = append(bad, "registration_closes_at")
	}
	if (e.EndsAt != nil && e.StartsAt == nil) || (e.EndsAt != nil && !e.EndsAt.After(*e.StartsAt)) {
		bad = append(bad, "ends_at")
	}
	if e.Capacity != nil && *e.Capacity < 0 {
		bad = append(bad, "capacity")
	}
	if len(e.Reminders) > 5 {
		bad = append(bad, "reminders")
	}
	for i, d := range e.Reminders {
		if d < 5*time.Minute || d > 30*24*time.Hour || slices.Contains(e.Reminders[:i], d) {
			bad = append(bad, "reminders")
		}
	}
	if e.State != registration.StateDraft && e.State != registration.StatePublished {
		bad = append(bad, "state")
	}
	for name, v := range map[string]string{"join_url": e.JoinURL, "replay_url": e.ReplayURL, "download_url": e.DownloadURL} {
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !lineOK(v, 1, 2000) {
			bad = append(bad, name)
		}
	}
	return bad
}

// FuzzEventJSON: an event body through POST /api/v1/admin/events, then a
// second body through PATCH of the new event. No 5xx; whatever is stored
// obeys every field rule; the public and organizer reads of it work.
func FuzzEventJSON(f *testing.F) {
	for _, seed := range [][2]string{
		{`{"slug":"allegro","kind":"webinar","title":"Allegro助力汽車電氣化","starts_at":"2026-01-08T14:00:00+08:00","ends_at":"2026-01-08T16:00:00+08:00","timezone":"Asia/Shanghai","capacity":10,"join_url":"https://meet.example.com/secret","state":"published"}`,
			`{"starts_at":"2026-01-09T14:00:00+08:00","ends_at":"2026-01-09T16:00:00+08:00","capacity":20}`},
		{`{"kind":"download","title":"《2024智能製造產業高端化、智能化、綠色化發展藍皮書》","download_url":"https://files.example.com/b.pdf","registration_closes_at":"2026-08-01T18:00:00+08:00","timezone":"Asia/Shanghai","state":"published"}`,
			`{"title":"  renamed  ","reminders":[]}`},
		{`{"kind":"offer","title":"【限時免費】安森美","organizer":"onsemi","summary":"s","description":"line\nline\r\n\ttab","location":"Hall 9","reminders":["72h","1h","30m"],"waitlist":false,"state":"published"}`,
			`{"capacity":null,"starts_at":null,"ends_at":null}`},
		{`{"kind":"webinar","title":"Webinar\r\nATTENDEE:evil","organizer":"\nOrg\n","summary":"a\nb","location":"x\ry"}`, `{"organizer":" \r\nEvil "}`},
		{`{"kind":"webinar","title":"ok","organizer":"\nOrg\n"}`, `{"organizer":"\r\n"}`},
		{`{"kind":"webinar","title":"<script>alert(1)</script>","organizer":"\"><img src=x onerror=alert(1)>","state":"published"}`, `{"slug":"allegro"}`},
		{`{"kind":"webinar","title":"x","capacity":9223372036854775807,"state":"published"}`, `{"capacity":-1}`},
		{`{"kind":"webinar","title":"x","capacity":1e3}`, `{"capacity":1.5}`},
		{`{"kind":"webinar","title":"x","timezone":"Local"}`, `{"timezone":"../../etc/passwd"}`},
		{`{"kind":"webinar","title":"x","starts_at":"2026-01-08T14:00:00Z","ends_at":"2026-01-08T13:00:00Z"}`, `{"ends_at":"2026-01-07T00:00:00Z"}`},
		{`{"kind":"webinar","title":"x","ends_at":"2026-01-08T13:00:00Z"}`, `{"starts_at":"0001-01-01T00:00:00Z"}`},
		{`{"kind":"webinar","title":"x","registration_opens_at":"9999-12-31T23:59:59Z"}`, `{"registration_opens_at":null}`},
		{`{"kind":"webinar","title":"x","reminders":["1s","24h","24h","1000h","x","1h","2h"]}`, `{"reminders":"24h"}`},
		{`{"kind":"webinar","title":"x","join_url":"javascript:alert(1)","replay_url":"http://","download_url":"https://x.example/\n"}`, `{"join_url":"//evil.example"}`},
		{`{"kind":"webinar","title":"x","state":"cancelled"}`, `{"state":"published","waitlist":null}`},
		{`{"kind":"webinar","title":"x","slug":"-bad"}`, `{"slug":"UPPER"}`},
		{`{"kind":"webinar","title":"!!!"}`, `{"title":""}`},
		{`{"kind":"nope","title":"` + strings.Repeat("長", 201) + `","description":"` + strings.Repeat("d", 20001) + `"}`, `{"description":"\u0000"}`},
		{`{"kind":"webinar","title":"x","unknown":1}`, `{"sequence":5,"confirmed":1000}`},
		{`{"kind":`, `{"title":"x"`},
		{`[1,2]`, `[]`},
		{`null`, `null`},
		{``, ``},
		{`{"kind":"webinar","title":"x"}{}`, `{"title":"y"}]`},
	} {
		f.Add(seed[0], seed[1])
	}
	fs := newFuzzServer(f)
	ctx := context.Background()
	check := func(t *testing.T, env *apiEnv, m map[string]any) {
		t.Helper()
		slug, _ := m["slug"].(string)
		e, err := fs.svc.Event(ctx, slug)
		if err != nil {
			t.Fatalf("stored event %q: %v", slug, err)
		}
		if bad := eventRulesBroken(e); len(bad) > 0 {
			t.Fatalf("stored %+v breaks the rules of %v", e, bad)
		}
		if m["title"] != e.Title || m["organizer"] != e.Organizer || m["status"] == "" || m["cta"] == "" || m["window_label"] == "" {
			t.Fatalf("answer %v, stored %+v", m, e)
		}
		checkAnswer(t, env.admin("GET", "/api/v1/admin/events/"+slug, ""), 200)
		if e.State == registration.StatePublished {
			pub := checkAnswer(t, env.do("GET", "/api/v1/events/"+slug+"?lang=zh-Hans", ""), 200)
			if _, leak := pub["join_url"]; leak {
				t.Fatalf("public view has join_url: %v", pub)
			}
		} else {
			checkAnswer(t, env.do("GET", "/api/v1/events/"+slug, ""), 404)
		}
	}
	f.Fuzz(func(t *testing.T, create, patch string) {
		env := fs.env(t)
		r := env.admin("POST", "/api/v1/admin/events", create)
		m := checkAnswer(t, r, 201, 400, 409, 413, 415, 422)
		if r.code != 201 {
			return
		}
		if !json.Valid([]byte(create)) {
			t.Fatalf("201 for a body that is not JSON: %q", create)
		}
		check(t, env, m)
		slug := m["slug"].(string)
		r = env.admin("PATCH", "/api/v1/admin/events/"+slug, patch)
		m = checkAnswer(t, r, 200, 400, 409, 413, 415, 422)
		if r.code == 200 {
			if !json.Valid([]byte(patch)) {
				t.Fatalf("200 for a body that is not JSON: %q", patch)
			}
			check(t, env, m)
		}
	})
}

// FuzzCSVWriter: every cell a spreadsheet could take for a formula starts
// with an apostrophe, and the file reads back to the same values.
func FuzzCSVWriter(f *testing.F) {
	f.Add("王小明", "ming@example.com", "村田", "工程師", "+86 21 5555 0101", "請問會有錄影嗎？")
	f.Add("=HYPERLINK(\"http://evil\",\"x\")", "@evil.example", "+cmd|' /C calc'!A0", "-2+3", "+1 555", "=1+1")
	f.Add("\tTab", "\rCR", "a,b", "\"quoted\"", " space", "line one\nline two\r\nline three\rfour")
	f.Add("", "", "", "", "", "")
	f.Add("'already", "=", "+", "-", "@", "\t")
	f.Add("\ufeff=BOM", "\x00", "a\"b,c\nd", "\r\n", "\n=", "\u200b=zero-width")
	f.Add(`\.`, "\u3000ideographic space", "\u00a0=", "x\"", "\"", " ")
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, name, email, company, jobTitle, phone, question string) {
		r := &registration.Registration{ID: 42, Status: registration.RegConfirmed, Name: name, Email: email,
			Company: company, JobTitle: jobTitle, Phone: phone, Question: question, Locale: "zh-Hant",
			CreatedAt: now, ConfirmedAt: &now}
		var buf bytes.Buffer
		cw, err := NewCSVWriter(&buf, loc)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := cw.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := cw.Flush(); err != nil {
			t.Fatal(err)
		}
		body, ok := bytes.CutPrefix(buf.Bytes(), []byte("\ufeff"))
		if !ok {
			t.Fatal("no byte order mark")
		}
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatalf("read back: %v\n%q", err, body)
		}
		if len(recs) != 3 || !slices.Equal(recs[0], csvHeader) {
			t.Fatalf("%d records, header %q:\n%q", len(recs), recs[0], body)
		}
		want := []string{"42", "confirmed", name, email, company, jobTitle, phone, question, "zh-Hant", "false",
			"2026-01-01T16:00:00+08:00", "2026-01-01T16:00:00+08:00", "", "", ""}
		for i, w := range want {
			if w != "" && strings.ContainsRune("=+-@\t\r", rune(w[0])) {
				want[i] = "'" + w
			}
		}
		// Byte for byte what encoding/csv writes for the same cells.
		var ref bytes.Buffer
		rw := csv.NewWriter(&ref)
		_ = rw.WriteAll([][]string{csvHeader, want, want})
		if !bytes.Equal(body, ref.Bytes()) {
			t.Fatalf("not as encoding/csv writes it:\n%q\n%q", body, ref.Bytes())
		}
		for _, rec := range recs[1:] {
			for i, cell := range rec {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Fatalf("column %s: cell %q can be a formula", csvHeader[i], cell)
				}
				w := want[i]
				// encoding/csv reads a CRLF inside a quoted field as LF.
				if cell != strings.ReplaceAll(w, "\r\n", "\n") {
					t.Fatalf("column %s: read back %q, want %q", csvHeader[i], cell, w)
				}
			}
		}
	})
}
