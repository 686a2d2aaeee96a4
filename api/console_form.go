package api

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"eventreg/registration"
	"eventreg/templates"
)

type consoleRaw = json.RawMessage

// consoleEventForm is the console's event form as typed: everything is text, so
// that a refused form comes back exactly as it was sent.
type consoleEventForm struct {
	Slug        string `form:"slug"`
	Kind        string `form:"kind"`
	Title       string `form:"title"`
	Organizer   string `form:"organizer"`
	Summary     string `form:"summary"`
	Description string `form:"description"`
	Timezone    string `form:"timezone"`
	OpensAt     string `form:"registration_opens_at"`
	ClosesAt    string `form:"registration_closes_at"`
	StartsAt    string `form:"starts_at"`
	EndsAt      string `form:"ends_at"`
	Capacity    string `form:"capacity"`
	Waitlist    bool   `form:"waitlist"`
	JoinURL     string `form:"join_url"`
	Location    string `form:"location"`
	ReplayURL   string `form:"replay_url"`
	DownloadURL string `form:"download_url"`
	Reminders   string `form:"reminders"`
	State       string `form:"state"`
}

// consoleLocalLayout is the value of a datetime-local input.
const consoleLocalLayout = "2006-01-02T15:04"

func consoleLocalTime(t *time.Time, loc *time.Location) string {
	if t == nil {
		return ""
	}
	return t.In(loc).Format(consoleLocalLayout)
}

// consoleFormOf fills the form from a stored event, times in the event's timezone.
func consoleFormOf(e *registration.Event) *consoleEventForm {
	loc := e.Loc()
	f := &consoleEventForm{
		Slug: e.Slug, Kind: e.Kind, Title: e.Title, Organizer: e.Organizer, Summary: e.Summary,
		Description: e.Description, Timezone: e.Timezone, OpensAt: consoleLocalTime(&e.RegistrationOpensAt, loc),
		ClosesAt: consoleLocalTime(e.RegistrationClosesAt, loc), StartsAt: consoleLocalTime(e.StartsAt, loc),
		EndsAt: consoleLocalTime(e.EndsAt, loc), Waitlist: e.Waitlist, JoinURL: e.JoinURL, Location: e.Location,
		ReplayURL: e.ReplayURL, DownloadURL: e.DownloadURL, Reminders: strings.Join(e.Reminders.Strings(), ", "),
		State: e.State,
	}
	if e.Capacity != nil {
		f.Capacity = strconv.Itoa(*e.Capacity)
	}
	if f.State == registration.StateCancelled {
		f.State = ""
	}
	return f
}

