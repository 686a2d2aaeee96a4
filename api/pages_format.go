package api

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"eventreg/registration"
	"eventreg/templates"
)

// pageWhen says when an event happens in its own timezone with the UTC
// offset, e.g. "Thu, Jan 8, 2026 14:00–16:00 (Asia/Shanghai, UTC+08:00)";
// "" when it has no start. An end on another day is spelled out in full.
func pageWhen(loc string, e *registration.Event) string {
	if e.StartsAt == nil {
		return ""
	}
	tz := e.Loc()
	s := e.StartsAt.In(tz)
	if e.EndsAt == nil || !e.EndsAt.After(s) {
		return pageInstant(loc, tz, s, s.Format("15:04"))
	}
	end := e.EndsAt.In(tz)
	_, so := s.Zone()
	_, eo := end.Zone()
	switch {
	case so == eo && s.YearDay() == end.YearDay() && s.Year() == end.Year():
		return pageInstant(loc, tz, s, s.Format("15:04")+"–"+end.Format("15:04"))
	case so == eo:
		// Over several days: the zone once, at the end.
		return templates.T(loc, "page.time.range", pageDate(loc, s)+" "+s.Format("15:04"), pageDate(loc, end)+" "+end.Format("15:04"), tz.String(), pageOffset(s))
	}
	return templates.T(loc, "page.time.span", pageInstant(loc, tz, s, s.Format("15:04")), pageInstant(loc, tz, end, end.Format("15:04")))
}

// pageTime is one moment in the event's timezone with the UTC offset.
func pageTime(loc string, e *registration.Event, t time.Time) string {
	tz := e.Loc()
	t = t.In(tz)
	return pageInstant(loc, tz, t, t.Format("15:04"))
}

func pageInstant(loc string, tz *time.Location, t time.Time, clock string) string {
	return templates.T(loc, "page.time.when", pageDate(loc, t), clock, tz.String(), pageOffset(t))
}

// pageDate is "Thu, Jan 8, 2026" or "2026年1月8日 星期四".
func pageDate(loc string, t time.Time) string {
	return templates.T(loc, "page.time.date",
		templates.T(loc, "page.weekday."+strconv.Itoa(int(t.Weekday()))),
		templates.T(loc, "page.month."+strconv.Itoa(int(t.Month()))),
		t.Day(), t.Year())
}

// pageOffset is "+08:00", "-05:00", "+05:30" or "+00:00".
func pageOffset(t time.Time) string {
	_, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d:%02d", sign, off/3600, off%3600/60)
}

// kindTag is the bracketed tag the box shows before a title: 【線上研討會】,
// [Webinar]. A title that already starts with its tag (in either Chinese
// script) gets none, so the portal's own titles do not show it twice.
func kindTag(loc string, e *registration.Event) string {
	if loc != "en" && (strings.HasPrefix(e.Title, templates.T("zh-Hant", "page.kind."+e.Kind)) ||
		strings.HasPrefix(e.Title, templates.T("zh-Hans", "page.kind."+e.Kind))) {
		return ""
	}
	return templates.T(loc, "page.kind."+e.Kind)
}

// splitTitleTag splits a short leading 【…】 off a title.
func splitTitleTag(title string) (tag, rest string) {
	if !strings.HasPrefix(title, "【") {
		return "", title
	}
	end := strings.Index(title, "】")
	if end < 0 || utf8.RuneCountInString(title[:end]) > 12 {
		return "", title
	}
	end += len("】")
	return title[:end], title[end:]
}

// paragraphs splits a description into paragraphs (at blank lines) of lines.
func paragraphs(text string) [][]string {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	var out [][]string
	for _, block := range strings.Split(text, "\n\n") {
		block = strings.Trim(block, "\n")
		if strings.TrimSpace(block) == "" {
			continue
		}
		out = append(out, strings.Split(block, "\n"))
	}
	return out
}

// googleCalendarURL is Google Calendar's "add event" template for e.
func googleCalendarURL(e *registration.Event, details, location string) string {
	if e.StartsAt == nil {
		return ""
	}
	start := e.StartsAt.UTC()
	end := start.Add(time.Hour)
	if e.EndsAt != nil && e.EndsAt.After(start) {
		end = e.EndsAt.UTC()
	}
	const f = "20060102T150405Z"
	q := url.Values{}
	q.Set("action", "TEMPLATE")
	q.Set("text", e.Title)
	q.Set("dates", start.Format(f)+"/"+end.Format(f))
	q.Set("details", details)
	if location != "" {
		q.Set("location", location)
	}
	q.Set("ctz", e.Timezone)
	return "https://calendar.google.com/calendar/render?" + q.Encode()
}

// pillClass names the colour of a call to action.
func pillClass(ctaKey string) string {
	switch ctaKey {
	case "register", "join", registration.StatusLive:
		return "pill-" + ctaKey
	case "filling_fast":
		return "pill-hot"
	case "download":
		return "pill-download"
	case registration.StatusWaitlist, registration.StatusUpcoming:
		return "pill-" + ctaKey
	case registration.StatusReplay:
		return "pill-replay"
	}
	return "pill-muted"
}

// fieldMessage is the localized message of a field error: the field's own
// wording of the rule when there is one, else the rule's.
func fieldMessage(loc string, fe registration.FieldError) string {
	for _, key := range []string{"page.err." + fe.Field + "." + fe.Code, "page.err." + fe.Code} {
		if v := templates.T(loc, key); v != key {
			return v
		}
	}
	return templates.T(loc, "page.err.invalid")
}
