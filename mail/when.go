package mail

import (
	"fmt"
	"strconv"
	"time"

	"eventreg/templates"
)

// location loads the event's timezone. An empty or unknown name falls back to
// UTC: every time printed carries its UTC offset, so the reader still gets the
// right instant.
func location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// formatWhen says when an event happens, in its own timezone and with the UTC
// offset, e.g. "Thu, Jan 8, 2026 14:00–15:30 (Asia/Shanghai, UTC+08:00)". An
// end on another day or at another offset (a DST change) is spelled out in full.
func formatWhen(locale, tz string, start time.Time, end *time.Time) string {
	loc := location(tz)
	s := start.In(loc)
	if end == nil || !end.After(start) {
		return formatInstant(locale, loc, s, s.Format("15:04"))
	}
	e := end.In(loc)
	_, so := s.Zone()
	_, eo := e.Zone()
	if so == eo && s.YearDay() == e.YearDay() && s.Year() == e.Year() {
		return formatInstant(locale, loc, s, s.Format("15:04")+"–"+e.Format("15:04"))
	}
	return templates.T(locale, "email.time.span",
		formatInstant(locale, loc, s, s.Format("15:04")),
		formatInstant(locale, loc, e, e.Format("15:04")))
}

func formatInstant(locale string, loc *time.Location, t time.Time, clock string) string {
	date := templates.T(locale, "email.time.date",
		templates.T(locale, "email.weekday."+strconv.Itoa(int(t.Weekday()))),
		templates.T(locale, "email.month."+strconv.Itoa(int(t.Month()))),
		t.Day(), t.Year())
	return templates.T(locale, "email.time.when", date, clock, loc.String(), utcOffset(t))
}

// utcOffset is "+08:00", "-05:00", "+05:30" or "+00:00".
func utcOffset(t time.Time) string {
	_, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d:%02d", sign, off/3600, off%3600/60)
}

// formatOffset says how long before the start a reminder goes out: "1 hour",
// "24 hours", "30 minutes", "2 days", "1 hour 30 minutes". Whole days are used
// from two days on; the day-before reminder reads "24 hours", as people say it.
func formatOffset(locale string, d time.Duration) string {
	d = d.Round(time.Minute)
	days, hours, minutes := int(d/(24*time.Hour)), int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case d < time.Hour:
		return count(locale, "minutes", minutes)
	case d%(24*time.Hour) == 0 && days >= 2:
		return count(locale, "days", days)
	case minutes == 0:
		return count(locale, "hours", hours)
	}
	return templates.T(locale, "email.duration.pair", count(locale, "hours", hours), count(locale, "minutes", minutes))
}

func count(locale, unit string, n int) string {
	form := "other"
	if n == 1 {
		form = "one"
	}
	return templates.T(locale, "email.duration."+unit+"."+form, n)
}
