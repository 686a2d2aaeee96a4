package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

var registerCalendarDecoder sync.Once

// conformance drives requests through the real router and checks each
// request and each answer against the OpenAPI document.
type conformance struct {
	t      *testing.T
	env    *apiEnv
	router routers.Router
	ops    map[string]bool // operations exercised, by operationId
	remote int             // a new client address per request, so the rate limit bites only where meant
}

func newConformance(t *testing.T, env *apiEnv) *conformance {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openapiJSON)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	registerCalendarDecoder.Do(func() { openapi3filter.RegisterBodyDecoder("text/calendar", openapi3filter.PlainBodyDecoder) })
	return &conformance{t: t, env: env, router: router, ops: map[string]bool{}}
}

// requestKind says what the document must think of a request.
type requestKind int

const (
	docValid   requestKind = iota // the request is what the document describes
	docInvalid                    // the document forbids it (the server refuses it too)
)

// bearerOnly is the document's security scheme: an Authorization header with
// a bearer token, right or wrong (the server decides which).
func bearerOnly(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	tok, ok := strings.CutPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return errors.New("no bearer token")
	}
	return nil
}

type call struct {
	method, path, body string
	headers            []string // name, value, …
	admin              bool
	remote             string
}

// do sends c, wants status, and checks request and answer against the
// document; kind says whether the document allows the request.
func (cf *conformance) do(c call, status int, kind requestKind) resp {
	t := cf.t
	t.Helper()
	newReq := func() *http.Request {
		var rd io.Reader
		if c.body != "" {
			rd = strings.NewReader(c.body)
		}
		req := httptest.NewRequest(c.method, c.path, rd)
		cf.remote++
		req.RemoteAddr = fmt.Sprintf("198.51.%d.%d:4000", cf.remote/250, cf.remote%250+1)
		if c.remote != "" {
			req.RemoteAddr = c.remote
		}
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.admin {
			req.Header.Set("Authorization", "Bearer "+adminToken)
		}
		for i := 0; i+1 < len(c.headers); i += 2 {
			req.Header.Set(c.headers[i], c.headers[i+1])
		}
		return req
	}
	what := c.method + " " + c.path

	// The request, as the document sees it.
	vreq := newReq()
	opts := &openapi3filter.Options{AuthenticationFunc: bearerOnly, RejectWhenRequestBodyNotSpecified: true,
		SkipSettingDefaults: true, IncludeResponseStatus: true, MultiError: true}
	route, params, rerr := cf.router.FindRoute(vreq)
	var in *openapi3filter.RequestValidationInput
	if rerr == nil {
		cf.ops[route.Operation.OperationID] = true
		in = &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
		rerr = openapi3filter.ValidateRequest(context.Background(), in)
	}
	switch {
	case kind == docValid && rerr != nil:
		t.Errorf("%s: the document refuses the request: %v", what, rerr)
	case kind == docInvalid && rerr == nil:
		t.Errorf("%s: the document allows a request the server refuses with %d", what, status)
	}

	// The answer.
	w := httptest.NewRecorder()
	cf.env.srv.ServeHTTP(w, newReq())
	r := resp{code: w.Code, h: w.Header(), body: w.Body.Bytes()}
	if r.code != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.code, status, r.body)
	}
	if in == nil {
		// No route in the document (a path no client could build from it):
		// the answer is checked as the document's 404 for the closest path.
		if status != 404 {
			t.Fatalf("%s: no operation in the document: %v", what, rerr)
		}
		if r.h.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: 404 content type %q", what, r.h.Get("Content-Type"))
		}
		return r
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.code, Header: r.h,
		Body: io.NopCloser(bytes.NewReader(r.body)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s: the answer %d breaks the document: %v\n%s", what, r.code, err, r.body)
	}
	return r
}