// raw turns the form into the JSON object CreateEvent and UpdateEvent take,
// so that the console is held to the API's rules, word for word. With was
// (the form of the stored event) only changed fields are sent: a datetime
// input has minutes only, and re-sending an unchanged start would look like
// a new time and mail everyone. Values the form cannot turn into their JSON
// type are sent as typed, for the service to refuse with its own message.
func (f *consoleEventForm) raw(was *consoleEventForm, defaultTZ string) map[string]json.RawMessage {
	creating := was == nil
	if was == nil {
		was = &consoleEventForm{}
	}
	out := map[string]json.RawMessage{}
	str := func(field, v string) json.RawMessage {
		b, _ := json.Marshal(v)
		return b
	}
	text := func(field, v, old string) {
		if v != old || (creating && v != "") {
			out[field] = str(field, v)
		}
	}
	if creating {
		// Both are rules of a new event: send them even when empty, so
		// that "required" comes back beside the field.
		out["kind"] = str("kind", f.Kind)
		out["title"] = str("title", f.Title)
	} else {
		text("kind", f.Kind, was.Kind)
		text("title", f.Title, was.Title)
	}
	if !creating || f.Slug != "" {
		text("slug", strings.TrimSpace(f.Slug), was.Slug)
	}
	text("organizer", f.Organizer, was.Organizer)
	text("summary", f.Summary, was.Summary)
	text("description", f.Description, was.Description)
	text("location", f.Location, was.Location)
	for _, u := range []struct{ field, v, old string }{
		{"join_url", f.JoinURL, was.JoinURL}, {"replay_url", f.ReplayURL, was.ReplayURL},
		{"download_url", f.DownloadURL, was.DownloadURL},
	} {
		text(u.field, strings.TrimSpace(u.v), u.old)
	}
	tz := strings.TrimSpace(f.Timezone)
	if tz == "" && creating {
		tz = defaultTZ
	} else {
		text("timezone", tz, was.Timezone)
	}
	// Times are read in the event's timezone; when it is not a valid one the
	// service says so and the times wait for the next try.
	loc, tzErr := time.LoadLocation(tz)
	for _, t := range []struct{ field, v, old string }{
		{"registration_opens_at", f.OpensAt, was.OpensAt}, {"registration_closes_at", f.ClosesAt, was.ClosesAt},
		{"starts_at", f.StartsAt, was.StartsAt}, {"ends_at", f.EndsAt, was.EndsAt},
	} {
		v := strings.TrimSpace(t.v)
		if v == t.old || tzErr != nil || (creating && v == "") {
			continue
		}
		switch at, ok := consoleParseLocal(v, loc); {
		case v == "":
			out[t.field] = json.RawMessage("null")
		case ok:
			out[t.field] = str(t.field, at.Format(time.RFC3339))
		default:
			out[t.field] = str(t.field, v)
		}
	}
	if c := strings.TrimSpace(f.Capacity); c != was.Capacity || creating {
		switch n, err := strconv.Atoi(c); {
		case c == "":
			out["capacity"] = json.RawMessage("null")
		case err == nil:
			out["capacity"] = json.RawMessage(strconv.Itoa(n))
		default:
			out["capacity"] = str("capacity", c)
		}
	}
	if f.Waitlist != was.Waitlist || creating {
		out["waitlist"] = json.RawMessage(strconv.FormatBool(f.Waitlist))
	}
	if r := consoleReminders(f.Reminders); r != consoleReminders(was.Reminders) || creating {
		list := []string{}
		if r != "" {
			list = strings.Split(r, ",")
		}
		b, _ := json.Marshal(list)
		out["reminders"] = b
	}
	if f.State != was.State || creating {
		out["state"] = str("state", f.State)
	}
	return out
}

// consoleReminders reads "24h, 1h" (or with a full-width comma, or
// spaces) as "24h,1h".
func consoleReminders(s string) string {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == '、' || r == ' ' || r == ';' })
	return strings.Join(parts, ",")
}

