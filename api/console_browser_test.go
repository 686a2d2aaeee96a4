package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"eventreg/registration"
)

const consoleChromium = "/usr/bin/chromium"

// consoleBrowser starts Debian's chromium headless, in a profile of its own.
// Without chromium the test is skipped, except in CI, where it must run.
func consoleBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(consoleChromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required in CI: %v", err)
		}
		t.Skipf("no %s: %v", consoleChromium, err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(consoleChromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("lang", "en-US"), chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// consoleShot saves a full-page screenshot to docs/screenshots when
// UPDATE_SCREENSHOTS=1; otherwise it still takes it, so a page that cannot be
// drawn fails the test.
func consoleShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if os.Getenv("UPDATE_SCREENSHOTS") != "1" {
		return
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "console-"+name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func consoleDo(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// submit clicks a button that sends a form and waits for the page it leads to.
func consoleSubmit(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("submit %s: %v", sel, err)
	}
	if resp != nil && resp.Status >= 500 {
		t.Fatalf("submit %s: %d", sel, resp.Status)
	}
}

func consoleText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func TestConsoleBrowser(t *testing.T) {
	env := newAPIEnv(t, Config{})
	// The browser keeps cookies by the real clock.
	now := time.Now().UTC().Truncate(time.Minute)
	env.clock.Set(now)
	ts := httptest.NewServer(env.srv)
	t.Cleanup(ts.Close)
	ctx := consoleBrowser(t)
	shanghai, _ := time.LoadLocation("Asia/Shanghai")

	// Other events, for the list.
	env.createEvent(fmt.Sprintf(`{"slug":"allegro-ev","kind":"webinar","title":"Allegro助力汽车电气化和底盘解决方案优化在线研讨会","organizer":"Allegro","timezone":"Asia/Shanghai","capacity":200,"starts_at":%q,"state":"published"}`,
		now.Add(9*24*time.Hour).Format(time.RFC3339)))
	env.createEvent(fmt.Sprintf(`{"slug":"bluebook-2026","kind":"download","title":"《2026智能制造产业发展蓝皮书》","timezone":"Asia/Shanghai","download_url":"https://files.example.com/b.pdf","registration_closes_at":%q,"state":"published"}`,
		now.Add(200*24*time.Hour).Format(time.RFC3339)))
	env.createEvent(`{"slug":"iot-2025","kind":"in_person","title":"OFweek 2025 物联网产业大会","timezone":"Asia/Shanghai","state":"draft"}`)

	// Signing in: any console address leads to the form, and back.
	consoleDo(t, ctx, chromedp.Navigate(ts.URL+"/admin/events?lang=en"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "/admin/login?next=") {
		t.Fatalf("not sent to sign in: %s", loc)
	}
	consoleDo(t, ctx, chromedp.SendKeys(chromedp.ID("token"), "wrong-token"))
	consoleSubmit(t, ctx, "form.stack button[type=submit]")
	if s := consoleText(t, ctx, "p.alert"); !strings.Contains(s, "not valid") {
		t.Errorf("bad token: %q", s)
	}
	consoleShot(t, ctx, "login")
	consoleDo(t, ctx, chromedp.SendKeys(chromedp.ID("token"), adminToken))
	consoleSubmit(t, ctx, "form.stack button[type=submit]")
	if h := consoleText(t, ctx, "h1"); h != "Events" {
		t.Fatalf("after sign-in: %q", h)
	}
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{ts.URL + "/admin/events"}})
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == consoleSessionCookie {
			session = c
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict || session.Path != "/admin" || session.Session {
		t.Fatalf("session cookie in the browser: %+v", session)
	}

	// Create an event; a first try with a mistake shows it beside the field.
	consoleDo(t, ctx, chromedp.Navigate(ts.URL+"/admin/events/new"), chromedp.WaitVisible(chromedp.ID("f-title")))
	opens := now.Add(-7 * 24 * time.Hour).In(shanghai)
	starts := now.Add(3 * 24 * time.Hour).In(shanghai)
	starts = time.Date(starts.Year(), starts.Month(), starts.Day(), 14, 0, 0, 0, shanghai)
	consoleDo(t, ctx,
		chromedp.SendKeys(chromedp.ID("f-title"), "OFweek 2026 中国智造CIO在线峰会"),
		chromedp.SetValue(chromedp.ID("f-kind"), "online_summit"),
		chromedp.SendKeys(chromedp.ID("f-organizer"), "OFweek"),
		chromedp.SendKeys(chromedp.ID("f-summary"), "制造业数字化转型的实践与展望"),
		chromedp.SetValue(chromedp.ID("f-timezone"), "Asia/Shanghai"),
		chromedp.SetValue(chromedp.ID("f-starts_at"), starts.Format("2006-01-02T15:04")),
		chromedp.SetValue(chromedp.ID("f-ends_at"), starts.Add(3*time.Hour).Format("2006-01-02T15:04")),
		chromedp.SetValue(chromedp.ID("f-registration_opens_at"), opens.Format("2006-01-02T15:04")),
		chromedp.SendKeys(chromedp.ID("f-capacity"), "3"),
		chromedp.SendKeys(chromedp.ID("f-join_url"), "meet.example.com/cio"),
		chromedp.SetValue(chromedp.ID("f-reminders"), "24h, 1h, 1m"),
	)
	consoleSubmit(t, ctx, "form.eventform button[type=submit]")
	if s := consoleText(t, ctx, "#e-join_url"); !strings.Contains(s, "https://") {
		t.Errorf("join_url error: %q", s)
	}
	if s := consoleText(t, ctx, "#e-reminders"); s == "" {
		t.Error("no reminders error")
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("f-title"))); v != "OFweek 2026 中国智造CIO在线峰会" {
		t.Errorf("title not kept: %q", v)
	}
	consoleShot(t, ctx, "form-errors")
	consoleDo(t, ctx,
		chromedp.SetValue(chromedp.ID("f-join_url"), "https://meet.example.com/cio"),
		chromedp.SetValue(chromedp.ID("f-reminders"), "24h, 1h"),
		chromedp.SetValue(chromedp.ID("f-slug"), "cio-summit"),
	)
	consoleSubmit(t, ctx, "form.eventform button[type=submit]")
	if s := consoleText(t, ctx, "p.notice"); s != "The event is created." {
		t.Fatalf("after create: %q", s)
	}
	e := env.event("cio-summit")
	if !e.StartsAt.Equal(starts) || e.Kind != "online_summit" || *e.Capacity != 3 {
		t.Errorf("created %+v", e)
	}
	consoleSubmit(t, ctx, `form[action="/admin/events/cio-summit/publish"] button`)
	if s := consoleText(t, ctx, "p.notice"); s != "The event is published." {
		t.Fatalf("after publish: %q", s)
	}

	// Sign-ups arrive through the public API, over a few days.
	people := []struct{ name, email, company string }{
		{"王小明", "ming@example.cn", "华为"}, {"Ann Lee", "ann@example.com", "Murata"}, {"陳美玲", "mei@example.tw", "台積電"},
		{"Bob Stone", "bob@example.com", ""}, {"李华", "hua@example.cn", "海尔"},
	}
	for i, p := range people {
		env.clock.Set(now.Add(time.Duration(i-4) * 24 * time.Hour))
		r := env.do("POST", "/api/v1/events/cio-summit/registrations", fmt.Sprintf(`{"name":%q,"email":%q,"company":%q}`, p.name, p.email, p.company))
		if r.code != 201 {
			t.Fatalf("sign-up: %d %s", r.code, r.body)
		}
	}
	env.clock.Set(now)
	consoleDo(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("signups")))
	if s := consoleText(t, ctx, "#h-signups"); !strings.Contains(s, "(5)") {
		t.Errorf("sign-ups heading %q", s)
	}
	if s := consoleText(t, ctx, "#signups tbody"); !strings.Contains(s, "王小明") || !strings.Contains(s, "Waitlisted") {
		t.Errorf("sign-ups table %q", s)
	}

	// Check someone in.
	ming := env.regID("cio-summit", "ming@")
	consoleSubmit(t, ctx, fmt.Sprintf("#r%d form[action$=check-in] button", ming))
	if s := consoleText(t, ctx, "p.notice"); s != "Checked in." {
		t.Errorf("after check-in: %q", s)
	}
	if s := consoleText(t, ctx, fmt.Sprintf("#r%d", ming)); !strings.Contains(s, "✓") || !strings.Contains(s, "Undo") {
		t.Errorf("row after check-in: %q", s)
	}
	if c, _ := env.svc.EventCounts(context.Background(), env.event("cio-summit")); c.CheckedIn != 1 {
		t.Errorf("checked in %d", c.CheckedIn)
	}
	// Some mail out, one failed, for the email log.
	if _, err := env.svc.NewWorker(okMailer{}, time.Second, slog.New(slog.DiscardHandler)).RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	bob := env.regID("cio-summit", "bob@")
	if _, err := env.svc.Resend(context.Background(), "cio-summit", bob); err != nil {
		t.Fatal(err)
	}
	if _, err := env.svc.NewWorker(failingMailer{}, time.Second, slog.New(slog.DiscardHandler)).RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	consoleDo(t, ctx, chromedp.Navigate(ts.URL+"/admin/events/cio-summit"), chromedp.WaitVisible(chromedp.ID("emails")))
	if s := consoleText(t, ctx, "#emails"); !strings.Contains(s, "550 mailbox unavailable") {
		t.Errorf("email log %q", s)
	}
	consoleShot(t, ctx, "event")

	// The CSV link, fetched with the browser's session.
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`a[href$="registrations.csv"]`), "href"))
	if err != nil || !href.Exists {
		t.Fatalf("csv link: %v", err)
	}
	req, _ := http.NewRequest("GET", ts.URL+href.Value, nil)
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
	if res.StatusCode != 200 || !bytes.HasPrefix(body, []byte("\ufeff")) || err != nil || len(recs) != 6 || recs[1][2] != "王小明" || recs[1][13] == "" {
		t.Errorf("csv %d %v %v", res.StatusCode, err, recs)
	}
	// …and not without it.
	res, err = http.Get(ts.URL + href.Value)
	if err == nil {
		res.Body.Close()
		if res.Request.URL.Path != "/admin/login" {
			t.Errorf("csv without a session ends at %s", res.Request.URL)
		}
	}

	// The other pages, for the screenshots and the record.
	consoleDo(t, ctx, chromedp.Navigate(ts.URL+"/admin/events"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	if s := consoleText(t, ctx, "table.list"); !strings.Contains(s, "OFweek 2026 中国智造CIO在线峰会") || !strings.Contains(s, "3 / 3") {
		t.Errorf("events table %q", s)
	}
	consoleShot(t, ctx, "events")
	consoleDo(t, ctx, chromedp.Navigate(ts.URL+"/admin/events/cio-summit/cancel"), chromedp.WaitVisible(chromedp.CSS("p.alert")))
	if s := consoleText(t, ctx, "p.alert"); !strings.Contains(s, "5 people will be emailed") {
		t.Errorf("cancel confirmation %q", s)
	}
	consoleShot(t, ctx, "cancel")
	consoleDo(t, ctx, chromedp.Navigate(ts.URL+"/admin/events/cio-summit?lang=zh-Hans"), chromedp.WaitVisible(chromedp.ID("signups")))
	if s := consoleText(t, ctx, "#h-signups"); !strings.Contains(s, "报名名单") {
		t.Errorf("zh-Hans heading %q", s)
	}
	consoleShot(t, ctx, "event-zh-hans")
	consoleDo(t, ctx, chromedp.Navigate(ts.URL+"/admin/events/cio-summit/edit?lang=zh-Hant"), chromedp.WaitVisible(chromedp.ID("f-title")))
	consoleShot(t, ctx, "edit-zh-hant")
	consoleDo(t, ctx, chromedp.Navigate(ts.URL+"/admin/events?lang=en"), chromedp.WaitVisible(chromedp.CSS("table.list")))

	// Sign out: the session is gone from the browser, and the console with it.
	consoleSubmit(t, ctx, "form.signout button")
	if s := consoleText(t, ctx, "p.notice"); s != "You are signed out." {
		t.Errorf("after sign-out: %q", s)
	}
	consoleDo(t, ctx, chromedp.Navigate(ts.URL+"/admin/events/cio-summit"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "/admin/login?next=%2Fadmin%2Fevents%2Fcio-summit") {
		t.Errorf("after sign-out, the console is at %s", loc)
	}
	if e := env.event("cio-summit"); e.State != registration.StatePublished {
		t.Errorf("state %s", e.State)
	}
}