func (cf *conformance) json(r resp) map[string]any {
	cf.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		cf.t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// TestOpenAPIConformance drives every operation of the JSON API, with
// successes and refusals, and checks requests and answers against the
// document; then checks that every /api route of the router is in the
// document and every operation of the document was exercised.
func TestOpenAPIConformance(t *testing.T) {
	env := newAPIEnv(t, Config{SignupRate: RateLimit{Count: 2, Per: time.Hour}})
	cf := newConformance(t, env)
	G, P := "GET", "POST"
	admin := func(method, path, body string, h ...string) call {
		return call{method: method, path: path, body: body, headers: h, admin: true}
	}
	pub := func(method, path, body string, h ...string) call {
		return call{method: method, path: path, body: body, headers: h}
	}

	// Operations.
	for _, p := range []string{"/healthz", "/readyz"} {
		cf.do(pub(G, p, ""), 200, docValid)
	}
	if r := cf.do(pub(G, "/api/openapi.json", ""), 200, docValid); !bytes.Equal(r.body, openapiJSON) || r.h.Get("Content-Type") != "application/json" {
		t.Errorf("served document differs, or content type %q", r.h.Get("Content-Type"))
	}

	// Organizers create events.
	cf.do(admin(P, "/api/v1/admin/events", `{"slug":"w","kind":"webinar","title":"Allegro助力汽車電氣化","organizer":"Allegro","starts_at":"2026-01-08T14:00:00+08:00","ends_at":"2026-01-08T16:00:00+08:00","timezone":"Asia/Shanghai","capacity":1,"join_url":"https://meet.example.com/secret","location":"","reminders":["24h","1h"],"state":"published"}`), 201, docValid)
	cf.do(admin(P, "/api/v1/admin/events", `{"slug":"d","kind":"webinar","title":"Draft"}`), 201, docValid)
	cf.do(admin(P, "/api/v1/admin/events", `{"slug":"dl","kind":"download","title":"藍皮書","download_url":"https://files.example.com/b.pdf","registration_closes_at":"2026-08-01T18:00:00+08:00","timezone":"Asia/Shanghai","state":"published"}`), 201, docValid)
	cf.do(admin(P, "/api/v1/admin/events", `{"slug":"nowait","kind":"in_person","title":"Hall 9","capacity":0,"waitlist":false,"state":"published"}`), 201, docValid)
	cf.do(admin(P, "/api/v1/admin/events", `{"slug":"w","kind":"webinar","title":"again"}`), 409, docValid)
	cf.do(admin(P, "/api/v1/admin/events", `{"kind":`), 400, docInvalid)
	cf.do(admin(P, "/api/v1/admin/events", `{"kind":"webinar","title":""}`), 422, docInvalid)
	cf.do(admin(P, "/api/v1/admin/events", `{"kind":"webinar","title":"x","timezone":"Mars/Olympus"}`), 422, docValid)
	cf.do(admin(P, "/api/v1/admin/events", `{"kind":"webinar","title":"x"}`, "Content-Type", "text/plain"), 415, docInvalid)
	cf.do(admin(P, "/api/v1/admin/events", `{"kind":"webinar","title":"x","description":"`+strings.Repeat("x", 70<<10)+`"}`), 413, docInvalid)
	cf.do(pub(P, "/api/v1/admin/events", `{"kind":"webinar","title":"x"}`), 401, docInvalid)
	cf.do(pub(P, "/api/v1/admin/events", `{"kind":"webinar","title":"x"}`, "Authorization", "Bearer wrong"), 401, docValid)

	// Public reads.
	cf.do(pub(G, "/api/v1/events", ""), 200, docValid)
	cf.do(pub(G, "/api/v1/events?status=open,live&kind=webinar,download&lang=zh-Hans", ""), 200, docValid)
	page := cf.json(cf.do(pub(G, "/api/v1/events?limit=1", "", "Accept-Language", "zh-TW"), 200, docValid))
	cur, _ := page["next_cursor"].(string)
	if cur == "" {
		t.Fatalf("no next cursor: %v", page)
	}
	cf.do(pub(G, "/api/v1/events?limit=1&cursor="+cur, ""), 200, docValid)
	cf.do(pub(G, "/api/v1/events?status=bogus", ""), 422, docInvalid)
	cf.do(pub(G, "/api/v1/events?limit=0", ""), 422, docInvalid)
	cf.do(pub(G, "/api/v1/events?cursor=zzz", ""), 422, docValid)
	cf.do(pub(G, "/api/v1/events/w", ""), 200, docValid)
	cf.do(pub(G, "/api/v1/events/dl?lang=zh-Hant", ""), 200, docValid)
	cf.do(pub(G, "/api/v1/events/d", ""), 404, docValid)
	cf.do(pub(G, "/api/v1/events/nope", ""), 404, docValid)
	cf.do(pub(G, "/api/v1/events/NOPE", ""), 404, docInvalid)

	// Sign-ups.
	signup := "/api/v1/events/w/registrations"
	first := cf.json(cf.do(pub(P, signup, `{"name":"王小明","email":"Ming@Example.com","company":"村田","job_title":"工程師","phone":"+86 21 5555 0100","question":"請問會有錄影嗎？","locale":"zh-Hant","consent":true}`, "Idempotency-Key", "k1"), 201, docValid))
	cf.do(pub(P, signup, `{"name":"王小明","email":"Ming@Example.com","company":"村田","job_title":"工程師","phone":"+86 21 5555 0100","question":"請問會有錄影嗎？","locale":"zh-Hant","consent":true}`, "Idempotency-Key", "k1"), 201, docValid)
	cf.do(pub(P, signup, `{"name":"Someone","email":"ming@example.com"}`), 200, docValid)
	cf.do(pub(P, signup, `{"name":"Other","email":"other@example.com"}`, "Idempotency-Key", "k1"), 422, docValid)
	second := cf.json(cf.do(pub(P, signup, `{"name":"Ann Lee","email":"ann@example.org"}`), 201, docValid))
	if second["status"] != "waitlisted" {
		t.Fatalf("second %v", second)
	}
	cf.do(pub(P, signup, `{"name":"Ann Lee","email":"ann@example.org"}`), 200, docValid)
	dl := cf.json(cf.do(pub(P, "/api/v1/events/dl/registrations", `{"name":"Reader","email":"reader@example.com"}`), 201, docValid))
	cf.do(pub(P, "/api/v1/events/nowait/registrations", `{"name":"Late","email":"late@example.com"}`), 409, docValid)
	cf.do(pub(P, "/api/v1/events/d/registrations", `{"name":"Draft","email":"draft@example.com"}`), 404, docValid)
	cf.do(pub(P, signup, `{"name":"","email":"x@example.com"}`), 422, docInvalid)
	cf.do(pub(P, signup, `{"name":"Eve\r\nBcc: evil@example.com","email":"eve@example.com"}`), 422, docInvalid)
	cf.do(pub(P, signup, `{"name":"Eve","email":"eve@example.com\r\nBcc: evil@example.com"}`), 422, docInvalid)
	cf.do(pub(P, signup, `{"name":"Eve","email":"x"}`), 422, docInvalid)
	cf.do(pub(P, signup, `{"name":"Eve","email":"eve@example.com","question":"short"}`), 422, docInvalid)
	cf.do(pub(P, signup, `{"name":5,"email":"eve@example.com"}`), 422, docInvalid)
	cf.do(pub(P, signup, `{"name":"`+strings.Repeat("x", 70<<10)+`","email":"big@example.com"}`), 413, docInvalid)
	cf.do(pub(P, signup, `name=x`, "Content-Type", "application/x-www-form-urlencoded"), 415, docInvalid)
	cf.do(pub(P, signup, `{"name":"x"`), 400, docInvalid)
	cf.do(pub(P, signup, ``), 400, docInvalid)
	limited := "192.0.2.77:1"
	cf.do(call{method: P, path: signup, body: `{"name":"R1","email":"r1@example.com"}`, remote: limited}, 201, docValid)
	cf.do(call{method: P, path: signup, body: `{"name":"R2","email":"r2@example.com"}`, remote: limited}, 201, docValid)
	if r := cf.do(call{method: P, path: signup, body: `{"name":"R3","email":"r3@example.com"}`, remote: limited}, 429, docValid); r.h.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}

	// The registrant.
	token := strings.TrimPrefix(first["manage_url"].(string), "http://example.test/r/")
	waitTok := strings.TrimPrefix(second["manage_url"].(string), "http://example.test/r/")
	dlTok := strings.TrimPrefix(dl["manage_url"].(string), "http://example.test/r/")
	reg := "/api/v1/registrations/"
	if own := cf.json(cf.do(pub(G, reg+token, ""), 200, docValid)); own["join_url"] == nil || own["waitlist_position"] != nil {
		t.Errorf("own %v", own)
	}
	if own := cf.json(cf.do(pub(G, reg+waitTok+"?lang=zh-Hans", ""), 200, docValid)); own["waitlist_position"] != float64(1) {
		t.Errorf("waitlisted own %v", own)
	}
	cf.do(pub(G, reg+strings.Repeat("A", 32), ""), 404, docValid)
	cf.do(pub(G, reg+"short", ""), 404, docInvalid)
	cf.do(pub(G, reg+token+"/calendar.ics", ""), 200, docValid)
	cf.do(pub(G, reg+dlTok+"/calendar.ics", ""), 404, docValid)
	cf.do(pub(G, reg+strings.Repeat("B", 32)+"/calendar.ics", ""), 404, docValid)
	cf.do(pub(P, reg+token+"/unsubscribe", ""), 200, docValid)
	cf.do(pub(P, reg+strings.Repeat("A", 32)+"/unsubscribe", ""), 404, docValid)
	cf.do(pub(P, reg+dlTok+"/cancel", "x", "Content-Type", "text/plain"), 415, docInvalid)
	cf.do(pub(P, reg+dlTok+"/cancel", ""), 200, docValid)
	cf.do(pub(P, reg+dlTok+"/cancel", ""), 200, docValid)
	cf.do(pub(P, reg+strings.Repeat("A", 32)+"/cancel", ""), 404, docValid)

	// Organizers.
	ev := "/api/v1/admin/events/"
	cf.do(admin(G, "/api/v1/admin/events", ""), 200, docValid)
	cf.do(admin(G, "/api/v1/admin/events?kind=webinar&lang=zh-Hant", ""), 200, docValid)
	cf.do(admin(G, "/api/v1/admin/events?kind=bogus", ""), 422, docInvalid)
	cf.do(pub(G, "/api/v1/admin/events", ""), 401, docInvalid)
	cf.do(admin(G, ev+"w", ""), 200, docValid)
	cf.do(admin(G, ev+"d", ""), 200, docValid)
	cf.do(admin(G, ev+"nope", ""), 404, docValid)
	cf.do(pub(G, ev+"w", "", "Authorization", "Bearer "+adminToken+"x"), 401, docValid)
	cf.do(admin("PATCH", ev+"w", `{"capacity":3,"location":"Online"}`), 200, docValid)
	cf.do(admin("PATCH", ev+"d", `{"title":"Draft, renamed","capacity":null,"reminders":[]}`), 200, docValid)
	cf.do(admin("PATCH", ev+"w", `{"capacity":-1}`), 422, docInvalid)
	cf.do(admin("PATCH", ev+"w", `{"capacity":0}`), 422, docValid)
	cf.do(admin("PATCH", ev+"w", `{"slug":"dl"}`), 409, docValid)
	cf.do(admin("PATCH", ev+"w", `{"title":`), 400, docInvalid)
	cf.do(admin("PATCH", ev+"nope", `{"title":"x"}`), 404, docValid)
	cf.do(admin("PATCH", ev+"w", `{"title":"x"}`, "Content-Type", "text/plain"), 415, docInvalid)

	regs := cf.json(cf.do(admin(G, ev+"w/registrations?limit=1", ""), 200, docValid))
	cur, _ = regs["next_cursor"].(string)
	cf.do(admin(G, ev+"w/registrations?limit=500&status=confirmed&q=example&cursor="+cur, ""), 200, docValid)
	cf.do(admin(G, ev+"w/registrations", ""), 200, docValid)
	cf.do(admin(G, ev+"w/registrations?status=nope", ""), 422, docInvalid)
	cf.do(admin(G, ev+"w/registrations?limit=501", ""), 422, docInvalid)
	cf.do(admin(G, ev+"w/registrations?cursor=zzz", ""), 422, docValid)
	cf.do(admin(G, ev+"nope/registrations", ""), 404, docValid)
	cf.do(admin(G, ev+"w/registrations.csv", ""), 200, docValid)
	cf.do(admin(G, ev+"w/registrations.csv?status=confirmed&q=%E5%B0%8F", ""), 200, docValid)
	cf.do(admin(G, ev+"w/registrations.csv?status=nope", ""), 422, docInvalid)
	cf.do(admin(G, ev+"nope/registrations.csv", ""), 404, docValid)

	items := regs["items"].([]any)
	id := int64(items[0].(map[string]any)["id"].(float64))
	var cancelledID int64
	for _, it := range cf.json(cf.do(admin(G, ev+"dl/registrations?status=cancelled", ""), 200, docValid))["items"].([]any) {
		cancelledID = int64(it.(map[string]any)["id"].(float64))
	}
	one := fmt.Sprintf("%sw/registrations/%d", ev, id)
	cf.do(admin(P, one+"/check-in", ""), 200, docValid)
	cf.do(admin(P, one+"/check-in", `{"checked_in":false}`), 200, docValid)
	cf.do(admin(P, one+"/check-in", `{"checked_in":"yes"}`), 422, docInvalid)
	cf.do(admin(P, one+"/check-in", `{"checked_in":`), 400, docInvalid)
	cf.do(admin(P, fmt.Sprintf("%sdl/registrations/%d/check-in", ev, cancelledID), ""), 409, docValid)
	cf.do(admin(P, ev+"w/registrations/999999/check-in", ""), 404, docValid)
	cf.do(admin(P, ev+"w/registrations/abc/check-in", ""), 404, docInvalid)
	cf.do(admin(P, one+"/resend", ""), 202, docValid)
	cf.do(admin(P, fmt.Sprintf("%sdl/registrations/%d/resend", ev, cancelledID), ""), 409, docValid)
	cf.do(admin(P, ev+"w/registrations/999999/resend", ""), 404, docValid)
	cf.do(admin(P, one+"/cancel", ""), 200, docValid)
	cf.do(admin(P, one+"/cancel", ""), 200, docValid)
	cf.do(admin(P, ev+"w/registrations/999999/cancel", ""), 404, docValid)
	cf.do(admin(P, one+"/cancel", "x", "Content-Type", "text/plain"), 415, docInvalid)

	cf.do(admin(G, ev+"w/stats", ""), 200, docValid)
	cf.do(admin(G, ev+"d/stats", ""), 200, docValid)
	cf.do(admin(G, ev+"nope/stats", ""), 404, docValid)
	if emails := cf.json(cf.do(admin(G, ev+"w/emails", ""), 200, docValid)); len(emails["items"].([]any)) == 0 {
		t.Errorf("no emails")
	}
	cf.do(admin(G, ev+"w/emails?status=failed&limit=10", ""), 200, docValid)
	cf.do(admin(G, ev+"w/emails?status=bogus", ""), 422, docInvalid)
	cf.do(admin(G, ev+"nope/emails", ""), 404, docValid)
	cf.do(admin(P, ev+"w/emails/retry", ""), 200, docValid)
	cf.do(admin(P, ev+"w/emails/retry", `{"id":1}`), 200, docValid)
	cf.do(admin(P, ev+"w/emails/retry", `{"id":"x"}`), 422, docInvalid)
	cf.do(admin(P, ev+"nope/emails/retry", ""), 404, docValid)

	cf.do(admin(P, ev+"w/cancel", ""), 200, docValid)
	cf.do(admin(P, ev+"w/cancel", ""), 200, docValid)
	cf.do(admin(P, ev+"nope/cancel", ""), 404, docValid)
	cf.do(admin("PATCH", ev+"w", `{"title":"again"}`), 409, docValid)
	cf.do(pub(P, signup, `{"name":"After","email":"after@example.com"}`), 409, docValid)
	cf.do(pub(G, reg+token+"/calendar.ics", ""), 200, docValid)

	// Path tricks answer the document's 404.
	cf.do(pub(G, "/api/v1/events/..%2F..%2Fetc%2Fpasswd", ""), 404, docInvalid)
	cf.do(pub(G, "/api/v1/registrations/%00", ""), 404, docInvalid)

	// Every /api route of the router is in the document, and every
	// operation of the document was exercised above.
	doc, _ := openapi3.NewLoader().LoadFromData(openapiJSON)
	for _, rt := range env.srv.engine.Routes() {
		if !strings.HasPrefix(rt.Path, "/api/") {
			continue
		}
		p := rt.Path
		for _, seg := range strings.Split(p, "/") {
			if strings.HasPrefix(seg, ":") {
				p = strings.Replace(p, seg, "{"+seg[1:]+"}", 1)
			}
		}
		item := doc.Paths.Value(p)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("route %s %s is not in the OpenAPI document", rt.Method, p)
		}
	}
	var missed []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !cf.ops[op.OperationID] {
				missed = append(missed, method+" "+path)
			}
		}
	}
	slices.Sort(missed)
	if len(missed) > 0 {
		t.Errorf("operations never exercised: %v", missed)
	}
}