// consoleParseLocal reads a datetime-local value (seconds optional) in loc.
func consoleParseLocal(v string, loc *time.Location) (time.Time, bool) {
	for _, layout := range []string{consoleLocalLayout, "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// consoleFormErrors are the refusals of a form, localized, by field ("" for the
// form as a whole).
type consoleFormErrors map[string][]string

var consoleNumberRE = regexp.MustCompile(`\d+`)

// consoleFieldErrors localizes the service's field errors: a message per field and
// code where the console has one, else per code (with the numbers of the
// service's message, such as a length limit), else the service's own words.
func consoleFieldErrors(errs []registration.FieldError, p *consolePage) consoleFormErrors {
	if len(errs) == 0 {
		return nil
	}
	out := consoleFormErrors{}
	for _, fe := range errs {
		field := fe.Field
		if field != "" && !consoleIsField(field) {
			field = ""
		}
		msg := fe.Message
		nums := consoleNumberRE.FindAllString(fe.Message, -1)
		keys := []string{"console.error." + fe.Field + "." + fe.Code, "console.error." + fe.Code}
		if fe.Field == "" {
			keys = []string{"console.problem." + fe.Code}
		}
		for _, key := range keys {
			if s := templates.T(p.Locale, key); s != key {
				if strings.Contains(s, "%s") && len(nums) > 0 {
					s = templates.T(p.Locale, key, nums[0])
				} else if strings.Contains(s, "%s") {
					continue
				}
				msg = s
				break
			}
		}
		if msg == "" {
			msg = p.T("console.problem.conflict")
		}
		out[field] = append(out[field], msg)
	}
	return out
}

var consoleFields = map[string]bool{"slug": true, "kind": true, "title": true, "organizer": true, "summary": true,
	"description": true, "timezone": true, "registration_opens_at": true, "registration_closes_at": true,
	"starts_at": true, "ends_at": true, "capacity": true, "waitlist": true, "join_url": true, "location": true,
	"replay_url": true, "download_url": true, "reminders": true, "state": true}

func consoleIsField(f string) bool { return consoleFields[f] }

// consoleTimezones are offered as suggestions; any IANA name may be typed.
var consoleTimezones = []string{"UTC", "Asia/Shanghai", "Asia/Taipei", "Asia/Hong_Kong", "Asia/Singapore",
	"Asia/Tokyo", "Asia/Kolkata", "Europe/London", "Europe/Berlin", "America/New_York", "America/Chicago",
	"America/Los_Angeles", "Australia/Sydney"}

// consoleSection is a fieldset of the event form; consoleField one input of it.
type consoleSection struct {
	Legend string
	Fields []consoleField
}

type consoleField struct {
	Name, Label, Hint, Type, Value string
	Placeholder, List, Mode        string
	Checked, Required              bool
	Options                        []consoleOption
	Errors                         []string
}

type consoleOption struct {
	Value, Label string
	Selected     bool
}

// sections lays the form out, with each field's value as typed and its errors.
func (f *consoleEventForm) sections(errs consoleFormErrors, p *consolePage) []consoleSection {
	field := func(name, typ, value string) consoleField {
		ff := consoleField{Name: name, Type: typ, Value: value, Label: p.T("console.field." + name), Errors: errs[name]}
		if h := "console.hint." + name; p.T(h) != h {
			ff.Hint = p.T(h)
		}
		return ff
	}
	kinds := make([]consoleOption, 0, len(registration.EventKinds))
	for _, k := range registration.EventKinds {
		kinds = append(kinds, consoleOption{Value: k, Label: p.T("console.kind." + k), Selected: k == f.Kind})
	}
	kind := field("kind", "select", f.Kind)
	kind.Options, kind.Required = kinds, true
	title := field("title", "text", f.Title)
	title.Required = true
	slug := field("slug", "text", f.Slug)
	slug.Placeholder = "my-webinar-2026"
	state := field("state", "select", f.State)
	for _, st := range []string{registration.StateDraft, registration.StatePublished} {
		state.Options = append(state.Options, consoleOption{Value: st, Label: p.T("console.state." + st), Selected: st == f.State})
	}
	tz := field("timezone", "text", f.Timezone)
	tz.List = "timezones"
	capacity := field("capacity", "text", f.Capacity)
	capacity.Mode = "numeric"
	waitlist := field("waitlist", "checkbox", "true")
	waitlist.Checked = f.Waitlist
	reminders := field("reminders", "text", f.Reminders)
	reminders.Placeholder = "24h, 1h"
	return []consoleSection{
		{Legend: p.T("console.form.about"), Fields: []consoleField{title, kind, slug, field("organizer", "text", f.Organizer),
			field("summary", "text", f.Summary), field("description", "textarea", f.Description)}},
		{Legend: p.T("console.form.when"), Fields: []consoleField{tz, field("starts_at", "datetime-local", f.StartsAt),
			field("ends_at", "datetime-local", f.EndsAt), field("registration_opens_at", "datetime-local", f.OpensAt),
			field("registration_closes_at", "datetime-local", f.ClosesAt)}},
		{Legend: p.T("console.form.seats"), Fields: []consoleField{capacity, waitlist, reminders}},
		{Legend: p.T("console.form.where"), Fields: []consoleField{field("join_url", "url", f.JoinURL),
			field("location", "text", f.Location), field("replay_url", "url", f.ReplayURL),
			field("download_url", "url", f.DownloadURL)}},
		{Legend: p.T("console.form.publishing"), Fields: []consoleField{state}},
	}
}
