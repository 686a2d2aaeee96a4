package api

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's chromium through the pages where a person
// clicks. Without chromium they are skipped, except in CI, where they must run.
const chromiumPath = "/usr/bin/chromium"

type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	env  *pageEnv

	mu       sync.Mutex
	problems []string // CSP violations and errors the console reported
}

func newBrowser(t *testing.T, width, height int64, mobile bool) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium not found at %s: %v", chromiumPath, err)
		}
		t.Skipf("chromium not found at %s", chromiumPath)
	}
	env := newPageEnv(t, Config{})
	loadBrowserEvents(env)
	ts := httptest.NewServer(env.srv)
	t.Cleanup(ts.Close)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(int(width), int(height)),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })

	b := &browser{t: t, ctx: ctx, base: ts.URL, env: env}
	viewport := []chromedp.EmulateViewportOption{}
	if mobile {
		viewport = append(viewport, chromedp.EmulateMobile)
	}
	b.do(chromedp.EmulateViewport(width, height, viewport...))
	// Errors in the console (a CSP violation is one) fail the test.
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			// A 4xx page is logged as a failed load ("network"); the
			// pages answer 422 and 409 on purpose.
			if (m.Type == chromedp.ConsoleError && m.Source != "network") || m.IsException() {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancelTimeout()
		<-done
		b.checkConsole()
	})
	return b
}

// loadBrowserEvents are the portal's box, at the test clock's time.
func loadBrowserEvents(env *pageEnv) {
	day := 24 * time.Hour
	env.event(map[string]any{"slug": "murata-ar-vr", "kind": "online_conference", "organizer": "村田製作所 Murata",
		"title": "【在線會議】村田用於AR/VR設計開發解決方案", "summary": "AR/VR 設計開發的元件與模組解決方案，線上發表與問答。",
		"registration_closes_at": at(6*day + 10*time.Hour), "capacity": 500, "join_url": "https://example.com/live/murata"})
	env.event(map[string]any{"slug": "allegro-ev-chassis", "kind": "webinar", "organizer": "Allegro MicroSystems",
		"title": "Allegro助力汽車電氣化和底盤解決方案優化在線研討會", "summary": "電流感測、馬達驅動與底盤系統的最新方案。",
		"description": "汽車電氣化帶來新的設計挑戰。本次研討會介紹 Allegro 的電流感測器與馬達驅動器，\n以及它們在底盤系統中的應用。\n\n講者：Allegro 應用工程團隊。會後設有問答環節。",
		"starts_at":   "2026-01-08T14:00:00+08:00", "ends_at": "2026-01-08T16:00:00+08:00", "capacity": 20,
		"location": "", "join_url": "https://example.com/webinar/allegro"})
	env.event(map[string]any{"slug": "ofweek-2025-cio-summit", "kind": "online_summit", "organizer": "OFweek 維科網",
		"title": "OFweek2025中國智造CIO在線峰會", "summary": "製造業 CIO 談數位轉型與智慧工廠。", "registration_closes_at": at(13 * day)})
	env.event(map[string]any{"slug": "onsemi-treo", "kind": "offer", "organizer": "安森美 onsemi",
		"title": "【限時免費】安森美:Treo 平臺帶來出色的精密模擬", "summary": "限時免費索取 Treo 平臺評估資料。", "registration_closes_at": at(23 * day)})
	env.event(map[string]any{"slug": "bluebook-2024", "kind": "download", "organizer": "OFweek 維科網",
		"title": "《2024智能製造產業高端化、智能化、綠色化發展藍皮書》", "summary": "智能製造產業發展藍皮書，免費下載。",
		"registration_closes_at": "2026-08-01T23:00:00+08:00", "download_url": "https://example.com/bluebook.pdf"})
	env.event(map[string]any{"slug": "ofweek-2024-iot", "kind": "in_person", "organizer": "OFweek 維科網",
		"title": "【線下會議】OFweek 2024(第九屆)物聯網產業大會", "summary": "第九屆物聯網產業大會，精彩回顧已上線。",
		"registration_opens_at": at(-100 * day), "starts_at": at(-40 * day), "ends_at": at(-40*day + 9*time.Hour),
		"location": "深圳會展中心", "replay_url": "https://example.com/replay/iot"})
	for i := range 17 {
		env.signup("allegro-ev-chassis", "示範參加者", "attendee"+string(rune('a'+i))+"@example.com")
	}
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

func run[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

func (b *browser) checkConsole() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("browser console: %s", p)
	}
}

