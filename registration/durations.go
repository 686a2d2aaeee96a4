package registration

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Durations is a list of reminder offsets, stored and shown as Go duration
// strings ("24h", "1h30m").
type Durations []time.Duration

// FormatDuration writes d compactly: 24h, 1h30m, 5m (never "24h0m0s").
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	h, m, s := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	if h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "h")
	}
	if m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "m")
	}
	if s > 0 || (h == 0 && m == 0) {
		b.WriteString(strconv.FormatInt(int64(s), 10) + "s")
	}
	return b.String()
}

// Strings returns the offsets as duration strings.
func (ds Durations) Strings() []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = FormatDuration(d)
	}
	return out
}

// MarshalJSON writes ["24h","1h"].
func (ds Durations) MarshalJSON() ([]byte, error) { return json.Marshal(ds.Strings()) }

// Value stores the list as a JSON array of strings.
func (ds Durations) Value() (driver.Value, error) {
	b, err := ds.MarshalJSON()
	return string(b), err
}

// Scan reads the JSON array written by Value.
func (ds *Durations) Scan(src any) error {
	var raw []byte
	switch v := src.(type) {
	case string:
		raw = []byte(v)
	case []byte:
		raw = v
	case nil:
		*ds = nil
		return nil
	default:
		return fmt.Errorf("reminders: cannot scan %T", src)
	}
	var ss []string
	if err := json.Unmarshal(raw, &ss); err != nil {
		return fmt.Errorf("reminders: %w", err)
	}
	out := make(Durations, 0, len(ss))
	for _, s := range ss {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("reminders: %w", err)
		}
		out = append(out, d)
	}
	*ds = out
	return nil
}
