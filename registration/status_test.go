package registration

import (
	"testing"
	"time"
)

func TestStatusAndLabels(t *testing.T) {
	// The portal's box, seen on 2025-12-01 10:00 in Shanghai.
	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2025, 12, 1, 10, 0, 0, 0, sh).UTC()
	at := func(y int, m time.Month, d, h int) *time.Time {
		t := time.Date(y, m, d, h, 0, 0, 0, sh).UTC()
		return &t
	}
	capN := func(n int) *int { return &n }
	base := func() *Event {
		return &Event{Kind: KindWebinar, Timezone: "Asia/Shanghai", State: StatePublished, Waitlist: true,
			RegistrationOpensAt: *at(2025, 11, 1, 9)}
	}
	tests := []struct {
		name               string
		edit               func(e *Event)
		status             string
		open               bool
		en, hans, hant     string
		labelEn, labelHans string
	}{
		{"draft wins over everything", func(e *Event) { e.State = StateDraft; e.StartsAt = at(2025, 11, 30, 9); e.EndsAt = at(2025, 12, 2, 9) },
			StatusDraft, false, "Draft", "草稿", "草稿", "Nov 30", "11月30日"},
		{"cancelled", func(e *Event) { e.State = StateCancelled },
			StatusCancelled, false, "Cancelled", "已取消", "已取消", "Available now", "即日起"},
		{"live", func(e *Event) {
			e.StartsAt = at(2025, 12, 1, 9)
			e.EndsAt = at(2025, 12, 1, 11)
			e.RegistrationClosesAt = e.EndsAt
		},
			StatusLive, true, "Join now", "立即参与", "立即參與", "Dec 1", "12月1日"},
		{"live with registration closed", func(e *Event) {
			e.StartsAt = at(2025, 12, 1, 9)
			e.EndsAt = at(2025, 12, 1, 11)
			e.RegistrationClosesAt = at(2025, 12, 1, 9)
		}, StatusLive, false, "Join now", "立即参与", "立即參與", "Dec 1", "12月1日"},
		{"ended with replay", func(e *Event) {
			e.StartsAt = at(2025, 1, 2, 9)
			e.EndsAt = at(2025, 1, 3, 18)
			e.ReplayURL = "https://x.test/r"
		},
			StatusReplay, false, "Watch the replay", "精彩回顾", "精彩回顧", "Jan 2, 2025", "2025年1月2日"},
		{"ended without replay", func(e *Event) { e.StartsAt = at(2025, 11, 2, 9); e.EndsAt = at(2025, 11, 3, 18) },
			StatusEnded, false, "Ended", "已结束", "已結束", "Nov 2", "11月2日"},
		{"upcoming, window before opening", func(e *Event) {
			e.RegistrationOpensAt = *at(2025, 12, 20, 9)
			e.RegistrationClosesAt = at(2025, 12, 26, 18)
		},
			StatusUpcoming, false, "Opens soon", "即将开放", "即將開放", "Dec 20 – Dec 26", "12.20-12.26"},
		{"closed", func(e *Event) { e.RegistrationClosesAt = at(2025, 11, 30, 18) },
			StatusClosed, false, "Registration closed", "报名已截止", "報名已截止", "Now – Nov 30", "即日-11.30"},
		{"waitlist when full with waitlist", func(e *Event) {
			e.Capacity = capN(10)
			e.Confirmed = 10
			e.StartsAt = at(2026, 1, 8, 14)
			e.EndsAt = at(2026, 1, 8, 16)
		},
			StatusWaitlist, true, "Join the waitlist", "加入候补", "加入候補", "Jan 8", "1月8日"},
		{"full without waitlist", func(e *Event) { e.Capacity = capN(10); e.Confirmed = 10; e.Waitlist = false },
			StatusFull, false, "Fully booked", "已额满", "已額滿", "Available now", "即日起"},
		{"capacity zero with waitlist", func(e *Event) { e.Capacity = capN(0) },
			StatusWaitlist, true, "Join the waitlist", "加入候补", "加入候補", "Available now", "即日起"},
		{"open", func(e *Event) { e.RegistrationClosesAt = at(2025, 12, 26, 18) },
			StatusOpen, true, "Register now", "立即报名", "立即報名", "Now – Dec 26", "即日-12.26"},
		{"filling fast at 80 %", func(e *Event) {
			e.Capacity = capN(10)
			e.Confirmed = 8
			e.StartsAt = at(2026, 1, 8, 14)
			e.EndsAt = at(2026, 1, 8, 16)
		},
			StatusOpen, true, "Filling fast", "火热报名中", "火熱報名中", "Jan 8", "1月8日"},
		{"not filling fast at 79 %", func(e *Event) { e.Capacity = capN(100); e.Confirmed = 79 },
			StatusOpen, true, "Register now", "立即报名", "立即報名", "Available now", "即日起"},
		{"download", func(e *Event) { e.Kind = KindDownload; e.RegistrationClosesAt = at(2026, 8, 1, 18) },
			StatusOpen, true, "Download now", "立即下载", "立即下載", "Now – Aug 1, 2026", "即日-2026.8.1"},
		{"download beats filling fast", func(e *Event) { e.Kind = KindDownload; e.Capacity = capN(10); e.Confirmed = 9 },
			StatusOpen, true, "Download now", "立即下载", "立即下載", "Available now", "即日起"},
		{"offer", func(e *Event) { e.Kind = KindOffer; e.RegistrationClosesAt = at(2026, 1, 24, 18) },
			StatusOpen, true, "Join now", "立即参与", "立即參與", "Now – Jan 24", "即日-1.24"},
		{"183 days away has no year", func(e *Event) { e.RegistrationClosesAt = at(2026, 6, 1, 9) },
			StatusOpen, true, "Register now", "立即报名", "立即報名", "Now – Jun 1", "即日-6.1"},
		{"184 days away carries its year", func(e *Event) { e.RegistrationClosesAt = at(2026, 6, 3, 11) },
			StatusOpen, true, "Register now", "立即报名", "立即報名", "Now – Jun 3, 2026", "即日-2026.6.3"},
		{"the event's timezone decides the day", func(e *Event) {
			// 2026-01-08 23:30 in New York is Jan 9 in Shanghai and UTC.
			e.Timezone = "America/New_York"
			ny, _ := time.LoadLocation("America/New_York")
			s := time.Date(2026, 1, 8, 23, 30, 0, 0, ny).UTC()
			end := s.Add(time.Hour)
			e.StartsAt, e.EndsAt = &s, &end
		}, StatusOpen, true, "Register now", "立即报名", "立即報名", "Jan 8", "1月8日"},
		{"opening date far away carries its year too", func(e *Event) {
			e.RegistrationOpensAt = *at(2026, 7, 1, 9)
			e.RegistrationClosesAt = at(2026, 7, 10, 9)
		}, StatusUpcoming, false, "Opens soon", "即将开放", "即將開放", "Jul 1, 2026 – Jul 10, 2026", "2026.7.1-2026.7.10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := base()
			tt.edit(e)
			for _, c := range []struct{ locale, cta, label string }{
				{"en", tt.en, tt.labelEn}, {"zh-Hans", tt.hans, tt.labelHans}, {"zh-Hant", tt.hant, tt.labelHans},
			} {
				p := Present(e, now, c.locale)
				if p.Status != tt.status || p.RegistrationOpen != tt.open || p.CTA != c.cta || p.WindowLabel != c.label {
					t.Errorf("%s: got status=%s open=%v cta=%q label=%q; want %s %v %q %q",
						c.locale, p.Status, p.RegistrationOpen, p.CTA, p.WindowLabel, tt.status, tt.open, c.cta, c.label)
				}
			}
		})
	}
}