// screenshot saves a full-page PNG: into docs/screenshots with
// UPDATE_SCREENSHOTS=1, else into the test's temporary directory.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png := run(b, chromedp.FullScreenshot(100))
	dir := b.t.TempDir()
	if os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		dir = filepath.Join("..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(run(b, chromedp.Text(chromedp.CSS(sel))))
}

func (b *browser) value(sel string) string {
	b.t.Helper()
	return run(b, chromedp.Value(chromedp.CSS(sel)))
}

func (b *browser) path() string {
	b.t.Helper()
	u, err := url.Parse(run(b, chromedp.Location()))
	if err != nil {
		b.t.Fatal(err)
	}
	return u.Path
}

func TestBrowserSignupAndCancel(t *testing.T) {
	b := newBrowser(t, 1280, 900, false)

	// The box, in traditional Chinese.
	b.do(chromedp.Navigate(b.base+"/?lang=zh-Hant"), chromedp.WaitVisible(chromedp.CSS(".box")))
	rows := run(b, chromedp.Evaluate[int](`document.querySelectorAll(".box .row").length`))
	if rows != 6 {
		t.Errorf("%d rows in the box", rows)
	}
	if got := b.text(`.pill[href="/events/allegro-ev-chassis"]`); got != "火熱報名中" {
		t.Errorf("second CTA %q", got)
	}
	// The stylesheet is applied (no CSP trouble): the filling-fast pill is not transparent.
	bg := run(b, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".pill-hot")).backgroundImage`))
	if !strings.Contains(bg, "gradient") {
		t.Errorf("pill background %q: stylesheet not applied", bg)
	}
	b.screenshot("list-zh-Hant")

	// Open the event.
	b.do(chromedp.Click(chromedp.CSS(`a[href="/events/allegro-ev-chassis"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("#f-name")))
	if h := b.text("h1"); !strings.Contains(h, "Allegro") {
		t.Errorf("event title %q", h)
	}
	// The honeypot is off screen.
	hpLeft := run(b, chromedp.Evaluate[float64](`document.getElementById("f-website").getBoundingClientRect().right`))
	if hpLeft > 0 {
		t.Errorf("honeypot visible at x=%v", hpLeft)
	}

	// A bad form: no name, a broken address; the company in Chinese is kept.
	b.do(chromedp.SendKeys(chromedp.CSS("#f-email"), "not-an-email"),
		chromedp.SendKeys(chromedp.CSS("#f-company"), "維科網 OFweek"),
		chromedp.SendKeys(chromedp.CSS("#f-question"), "太短"),
		chromedp.Click(chromedp.CSS(`form.signup button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#f-name-error")))
	if got := b.text("#f-name-error"); !strings.Contains(got, "請填寫姓名") {
		t.Errorf("name error %q", got)
	}
	if got := b.text("#f-email-error"); !strings.Contains(got, "電子郵件") {
		t.Errorf("email error %q", got)
	}
	if got := b.value("#f-company"); got != "維科網 OFweek" {
		t.Errorf("company kept as %q", got)
	}
	if got := b.value("#f-question"); got != "太短" {
		t.Errorf("question kept as %q", got)
	}
	if invalid := run(b, chromedp.AttributeValue(chromedp.CSS("#f-name"), "aria-invalid")); invalid.Value != "true" {
		t.Errorf("aria-invalid %+v", invalid)
	}
	b.screenshot("event-form-errors")

	// A good form.
	b.do(chromedp.SendKeys(chromedp.CSS("#f-name"), "王小明"),
		chromedp.SetValue(chromedp.CSS("#f-email"), "ming@example.com"),
		chromedp.SetValue(chromedp.CSS("#f-question"), "請問支援哪些車規等級？"),
		chromedp.Click(chromedp.CSS("#f-consent")),
		chromedp.Click(chromedp.CSS(`form.signup button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".reg-status")))
	if p := b.path(); !strings.HasPrefix(p, "/r/") {
		t.Fatalf("after signing up at %s", p)
	}
	if h := b.text("#reg-h"); h != "報名成功" {
		t.Errorf("registrant heading %q", h)
	}
	if got := b.text(".reg-grid"); !strings.Contains(got, "王小明") || !strings.Contains(got, "UTC+08:00") {
		t.Errorf("registrant page %q", got)
	}
	b.screenshot("registrant")

	// Cancel, through the question.
	b.do(chromedp.Click(chromedp.CSS(`button.danger`)), chromedp.WaitVisible(chromedp.CSS("#cancel-h")))
	if h := b.text("#cancel-h"); h != "確定要取消嗎？" {
		t.Errorf("confirmation heading %q", h)
	}
	b.screenshot("cancel-confirm")
	b.do(chromedp.Click(chromedp.CSS(`form button.danger`)), chromedp.WaitVisible(chromedp.CSS(".reg-status")))
	if h := b.text("#reg-h"); h != "您的報名已取消" {
		t.Errorf("after cancelling: %q", h)
	}
	if !strings.HasPrefix(b.path(), "/r/") {
		t.Errorf("after cancelling at %s", b.path())
	}
	b.screenshot("registrant-cancelled")
	if n := b.env.eventBySlug("allegro-ev-chassis").Confirmed; n != 17 {
		t.Errorf("confirmed %d after cancelling, want 17", n)
	}
}

