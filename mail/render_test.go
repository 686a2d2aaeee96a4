package mail

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"eventreg/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fixture is a message as the outbox would hand it over: an English
// registrant of an event in New York, a Chinese one of an event in Shanghai,
// both at 14:00 local time on Thu, Jan 8, 2026.
func fixture(kind Kind, locale string) Message {
	tz, name := "America/New_York", "Ann Lee"
	if strings.HasPrefix(locale, "zh") {
		tz, name = "Asia/Shanghai", "王小明"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		panic(err)
	}
	start := time.Date(2026, 1, 8, 14, 0, 0, 0, loc)
	end := start.Add(90 * time.Minute)
	m := Message{
		ID:     string(kind) + ".0123456789abcdef01234567@events.example.com",
		Kind:   kind,
		From:   "Allegro Events <no-reply@events.example.com>",
		To:     "ann@example.org",
		ToName: name,
		Locale: locale,
		CalUID: "registration-42@events.example.com",
		Event: Event{
			Slug:      "allegro-chassis",
			Kind:      "webinar",
			Title:     "Allegro: electrification and chassis solutions",
			Organizer: "Allegro MicroSystems",
			Summary:   "How to optimise vehicle electrification and chassis designs.",
			Timezone:  tz,
			StartsAt:  &start,
			EndsAt:    &end,
			Sequence:  1,
		},
		Links: Links{
			Manage:   "https://events.example.com/r/tok123",
			Join:     "https://events.example.com/j/tok123",
			Calendar: "https://events.example.com/api/v1/registrations/tok123/calendar.ics",
			Event:    "https://events.example.com/events/allegro-chassis",
		},
		Status:    "confirmed",
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	switch kind {
	case KindWaitlisted:
		m.Status, m.Position = "waitlisted", 3
	case KindCancelled:
		m.Status = "cancelled"
	case KindEventCancelled:
		m.Event.Cancelled, m.Event.Sequence = true, 2
	case KindEventUpdated:
		m.Event.Sequence = 2
	case KindReminder:
		m.Offset = time.Hour
	}
	if !kind.Transactional() {
		m.Links.Unsubscribe = "https://events.example.com/u/tok123"
	}
	return m
}

// variants are the golden cases: every kind in its usual form, and the
// forms whose wording differs.
func variants() []struct {
	name string
	msg  func(locale string) Message
} {
	type variant = struct {
		name string
		msg  func(locale string) Message
	}
	var vs []variant
	for _, k := range Kinds {
		vs = append(vs, variant{string(k), func(l string) Message { return fixture(k, l) }})
	}
	vs = append(vs,
		variant{"confirmation-download", func(l string) Message {
			m := fixture(KindConfirmation, l)
			m.Event.Kind, m.Event.Title, m.Event.StartsAt, m.Event.EndsAt = "download", "2024 Smart Manufacturing Blue Book", nil, nil
			return m
		}},
		variant{"confirmation-in_person", func(l string) Message {
			m := fixture(KindConfirmation, l)
			m.Event.Kind, m.Event.Location = "in_person", "Shenzhen Convention Center, Hall 9"
			return m
		}},
		variant{"reminder-24h", func(l string) Message {
			m := fixture(KindReminder, l)
			m.Offset = 24 * time.Hour
			return m
		}},
		variant{"replay-joined", func(l string) Message {
			m := fixture(KindReplay, l)
			m.Joined = true
			return m
		}},
	)
	return vs
}

func TestRenderGolden(t *testing.T) {
	for _, v := range variants() {
		for _, locale := range templates.Locales {
			t.Run(v.name+"."+locale, func(t *testing.T) {
				m := v.msg(locale)
				r, err := Render(m)
				if err != nil {
					t.Fatal(err)
				}
				base := filepath.Join("testdata", "golden", v.name+"."+locale)
				golden(t, base+".txt", "Subject: "+r.Subject+"\n\n"+r.Text)
				golden(t, base+".html", r.HTML)
				if !strings.Contains(r.Subject, m.Event.Title) {
					t.Errorf("subject %q does not name the event", r.Subject)
				}
			})
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./mail -run Golden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendered message (run with -update if the change is intended):\n--- got ---\n%s", path, got)
	}
}

func TestRenderSaysTimeWithOffset(t *testing.T) {
	want := map[string]string{
		"en":      "Thu, Jan 8, 2026 14:00–15:30 (America/New_York, UTC-05:00)",
		"zh-Hans": "2026年1月8日 星期四 14:00–15:30（Asia/Shanghai，UTC+08:00）",
		"zh-Hant": "2026年1月8日 星期四 14:00–15:30（Asia/Shanghai，UTC+08:00）",
	}
	for _, k := range Kinds {
		if k == KindReplay {
			continue // after the event, the time is history
		}
		for _, locale := range templates.Locales {
			r, err := Render(fixture(k, locale))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.Text, want[locale]) {
				t.Errorf("%s.%s text lacks %q:\n%s", k, locale, want[locale], r.Text)
			}
			// html/template writes '+' as a character reference.
			if html := strings.ReplaceAll(want[locale], "+", "&#43;"); !strings.Contains(r.HTML, html) {
				t.Errorf("%s.%s HTML lacks %q", k, locale, html)
			}
		}
	}
}

func TestFormatWhen(t *testing.T) {
	at := func(tz string, y int, mo time.Month, d, h, mi int) time.Time {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(y, mo, d, h, mi, 0, 0, loc)
	}
	ptr := func(t time.Time) *time.Time { return &t }
	ny := "America/New_York"
	tests := []struct {
		name, locale, tz string
		start            time.Time
		end              *time.Time
		want             string
	}{
		{"winter", "en", ny, at(ny, 2026, 1, 8, 14, 0), nil,
			"Thu, Jan 8, 2026 14:00 (America/New_York, UTC-05:00)"},
		{"summer time", "en", ny, at(ny, 2026, 7, 9, 14, 0), nil,
			"Thu, Jul 9, 2026 14:00 (America/New_York, UTC-04:00)"},
		{"shown in the event's zone, not the instant's", "en", ny, at("Asia/Shanghai", 2026, 1, 9, 3, 0), nil,
			"Thu, Jan 8, 2026 14:00 (America/New_York, UTC-05:00)"},
		{"simplified", "zh-Hans", "Asia/Shanghai", at("UTC", 2026, 1, 8, 6, 0), nil,
			"2026年1月8日 星期四 14:00（Asia/Shanghai，UTC+08:00）"},
		{"traditional", "zh-Hant", "Asia/Taipei", at("UTC", 2026, 1, 11, 6, 0), nil,
			"2026年1月11日 星期日 14:00（Asia/Taipei，UTC+08:00）"},
		{"half-hour offset", "en", "Asia/Kolkata", at("UTC", 2026, 1, 8, 8, 30), nil,
			"Thu, Jan 8, 2026 14:00 (Asia/Kolkata, UTC+05:30)"},
		{"no zone", "en", "", at("UTC", 2026, 1, 8, 14, 0), nil,
			"Thu, Jan 8, 2026 14:00 (UTC, UTC+00:00)"},
		{"unknown zone falls back to UTC", "en", "Mars/Olympus", at("UTC", 2026, 1, 8, 14, 0), nil,
			"Thu, Jan 8, 2026 14:00 (UTC, UTC+00:00)"},
		{"same day", "en", ny, at(ny, 2026, 1, 8, 14, 0), ptr(at(ny, 2026, 1, 8, 15, 30)),
			"Thu, Jan 8, 2026 14:00–15:30 (America/New_York, UTC-05:00)"},
		{"next day", "zh-Hans", "Asia/Shanghai", at("Asia/Shanghai", 2026, 1, 8, 9, 0), ptr(at("Asia/Shanghai", 2026, 1, 9, 17, 0)),
			"2026年1月8日 星期四 09:00（Asia/Shanghai，UTC+08:00） 至 2026年1月9日 星期五 17:00（Asia/Shanghai，UTC+08:00）"},
		{"across the switch to summer time", "en", ny, at(ny, 2026, 3, 8, 1, 30), ptr(at(ny, 2026, 3, 8, 3, 30)),
			"Sun, Mar 8, 2026 01:30 (America/New_York, UTC-05:00) – Sun, Mar 8, 2026 03:30 (America/New_York, UTC-04:00)"},
		{"end before start is ignored", "en", ny, at(ny, 2026, 1, 8, 14, 0), ptr(at(ny, 2026, 1, 8, 13, 0)),
			"Thu, Jan 8, 2026 14:00 (America/New_York, UTC-05:00)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatWhen(tt.locale, tt.tz, tt.start, tt.end); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestFormatOffset(t *testing.T) {
	tests := []struct {
		d            time.Duration
		en, zh, zhTW string
	}{
		{5 * time.Minute, "5 minutes", "5分钟", "5分鐘"},
		{time.Minute, "1 minute", "1分钟", "1分鐘"},
		{time.Hour, "1 hour", "1小时", "1小時"},
		{90 * time.Minute, "1 hour 30 minutes", "1小时30分钟", "1小時30分鐘"},
		{24 * time.Hour, "24 hours", "24小时", "24小時"},
		{48 * time.Hour, "2 days", "2天", "2天"},
		{30 * 24 * time.Hour, "30 days", "30天", "30天"},
		{49 * time.Hour, "49 hours", "49小时", "49小時"},
	}
	for _, tt := range tests {
		for locale, want := range map[string]string{"en": tt.en, "zh-Hans": tt.zh, "zh-Hant": tt.zhTW} {
			if got := formatOffset(locale, tt.d); got != want {
				t.Errorf("formatOffset(%s, %v) = %q, want %q", locale, tt.d, got, want)
			}
		}
	}
}

func TestRenderReminderOffset(t *testing.T) {
	for _, tt := range []struct {
		offset time.Duration
		want   string
	}{{time.Hour, "Reminder: Allegro: electrification and chassis solutions starts in 1 hour"},
		{24 * time.Hour, "Reminder: Allegro: electrification and chassis solutions starts in 24 hours"},
		{0, "Starting soon: Allegro: electrification and chassis solutions"}} {
		m := fixture(KindReminder, "en")
		m.Offset = tt.offset
		r, err := Render(m)
		if err != nil {
			t.Fatal(err)
		}
		if r.Subject != tt.want {
			t.Errorf("offset %v: subject %q, want %q", tt.offset, r.Subject, tt.want)
		}
	}
}

func TestRenderReplayWording(t *testing.T) {
	for _, locale := range templates.Locales {
		joined, missed := fixture(KindReplay, locale), fixture(KindReplay, locale)
		joined.Joined = true
		rj, err := Render(joined)
		if err != nil {
			t.Fatal(err)
		}
		rm, err := Render(missed)
		if err != nil {
			t.Fatal(err)
		}
		if rj.Subject == rm.Subject {
			t.Errorf("%s: same subject whether joined or not: %q", locale, rj.Subject)
		}
		for _, tc := range []struct {
			r    *Rendered
			want string
		}{{rj, "email.replay.intro.joined"}, {rm, "email.replay.intro.missed"}} {
			intro := templates.T(locale, tc.want, joined.Event.Title)
			if !strings.Contains(tc.r.Text, intro) {
				t.Errorf("%s: text lacks %q", locale, intro)
			}
			if !strings.Contains(tc.r.Text, joined.Links.Join) {
				t.Errorf("%s: text lacks the replay link", locale)
			}
		}
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	m := fixture(KindConfirmation, "en")
	m.Event.Title = `<script>alert("title")</script>`
	m.ToName = `<img src=x onerror=alert(1)>`
	m.Event.Organizer = `<b>Org</b>`
	m.Links.Manage = `javascript:alert(1)`
	r, err := Render(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<img", "<b>", "javascript:"} {
		if strings.Contains(r.HTML, bad) {
			t.Errorf("HTML contains %q unescaped", bad)
		}
	}
	if !strings.Contains(r.HTML, "&lt;script&gt;") {
		t.Error("HTML lacks the escaped title")
	}
	if !strings.Contains(r.Text, m.Event.Title) || !strings.Contains(r.Subject, m.Event.Title) {
		t.Error("text and subject should carry the title as it is")
	}
}

func TestRenderCalendarByKind(t *testing.T) {
	want := map[Kind]string{
		KindConfirmation: "REQUEST", KindPromoted: "REQUEST", KindEventUpdated: "REQUEST",
		KindCancelled: "CANCEL", KindEventCancelled: "CANCEL",
		KindWaitlisted: "", KindReminder: "", KindReplay: "",
	}
	for _, k := range Kinds {
		r, err := Render(fixture(k, "en"))
		if err != nil {
			t.Fatal(err)
		}
		if r.ICSMethod != want[k] || (r.ICS == nil) != (want[k] == "") {
			t.Errorf("%s: ICS method %q (%d bytes), want %q", k, r.ICSMethod, len(r.ICS), want[k])
		}
		if r.ICS != nil && !strings.Contains(string(r.ICS), "METHOD:"+want[k]+"\r\n") {
			t.Errorf("%s: calendar file says another method:\n%s", k, r.ICS)
		}
	}

	m := fixture(KindConfirmation, "en")
	m.Event.Kind, m.Event.StartsAt, m.Event.EndsAt = "download", nil, nil
	r, err := Render(m)
	if err != nil {
		t.Fatal(err)
	}
	if r.ICS != nil || r.ICSMethod != "" {
		t.Error("a message about an event without a time carries a calendar file")
	}
	if !strings.Contains(r.Text, "Download now: "+m.Links.Join) {
		t.Errorf("download confirmation lacks the download link:\n%s", r.Text)
	}
}

func TestRenderUnsubscribeOnlyOnBulkKinds(t *testing.T) {
	for _, k := range Kinds {
		m := fixture(k, "en")
		m.Links.Unsubscribe = "https://events.example.com/u/tok123" // even when the caller sets it
		r, err := Render(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(r.Text, m.Links.Unsubscribe); got == k.Transactional() {
			t.Errorf("%s: unsubscribe link shown = %v", k, got)
		}
	}
}

func TestRenderErrorsArePermanent(t *testing.T) {
	m := fixture("newsletter", "en")
	if _, err := Render(m); !IsPermanent(err) {
		t.Errorf("unknown kind: err = %v, want permanent", err)
	}
	m = fixture(KindConfirmation, "en")
	m.To = "not an address"
	if _, err := Render(m); !IsPermanent(err) {
		t.Errorf("bad address: err = %v, want permanent", err)
	}
}

func TestRenderUnknownLocaleIsEnglish(t *testing.T) {
	m := fixture(KindConfirmation, "fr")
	r, err := Render(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Subject, "Registration confirmed") || !strings.Contains(r.HTML, `<html lang="en">`) {
		t.Errorf("subject %q", r.Subject)
	}
}

// TestEmailCatalogs checks that every email key exists in every locale, with
// the same arguments, and that every key the templates and code use exists.
func TestEmailCatalogs(t *testing.T) {
	if err := templates.Check(); err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	for _, locale := range templates.Locales {
		for _, k := range templates.Keys(locale) {
			if strings.HasPrefix(k, "email.") {
				keys[locale] = append(keys[locale], k)
			}
		}
		slices.Sort(keys[locale])
	}
	en := keys["en"]
	if len(en) == 0 {
		t.Fatal("no email keys in the English catalog")
	}
	for _, locale := range templates.Locales[1:] {
		if !slices.Equal(keys[locale], en) {
			t.Errorf("%s email keys differ from en:\n missing: %v\n extra: %v", locale,
				difference(en, keys[locale]), difference(keys[locale], en))
		}
		for _, k := range en {
			if a, b := verbs(templates.T("en", k)), verbs(templates.T(locale, k)); a != b {
				t.Errorf("%s: en takes %s, %s takes %s", k, a, locale, b)
			}
			if strings.TrimSpace(templates.T(locale, k)) == "" {
				t.Errorf("%s: empty in %s", k, locale)
			}
		}
	}

	used := map[string]bool{}
	keyRE := regexp.MustCompile(`"(email\.[a-z0-9_.]*[a-z0-9_])"`)
	collect := func(fsys fs.FS, pattern string) {
		names, err := fs.Glob(fsys, pattern)
		if err != nil || len(names) == 0 {
			t.Fatalf("glob %s: %v (%d files)", pattern, err, len(names))
		}
		for _, name := range names {
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
				used[m[1]] = true
			}
		}
	}
	collect(templates.FS, "email/*.tmpl")
	collect(os.DirFS("."), "*.go")
	for i := range 7 {
		used["email.weekday."+strconv.Itoa(i)] = true
	}
	for i := 1; i <= 12; i++ {
		used["email.month."+strconv.Itoa(i)] = true
	}
	for k := range used {
		if !slices.Contains(en, k) {
			t.Errorf("key %s is used but not in the catalogs", k)
		}
	}
}

// verbs describes a format string's arguments, numbering plain verbs as fmt
// does, so "%s %s" and "%[1]s %[2]s" compare equal.
func verbs(format string) string {
	re := regexp.MustCompile(`%(?:\[(\d+)\])?([a-z])`)
	args := map[int]string{}
	next := 1
	for _, m := range re.FindAllStringSubmatch(format, -1) {
		if m[1] != "" {
			next, _ = strconv.Atoi(m[1])
		}
		args[next] = m[2]
		next++
	}
	s := make([]string, 0, len(args))
	for i := 1; i <= len(args); i++ {
		s = append(s, fmt.Sprintf("%d:%s", i, args[i]))
	}
	return "[" + strings.Join(s, " ") + "]"
}

func difference(a, b []string) []string {
	var d []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			d = append(d, s)
		}
	}
	return d
}

func BenchmarkRender(b *testing.B) {
	m := fixture(KindConfirmation, "zh-Hans")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(m); err != nil {
			b.Fatal(err)
		}
	}
}
