package registration

import (
	"fmt"
	"time"
)

// Presentation is what an event looks like at one moment in one language:
// derived, never stored.
type Presentation struct {
	Status           string
	RegistrationOpen bool
	CTAKey           string // stable key of the call to action, e.g. "filling_fast"
	CTA              string // the call to action in the requested locale
	WindowLabel      string
}

// yearAfter is how far from now a date must be to carry its year.
const yearAfter = 183 * 24 * time.Hour

// Status is the event's status at now; the first rule that matches wins
// (SPEC §3). It reads the stored confirmed counter of e.
func Status(e *Event, now time.Time) string {
	switch {
	case e.State == StateDraft:
		return StatusDraft
	case e.State == StateCancelled:
		return StatusCancelled
	case e.StartsAt != nil && e.EndsAt != nil && !now.Before(*e.StartsAt) && now.Before(*e.EndsAt):
		return StatusLive
	case e.EndsAt != nil && !now.Before(*e.EndsAt):
		if e.ReplayURL != "" {
			return StatusReplay
		}
		return StatusEnded
	case now.Before(e.RegistrationOpensAt):
		return StatusUpcoming
	case e.RegistrationClosesAt != nil && !now.Before(*e.RegistrationClosesAt):
		return StatusClosed
	case e.Capacity != nil && e.Confirmed >= *e.Capacity:
		if e.Waitlist {
			return StatusWaitlist
		}
		return StatusFull
	}
	return StatusOpen
}

// RegistrationOpen reports whether a sign-up at now would be taken: published,
// inside the registration window, not ended, and a seat or the waitlist left.
func RegistrationOpen(e *Event, now time.Time) bool {
	return e.State == StatePublished &&
		!now.Before(e.RegistrationOpensAt) &&
		(e.RegistrationClosesAt == nil || now.Before(*e.RegistrationClosesAt)) &&
		(e.EndsAt == nil || now.Before(*e.EndsAt)) &&
		(e.Capacity == nil || e.Confirmed < *e.Capacity || e.Waitlist)
}

// Present computes status, registration_open, the call to action and the
// window label of e at now, in locale.
func Present(e *Event, now time.Time, locale string) Presentation {
	p := Presentation{Status: Status(e, now), RegistrationOpen: RegistrationOpen(e, now)}
	p.CTAKey = ctaKey(e, p.Status)
	p.CTA = ctaText(p.CTAKey, locale)
	p.WindowLabel = WindowLabel(e, now, locale)
	return p
}

func ctaKey(e *Event, status string) string {
	if status != StatusOpen {
		return status
	}
	switch {
	case e.Kind == KindDownload:
		return "download"
	case e.Kind == KindOffer:
		return "join"
	// confirmed ≥ ⌈0.8·capacity⌉, written so that a huge capacity cannot overflow.
	case e.Capacity != nil && *e.Capacity > 0 && e.Confirmed >= *e.Capacity-*e.Capacity/5:
		return "filling_fast"
	}
	return "register"
}

// ctaTexts holds the calls to action: en, zh-Hans, zh-Hant.
var ctaTexts = map[string][3]string{
	"register":      {"Register now", "立即报名", "立即報名"},
	"filling_fast":  {"Filling fast", "火热报名中", "火熱報名中"},
	"download":      {"Download now", "立即下载", "立即下載"},
	"join":          {"Join now", "立即参与", "立即參與"},
	StatusLive:      {"Join now", "立即参与", "立即參與"},
	StatusReplay:    {"Watch the replay", "精彩回顾", "精彩回顧"},
	StatusUpcoming:  {"Opens soon", "即将开放", "即將開放"},
	StatusClosed:    {"Registration closed", "报名已截止", "報名已截止"},
	StatusWaitlist:  {"Join the waitlist", "加入候补", "加入候補"},
	StatusFull:      {"Fully booked", "已额满", "已額滿"},
	StatusEnded:     {"Ended", "已结束", "已結束"},
	StatusCancelled: {"Cancelled", "已取消", "已取消"},
	StatusDraft:     {"Draft", "草稿", "草稿"},
}

func localeIndex(locale string) int {
	switch locale {
	case "zh-Hans":
		return 1
	case "zh-Hant":
		return 2
	}
	return 0
}

func ctaText(key, locale string) string {
	return ctaTexts[key][localeIndex(locale)]
}

// WindowLabel is the short date shown in the events box, in the event's
// timezone: the day it starts, or the registration window when it has no start.
func WindowLabel(e *Event, now time.Time, locale string) string {
	loc := e.Loc()
	zh := localeIndex(locale) > 0
	if e.StartsAt != nil {
		return dayLabel(e.StartsAt.In(loc), now, zh)
	}
	var to string
	if e.RegistrationClosesAt != nil {
		to = windowDate(e.RegistrationClosesAt.In(loc), now, zh)
	}
	open := !now.Before(e.RegistrationOpensAt)
	switch {
	case open && to == "" && zh:
		return "即日起"
	case open && to == "":
		return "Available now"
	case open && zh:
		return "即日-" + to
	case open:
		return "Now – " + to
	}
	from := windowDate(e.RegistrationOpensAt.In(loc), now, zh)
	switch {
	case to == "" && zh:
		return from + "起"
	case to == "":
		return "From " + from
	case zh:
		return from + "-" + to
	}
	return from + " – " + to
}

func farFrom(t, now time.Time) bool {
	d := t.Sub(now)
	return d > yearAfter || d < -yearAfter
}

// dayLabel: zh 1月8日 / 2026年1月8日, en Jan 8 / Jan 8, 2026.
func dayLabel(t, now time.Time, zh bool) string {
	far := farFrom(t, now)
	switch {
	case zh && far:
		return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
	case zh:
		return fmt.Sprintf("%d月%d日", int(t.Month()), t.Day())
	case far:
		return t.Format("Jan 2, 2006")
	}
	return t.Format("Jan 2")
}

// windowDate: zh 12.26 / 2025.8.1, en Dec 26 / Aug 1, 2025.
func windowDate(t, now time.Time, zh bool) string {
	far := farFrom(t, now)
	switch {
	case zh && far:
		return fmt.Sprintf("%d.%d.%d", t.Year(), int(t.Month()), t.Day())
	case zh:
		return fmt.Sprintf("%d.%d", int(t.Month()), t.Day())
	case far:
		return t.Format("Jan 2, 2006")
	}
	return t.Format("Jan 2")
}
