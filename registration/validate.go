package registration

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field limits, in characters (Unicode code points).
const (
	maxTitle       = 200
	maxDescription = 20000
	maxText        = 2000 // organizer, summary, location
	maxURL         = 2000
	maxName        = 100
	maxEmail       = 254
	maxCompany     = 200
	maxJobTitle    = 100
	maxPhone       = 32
	minQuestion    = 6
	maxQuestion    = 500
	maxReminders   = 5
	minReminder    = 5 * time.Minute
	maxReminder    = 30 * 24 * time.Hour
	maxIdemKey     = 255
)

var (
	slugRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,79}$`)
	phoneRE = regexp.MustCompile(`^[0-9 +()\-]*$`)
)

// Locales are the registrant locales.
var Locales = []string{"en", "zh-Hans", "zh-Hant"}

// ValidSlug reports whether s is a well-formed slug.
func ValidSlug(s string) bool { return slugRE.MatchString(s) }

// hasControl reports control characters; newlines too unless allowNewlines.
func hasControl(s string, allowNewlines bool) bool {
	for _, r := range s {
		if allowNewlines && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

func checkLine(v *ValidationError, field, s string, min, max int) {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		v.add(field, "invalid", "must be valid UTF-8 text")
	case hasControl(s, false):
		v.add(field, "invalid", "must be one line without control characters")
	case n < min && n == 0:
		v.add(field, "required", "is required")
	case n < min:
		v.add(field, "too_short", fmt.Sprintf("must be at least %d characters", min))
	case n > max:
		v.add(field, "too_long", fmt.Sprintf("must be at most %d characters", max))
	}
}

// SignupInput is what a person submits to register.
type SignupInput struct {
	Name     string `json:"name" form:"name"`
	Email    string `json:"email" form:"email"`
	Company  string `json:"company" form:"company"`
	JobTitle string `json:"job_title" form:"job_title"`
	Phone    string `json:"phone" form:"phone"`
	Question string `json:"question" form:"question"`
	Locale   string `json:"locale" form:"locale"`
	Consent  bool   `json:"consent" form:"consent"`
}

// normalize trims the input and checks every field rule of SPEC §4.
func (in *SignupInput) normalize() error {
	var v ValidationError
	in.Name = strings.TrimSpace(in.Name)
	in.Email = strings.TrimSpace(in.Email)
	in.Company = strings.TrimSpace(in.Company)
	in.JobTitle = strings.TrimSpace(in.JobTitle)
	in.Phone = strings.TrimSpace(in.Phone)
	in.Question = strings.TrimSpace(in.Question)
	checkLine(&v, "name", in.Name, 1, maxName)
	if msg := checkEmail(in.Email); msg != "" {
		code := "invalid"
		if in.Email == "" {
			code = "required"
		}
		v.add("email", code, msg)
	}
	checkLine(&v, "company", in.Company, 0, maxCompany)
	checkLine(&v, "job_title", in.JobTitle, 0, maxJobTitle)
	checkLine(&v, "phone", in.Phone, 0, maxPhone)
	if in.Phone != "" && !phoneRE.MatchString(in.Phone) {
		v.add("phone", "invalid", "may hold only digits, spaces and + ( ) -")
	}
	if in.Question != "" {
		n := utf8.RuneCountInString(in.Question)
		switch {
		case !utf8.ValidString(in.Question) || hasControl(in.Question, true):
			v.add("question", "invalid", "must be text without control characters")
		case n < minQuestion:
			v.add("question", "too_short", fmt.Sprintf("must be at least %d characters", minQuestion))
		case n > maxQuestion:
			v.add("question", "too_long", fmt.Sprintf("must be at most %d characters", maxQuestion))
		}
	}
	if in.Locale != "" && !slices.Contains(Locales, in.Locale) {
		v.add("locale", "invalid", "must be one of en, zh-Hans, zh-Hant")
	}
	return v.err()
}

// checkEmail accepts one plain address (no display name, no list) and returns
// a message when it is not one.
func checkEmail(s string) string {
	switch {
	case s == "":
		return "is required"
	case utf8.RuneCountInString(s) > maxEmail:
		return fmt.Sprintf("must be at most %d characters", maxEmail)
	case hasControl(s, false) || strings.ContainsAny(s, " ,;<>\"'"):
		return "must be one plain email address"
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "must be one plain email address"
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") || strings.HasSuffix(s, ".") || strings.Contains(s[at+1:], "..") {
		return "must be one plain email address"
	}
	return ""
}

// EventDefaults are the values a new event takes when the organizer gives none.
type EventDefaults struct {
	Timezone string
}

// applyEventFields sets the fields present in raw on e and checks the result.
// raw is a JSON object; absent fields keep e's values, null clears the
// nullable ones. creating adds the rules of a new event.
func applyEventFields(e *Event, raw map[string]json.RawMessage, creating bool) error {
	var v ValidationError
	str := func(field string, dst *string) bool {
		m, ok := raw[field]
		if !ok {
			return false
		}
		if err := json.Unmarshal(m, dst); err != nil || string(m) == "null" {
			v.add(field, "invalid_type", "must be a string")
			return false
		}
		return true
	}
	tm := func(field string, dst **time.Time) bool {
		m, ok := raw[field]
		if !ok {
			return false
		}
		if string(m) == "null" {
			*dst = nil
			return true
		}
		var s string
		if err := json.Unmarshal(m, &s); err != nil {
			v.add(field, "invalid_type", "must be an RFC 3339 time or null")
			return false
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			v.add(field, "invalid", "must be an RFC 3339 time such as 2026-01-08T14:00:00+08:00")
			return false
		}
		t = t.UTC().Truncate(time.Microsecond)
		*dst = &t
		return true
	}
	for field := range raw {
		if !slices.Contains(eventFields, field) {
			v.add(field, "unknown", "is not a field of an event")
		}
	}

	var slug string
	if str("slug", &slug) {
		e.Slug = slug
		if !ValidSlug(slug) {
			v.add("slug", "invalid", "must be 1–80 of a-z, 0-9 and -, starting with a letter or digit")
		}
	}
	var kind string
	if str("kind", &kind) {
		e.Kind = kind
	}
	if (creating || raw["kind"] != nil) && !slices.Contains(EventKinds, e.Kind) {
		code := "invalid"
		if e.Kind == "" {
			code = "required"
		}
		v.add("kind", code, "must be one of "+strings.Join(EventKinds, ", "))
	}
	if str("title", &e.Title) || creating {
		e.Title = strings.TrimSpace(e.Title)
		checkLine(&v, "title", e.Title, 1, maxTitle)
	}
	if str("organizer", &e.Organizer) {
		// Stored as checked: trimming only for the check kept a CR or LF at either end.
		e.Organizer = strings.TrimSpace(e.Organizer)
		checkLine(&v, "organizer", e.Organizer, 0, maxText)
	}
	if str("summary", &e.Summary) {
		checkLine(&v, "summary", e.Summary, 0, maxText)
	}
	if str("location", &e.Location) {
		checkLine(&v, "location", e.Location, 0, maxText)
	}
	if str("description", &e.Description) {
		if n := utf8.RuneCountInString(e.Description); n > maxDescription {
			v.add("description", "too_long", fmt.Sprintf("must be at most %d characters", maxDescription))
		} else if hasControl(e.Description, true) {
			v.add("description", "invalid", "must be text without control characters")
		}
	}
	if str("timezone", &e.Timezone) {
		if _, err := time.LoadLocation(e.Timezone); err != nil || e.Timezone == "" || strings.EqualFold(e.Timezone, "local") {
			v.add("timezone", "invalid", "must be an IANA time zone such as Asia/Shanghai")
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"join_url", &e.JoinURL}, {"replay_url", &e.ReplayURL}, {"download_url", &e.DownloadURL}} {
		if str(f.name, f.dst) && *f.dst != "" {
			if msg := checkURL(*f.dst); msg != "" {
				v.add(f.name, "invalid", msg)
			}
		}
	}
	var opens *time.Time
	if tm("registration_opens_at", &opens) {
		if opens == nil {
			v.add("registration_opens_at", "invalid", "must be a time")
		} else {
			e.RegistrationOpensAt = *opens
		}
	}
	_, closesSet := raw["registration_closes_at"]
	tm("registration_closes_at", &e.RegistrationClosesAt)
	_, startsSet := raw["starts_at"]
	tm("starts_at", &e.StartsAt)
	_, endsSet := raw["ends_at"]
	tm("ends_at", &e.EndsAt)
	if m, ok := raw["capacity"]; ok {
		if string(m) == "null" {
			e.Capacity = nil
		} else {
			var n int
			if err := json.Unmarshal(m, &n); err != nil || n < 0 {
				v.add("capacity", "invalid", "must be null or a whole number ≥ 0")
			} else {
				e.Capacity = &n
			}
		}
	}
	if m, ok := raw["waitlist"]; ok {
		if err := json.Unmarshal(m, &e.Waitlist); err != nil || string(m) == "null" {
			v.add("waitlist", "invalid_type", "must be true or false")
		}
	}
	if m, ok := raw["reminders"]; ok {
		var ss []string
		if err := json.Unmarshal(m, &ss); err != nil {
			v.add("reminders", "invalid_type", "must be a list of durations such as [\"24h\",\"1h\"]")
		} else if ds, msg := parseReminders(ss); msg != "" {
			v.add("reminders", "invalid", msg)
		} else {
			e.Reminders = ds
		}
	}
	if m, ok := raw["state"]; ok {
		var st string
		if err := json.Unmarshal(m, &st); err != nil || (st != StateDraft && st != StatePublished) {
			v.add("state", "invalid", "must be draft or published (cancel an event with its cancel action)")
		} else {
			e.State = st
		}
	}

	// A start without an end gets one hour, so that the live and ended rules
	// have an end to go by.
	if startsSet && !endsSet && e.StartsAt != nil && e.EndsAt == nil {
		end := e.StartsAt.Add(time.Hour)
		e.EndsAt = &end
	}
	if e.EndsAt != nil && e.StartsAt == nil {
		v.add("starts_at", "required", "is required when ends_at is set")
	}
	if e.EndsAt != nil && e.StartsAt != nil && !e.EndsAt.After(*e.StartsAt) {
		v.add("ends_at", "invalid", "must be after starts_at")
	}
	// Registration closes at the end by default: people may still sign up
	// while a webinar is live.
	if !closesSet && creating && e.RegistrationClosesAt == nil && e.EndsAt != nil {
		c := *e.EndsAt
		e.RegistrationClosesAt = &c
	}
	if e.RegistrationClosesAt != nil && !e.RegistrationClosesAt.After(e.RegistrationOpensAt) {
		v.add("registration_closes_at", "invalid", "must be after registration_opens_at")
	}
	return v.err()
}

var eventFields = []string{"slug", "kind", "title", "organizer", "summary", "description", "timezone",
	"registration_opens_at", "registration_closes_at", "starts_at", "ends_at", "capacity", "waitlist",
	"join_url", "location", "replay_url", "download_url", "reminders", "state"}

func checkURL(s string) string {
	if utf8.RuneCountInString(s) > maxURL {
		return fmt.Sprintf("must be at most %d characters", maxURL)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || hasControl(s, false) {
		return "must be an absolute http or https URL"
	}
	return ""
}

func parseReminders(ss []string) (Durations, string) {
	if len(ss) > maxReminders {
		return nil, fmt.Sprintf("at most %d reminders", maxReminders)
	}
	out := make(Durations, 0, len(ss))
	for _, s := range ss {
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Sprintf("%q is not a duration such as 24h or 30m", s)
		}
		if d < minReminder || d > maxReminder {
			return nil, fmt.Sprintf("%q must be between 5m and 30 days (720h)", s)
		}
		if slices.Contains(out, d) {
			return nil, fmt.Sprintf("%q is listed twice", s)
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b time.Duration) int { return int((b - a) / time.Second) })
	return out, ""
}

// slugify makes a slug from the ASCII letters and digits of a title.
func slugify(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	out := b.String()
	if len(out) > 60 {
		out = out[:60]
	}
	return strings.Trim(out, "-")
}
