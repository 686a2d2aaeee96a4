package api

import (
	"fmt"
	"time"

	"eventreg/registration"
)

// The console's charts are SVG drawn here, no script: each has a <title> and
// <desc>, and its figures are also given as a table for screen readers.

// consoleBarChart is sign-ups per day.
type consoleBarChart struct {
	Width, Height          int
	Left, Right, Top, Base float64 // plot area; Base is the y of zero
	Bars                   []consoleBar
	Ticks                  []consoleTick
	Labels                 []consoleLabel
	Days                   []registration.DayCount // days with sign-ups, for the table
	Total                  int
	Title, Desc            string
}

type consoleBar struct {
	X, Y, W, H float64
	Tip        string
}

type consoleTick struct {
	Y     float64
	Value int
}

type consoleLabel struct {
	X    float64
	Text string
}

const (
	consoleChartDays = 60 // at most this many days are drawn: the most recent
	consoleQuietDays = 14 // days without sign-ups up to today are drawn up to this many
)

// consolePerDayChart draws sign-ups per day (days in the event's timezone, as
// Stats counts them), with the quiet days between as empty slots. today is
// now in the event's timezone.
func consolePerDayChart(per []registration.DayCount, today time.Time, p *consolePage) *consoleBarChart {
	if len(per) == 0 {
		return nil
	}
	counts := map[string]int{}
	total := 0
	for _, d := range per {
		counts[d.Day] = d.Count
		total += d.Count
	}
	first, err1 := time.Parse(time.DateOnly, per[0].Day)
	last, err2 := time.Parse(time.DateOnly, per[len(per)-1].Day)
	if err1 != nil || err2 != nil {
		return nil
	}
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	if day.After(last) && day.Sub(last) <= consoleQuietDays*24*time.Hour {
		last = day
	}
	var days []time.Time
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	if len(days) > consoleChartDays {
		days = days[len(days)-consoleChartDays:]
	}
	peak := 0
	for _, d := range days {
		peak = max(peak, counts[d.Format(time.DateOnly)])
	}
	top := consoleNiceCeil(peak)
	c := &consoleBarChart{Width: 640, Height: 220, Left: 40, Right: 632, Top: 12, Base: 186, Days: per, Total: total}
	c.Title = p.T("console.chart.per_day.title")
	c.Desc = p.T("console.chart.per_day.desc", total, consoleDayLabel(days[0], p.Locale), consoleDayLabel(days[len(days)-1], p.Locale), peak)
	plotH := c.Base - c.Top
	band := (c.Right - c.Left) / float64(len(days))
	w := min(band*0.7, 40)
	every := (len(days) + 9) / 10 // at most about ten labels
	for i, d := range days {
		n := counts[d.Format(time.DateOnly)]
		h := plotH * float64(n) / float64(top)
		x := c.Left + band*float64(i) + (band-w)/2
		c.Bars = append(c.Bars, consoleBar{X: consoleRound(x), Y: consoleRound(c.Base - h), W: consoleRound(w), H: consoleRound(h),
			Tip: fmt.Sprintf("%s: %d", consoleDayLabel(d, p.Locale), n)})
		if i%every == 0 || i == len(days)-1 && len(days) <= 10 {
			c.Labels = append(c.Labels, consoleLabel{X: consoleRound(x + w/2), Text: consoleDayLabel(d, p.Locale)})
		}
	}
	for _, v := range []int{0, top / 2, top} {
		c.Ticks = append(c.Ticks, consoleTick{Y: consoleRound(c.Base - plotH*float64(v)/float64(top)), Value: v})
	}
	return c
}

// consoleNiceCeil is the smallest of 2, 4, 10, 20, 40, 100, … at least n:
// even, so that the middle gridline is a whole number too.
func consoleNiceCeil(n int) int {
	for base := 1; ; base *= 10 {
		for _, m := range []int{2, 4, 10} {
			if m*base >= n {
				return m * base
			}
		}
	}
}

func consoleRound(f float64) float64 { return float64(int(f*10+0.5)) / 10 }

// consoleDayLabel is a short day: "Jan 8" or "1月8日".
func consoleDayLabel(d time.Time, locale string) string {
	if locale == "en" {
		return d.Format("Jan 2")
	}
	return fmt.Sprintf("%d月%d日", int(d.Month()), d.Day())
}

// consoleFunnel is confirmed → checked in, confirmed → joined online.
type consoleFunnel struct {
	Width, Height int
	Left          float64 // where the bars start; labels end just before
	Rows          []consoleFunnelRow
	Title, Desc   string
}

type consoleFunnelRow struct {
	Label          string
	Count, Percent int
	Y, W           float64
	TextX          float64
	Class          string
}

func consoleNewFunnel(c registration.Counts, p *consolePage) *consoleFunnel {
	const left, width, rowH = 120.0, 220.0, 40.0
	f := &consoleFunnel{Width: 440, Height: 3*int(rowH) + 8, Left: left}
	pct := func(n int) int {
		if c.Confirmed == 0 {
			return 0
		}
		return (n*100 + c.Confirmed/2) / c.Confirmed
	}
	rows := []struct {
		key, class string
		n          int
	}{{"console.funnel.confirmed", "f-confirmed", c.Confirmed}, {"console.funnel.checked_in", "f-checked", c.CheckedIn}, {"console.funnel.joined", "f-joined", c.Joined}}
	for i, r := range rows {
		w := 0.0
		if c.Confirmed > 0 {
			w = width * float64(r.n) / float64(c.Confirmed)
		}
		w = max(w, 2) // a hairline shows where zero is
		f.Rows = append(f.Rows, consoleFunnelRow{Label: p.T(r.key), Count: r.n, Percent: pct(r.n), Y: 8 + rowH*float64(i),
			W: consoleRound(w), TextX: consoleRound(left + w + 8), Class: r.class})
	}
	f.Title = p.T("console.chart.funnel.title")
	f.Desc = p.T("console.chart.funnel.desc", c.Confirmed, c.CheckedIn, pct(c.CheckedIn), c.Joined, pct(c.Joined))
	return f
}