func TestBrowserEnglishList(t *testing.T) {
	b := newBrowser(t, 1280, 900, false)
	b.do(chromedp.Navigate(b.base+"/?lang=en"), chromedp.WaitVisible(chromedp.CSS(".box")))
	if got := b.text(`.pill[href="/events/allegro-ev-chassis"]`); got != "Filling fast" {
		t.Errorf("second CTA %q", got)
	}
	// The language switcher, by keyboard: the skip link comes first.
	b.do(chromedp.KeyEvent("\t"))
	focused := run(b, chromedp.Evaluate[string](`document.activeElement.className`))
	if focused != "skip" {
		t.Errorf("first tab stop %q, want the skip link", focused)
	}
	b.do(chromedp.Click(chromedp.CSS(`.langs a[lang="zh-Hans"]`)), chromedp.WaitVisible(chromedp.CSS(".box")))
	if got := b.text("h1"); got != "最新活动" {
		t.Errorf("after switching: %q", got)
	}
	b.do(chromedp.Navigate(b.base+"/?lang=en"), chromedp.WaitVisible(chromedp.CSS(".box")))
	b.screenshot("list-en")
}

func TestBrowserPhone(t *testing.T) {
	b := newBrowser(t, 390, 844, true)
	b.do(chromedp.Navigate(b.base+"/events/allegro-ev-chassis?lang=zh-Hant"), chromedp.WaitVisible(chromedp.CSS("#f-name")))
	// Nothing wider than the screen.
	width := run(b, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if width > 390 {
		t.Errorf("page is %dpx wide on a 390px phone", width)
	}
	b.screenshot("event-phone")
	b.do(chromedp.Navigate(b.base+"/?lang=zh-Hant"), chromedp.WaitVisible(chromedp.CSS(".box")))
	width = run(b, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if width > 390 {
		t.Errorf("list is %dpx wide on a 390px phone", width)
	}
	b.screenshot("list-phone")
}