func TestStatusBoundaries(t *testing.T) {
	start := time.Date(2026, 1, 8, 6, 0, 0, 0, time.UTC)
	end := start.Add(2 * time.Hour)
	e := &Event{Kind: KindWebinar, Timezone: "UTC", State: StatePublished, StartsAt: &start, EndsAt: &end,
		RegistrationOpensAt: start.Add(-48 * time.Hour), RegistrationClosesAt: &end}
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{start.Add(-time.Nanosecond), StatusOpen},
		{start, StatusLive},
		{end.Add(-time.Nanosecond), StatusLive},
		{end, StatusEnded},
		{start.Add(-48 * time.Hour).Add(-time.Nanosecond), StatusUpcoming},
	} {
		if got := Status(e, c.at); got != c.want {
			t.Errorf("at %s: %s, want %s", c.at, got, c.want)
		}
	}
}

func BenchmarkPresent(b *testing.B) {
	start := time.Date(2026, 1, 8, 6, 0, 0, 0, time.UTC)
	end := start.Add(2 * time.Hour)
	capacity := 100
	e := &Event{Kind: KindWebinar, Timezone: "Asia/Shanghai", State: StatePublished, StartsAt: &start, EndsAt: &end,
		RegistrationOpensAt: start.Add(-480 * time.Hour), Capacity: &capacity, Confirmed: 85}
	now := start.Add(-24 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		_ = Present(e, now, "zh-Hant")
	}
}
