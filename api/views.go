package api

import (
	"time"

	"eventreg/registration"
)

// eventView is an event as the JSON API shows it. join_url and download_url
// are private: they appear only in organizer reads.
type eventView struct {
	Slug                 string     `json:"slug"`
	Kind                 string     `json:"kind"`
	Title                string     `json:"title"`
	Organizer            string     `json:"organizer"`
	Summary              string     `json:"summary"`
	Description          string     `json:"description"`
	Timezone             string     `json:"timezone"`
	RegistrationOpensAt  time.Time  `json:"registration_opens_at"`
	RegistrationClosesAt *time.Time `json:"registration_closes_at"`
	StartsAt             *time.Time `json:"starts_at"`
	EndsAt               *time.Time `json:"ends_at"`
	Capacity             *int       `json:"capacity"`
	Waitlist             bool       `json:"waitlist"`
	Location             string     `json:"location"`
	ReplayURL            string     `json:"replay_url"`
	Reminders            []string   `json:"reminders"`
	State                string     `json:"state"`
	Status               string     `json:"status"`
	RegistrationOpen     bool       `json:"registration_open"`
	CTA                  string     `json:"cta"`
	CTAKey               string     `json:"cta_key"`
	WindowLabel          string     `json:"window_label"`
	Locale               string     `json:"locale"`
	URL                  string     `json:"url"`
}

// organizerEventView adds what only organizers see.
type organizerEventView struct {
	*eventView
	JoinURL     string              `json:"join_url"`
	DownloadURL string              `json:"download_url"`
	Sequence    int                 `json:"sequence"`
	Counts      registration.Counts `json:"counts"`
	SeatsLeft   *int                `json:"seats_left"` // null when unlimited
	CreatedAt   time.Time           `json:"created_at"`
	UpdatedAt   time.Time           `json:"updated_at"`
}

func (s *Server) publicEventView(e *registration.Event, now time.Time, locale string) *eventView {
	p := registration.Present(e, now, locale)
	return &eventView{
		Slug: e.Slug, Kind: e.Kind, Title: e.Title, Organizer: e.Organizer, Summary: e.Summary,
		Description: e.Description, Timezone: e.Timezone, RegistrationOpensAt: e.RegistrationOpensAt,
		RegistrationClosesAt: e.RegistrationClosesAt, StartsAt: e.StartsAt, EndsAt: e.EndsAt,
		Capacity: e.Capacity, Waitlist: e.Waitlist, Location: e.Location, ReplayURL: e.ReplayURL,
		Reminders: e.Reminders.Strings(), State: e.State, Status: p.Status,
		RegistrationOpen: p.RegistrationOpen, CTA: p.CTA, CTAKey: p.CTAKey, WindowLabel: p.WindowLabel,
		Locale: locale, URL: s.svc.URL("/events/" + e.Slug),
	}
}

func (s *Server) organizerEventView(e *registration.Event, counts registration.Counts, now time.Time, locale string) *organizerEventView {
	return &organizerEventView{
		eventView: s.publicEventView(e, now, locale),
		JoinURL:   e.JoinURL, DownloadURL: e.DownloadURL, Sequence: e.Sequence, Counts: counts,
		SeatsLeft: registration.SeatsLeft(e), CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
}

// registrationView is a registration as organizers see it.
type registrationView struct {
	ID               int64      `json:"id"`
	Status           string     `json:"status"`
	WaitlistPosition *int       `json:"waitlist_position,omitempty"`
	Name             string     `json:"name"`
	Email            string     `json:"email"`
	Company          string     `json:"company"`
	JobTitle         string     `json:"job_title"`
	Phone            string     `json:"phone"`
	Question         string     `json:"question"`
	Locale           string     `json:"locale"`
	Consent          bool       `json:"consent"`
	RemindersOff     bool       `json:"reminders_off"`
	CreatedAt        time.Time  `json:"created_at"`
	ConfirmedAt      *time.Time `json:"confirmed_at"`
	CancelledAt      *time.Time `json:"cancelled_at"`
	CheckedInAt      *time.Time `json:"checked_in_at"`
	JoinedAt         *time.Time `json:"joined_at"`
}

func newRegistrationView(r *registration.Registration) *registrationView {
	v := &registrationView{
		ID: r.ID, Status: r.Status, Name: r.Name, Email: r.Email, Company: r.Company, JobTitle: r.JobTitle,
		Phone: r.Phone, Question: r.Question, Locale: r.Locale, Consent: r.Consent, RemindersOff: r.RemindersOff,
		CreatedAt: r.CreatedAt, ConfirmedAt: r.ConfirmedAt, CancelledAt: r.CancelledAt,
		CheckedInAt: r.CheckedInAt, JoinedAt: r.JoinedAt,
	}
	if r.Status == registration.RegWaitlisted && r.WaitlistPosition > 0 {
		pos := r.WaitlistPosition
		v.WaitlistPosition = &pos
	}
	return v
}

// ownRegistrationView is what a registrant sees through their token: their
// own data, the event, and their personal links.
type ownRegistrationView struct {
	registrationView
	WaitlistPosition *int       `json:"waitlist_position"`
	Event            *eventView `json:"event"`
	ManageURL        string     `json:"manage_url"`
	CalendarURL      string     `json:"calendar_url"`
	JoinURL          string     `json:"join_url,omitempty"`
}
