package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"eventreg/registration"
	"eventreg/templates"
)

// registrantPage is /r/{token}: the registration as its owner sees it.
type registrantPage struct {
	page
	R        *registration.Registration
	E        *registration.Event
	P        registration.Presentation
	KindTag  string
	When     string
	EventURL string

	Heading   string
	Lead      string
	Tone      string
	Position  int
	JoinURL   string // the personal link, when it leads somewhere
	JoinLabel string
	JoinHint  string

	CalendarURL string // the .ics
	GoogleURL   string

	CanCancel     bool
	CancelAction  string
	CanRegister   bool // cancelled, and the event takes sign-ups again
	RemindersOn   bool
	UnsubscribeTo string
}

func (s *Server) pageRegistrant(c *gin.Context) {
	r, e, err := s.svc.RegistrationByToken(c.Request.Context(), c.Param("token"))
	if err != nil {
		s.renderFailure(c, err)
		return
	}
	d := s.registrantData(c, r, e)
	personal(c, &d.page)
	s.render(c, http.StatusOK, "registrant", d)
}

func (s *Server) registrantData(c *gin.Context, r *registration.Registration, e *registration.Event) *registrantPage {
	loc := s.locale(c)
	now := s.svc.Now()
	token := c.Param("token")
	p := registration.Present(e, now, loc)
	ended := e.EndsAt != nil && !now.Before(*e.EndsAt)
	d := &registrantPage{
		page: page{Title: templates.T(loc, "page.reg.title")},
		R:    r, E: e, P: p, KindTag: kindTag(loc, e), When: pageWhen(loc, e), EventURL: "/events/" + e.Slug,
	}
	eventCancelled := e.State == registration.StateCancelled
	switch {
	case eventCancelled:
		d.Heading, d.Lead, d.Tone = templates.T(loc, "page.reg.event_cancelled"), templates.T(loc, "page.reg.event_cancelled.lead"), "error"
	case r.Status == registration.RegCancelled:
		d.Heading, d.Lead, d.Tone = templates.T(loc, "page.reg.cancelled"), templates.T(loc, "page.reg.cancelled.lead"), "info"
	case r.Status == registration.RegWaitlisted:
		d.Heading, d.Tone = templates.T(loc, "page.reg.waitlisted"), "warn"
		d.Lead = templates.T(loc, "page.reg.waitlisted.lead")
		d.Position = r.WaitlistPosition
	case e.Kind == registration.KindDownload:
		d.Heading, d.Lead, d.Tone = templates.T(loc, "page.reg.confirmed.download"), templates.T(loc, "page.reg.confirmed.lead", r.Email), "ok"
	default:
		d.Heading, d.Lead, d.Tone = templates.T(loc, "page.reg.confirmed"), templates.T(loc, "page.reg.confirmed.lead", r.Email), "ok"
	}
	confirmed := r.Status == registration.RegConfirmed && !eventCancelled
	if confirmed {
		d.JoinURL = s.svc.URL("/j/" + token)
		switch {
		case e.Kind == registration.KindDownload:
			d.JoinLabel, d.JoinHint = templates.T(loc, "page.reg.join.download"), templates.T(loc, "page.reg.join.download_hint")
		case ended && e.ReplayURL != "":
			d.JoinLabel, d.JoinHint = templates.T(loc, "page.reg.join.replay"), ""
		case ended:
			d.JoinURL = ""
		case e.Kind == registration.KindInPerson && e.JoinURL == "":
			// Nothing to join online: the page shows the place.
			d.JoinURL = ""
		default:
			d.JoinLabel, d.JoinHint = templates.T(loc, "page.reg.join.online"), templates.T(loc, "page.reg.join.hint")
		}
	}
	if e.StartsAt != nil && !ended && r.Status != registration.RegCancelled && !eventCancelled {
		d.CalendarURL = "/api/v1/registrations/" + token + "/calendar.ics"
		var details []string
		if e.Summary != "" {
			details = append(details, e.Summary)
		}
		location := e.Location
		if confirmed && d.JoinURL != "" {
			details = append(details, templates.T(loc, "page.gcal.join", d.JoinURL))
			if location == "" {
				location = d.JoinURL
			}
		}
		details = append(details, templates.T(loc, "page.gcal.manage", s.svc.URL("/r/"+token)))
		d.GoogleURL = googleCalendarURL(e, strings.Join(details, "\n\n"), location)
	}
	d.CanCancel = r.Status != registration.RegCancelled && !eventCancelled && !ended
	d.CancelAction = "/r/" + token + "/cancel"
	d.CanRegister = r.Status == registration.RegCancelled && p.RegistrationOpen
	if d.CanCancel {
		d.CSRF = s.csrfToken(c)
	}
	d.RemindersOn = confirmed && !r.RemindersOff && !ended && len(e.Reminders) > 0 && e.StartsAt != nil
	d.UnsubscribeTo = "/u/" + token
	return d
}

// ---- cancelling, with a step that asks first ----

type cancelPage struct {
	page
	R        *registration.Registration
	E        *registration.Event
	When     string
	Action   string
	Back     string
	Promotes bool // a waitlisted person gets the seat
}

// pageCancel asks "are you sure?" first; the confirmed form (confirm=yes)
// cancels and goes back to the registrant's page.
func (s *Server) pageCancel(c *gin.Context) {
	ctx := c.Request.Context()
	token := c.Param("token")
	if c.PostForm("confirm") != "yes" {
		r, e, err := s.svc.RegistrationByToken(ctx, token)
		if err != nil {
			s.renderFailure(c, err)
			return
		}
		if r.Status == registration.RegCancelled {
			c.Redirect(http.StatusSeeOther, "/r/"+token)
			return
		}
		loc := s.locale(c)
		d := &cancelPage{page: page{Title: templates.T(loc, "page.cancel.title"), Path: "/r/" + token, CSRF: s.csrfToken(c)},
			R: r, E: e, When: pageWhen(loc, e), Action: "/r/" + token + "/cancel", Back: "/r/" + token,
			Promotes: r.Status == registration.RegConfirmed && e.Waitlisted > 0}
		personal(c, &d.page)
		s.render(c, http.StatusOK, "cancel", d)
		return
	}
	if _, _, err := s.svc.CancelByToken(ctx, token); err != nil {
		s.renderFailure(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, "/r/"+token)
}

// ---- the personal join link ----

type joinPage struct {
	page
	R        *registration.Registration
	E        *registration.Event
	Heading  string
	Lines    []string
	Tone     string
	OpensAt  string // the time the link opens, in the event's timezone
	When     string
	Back     string
	Location string
}

// pageJoin follows the event's life (SPEC §4): a redirect to the event, the
// download or the replay when there is one, else a page that says why not.
func (s *Server) pageJoin(c *gin.Context) {
	token := c.Param("token")
	r, e, a, err := s.svc.Join(c.Request.Context(), token)
	if err != nil {
		s.renderFailure(c, err)
		return
	}
	if a.Redirect != "" {
		c.Header("Cache-Control", "no-store")
		c.Header("Referrer-Policy", "no-referrer")
		c.Redirect(http.StatusFound, a.Redirect)
		return
	}
	loc := s.locale(c)
	d := &joinPage{page: page{}, R: r, E: e, When: pageWhen(loc, e), Back: "/r/" + token}
	switch a.Reason {
	case "not_yet":
		d.Heading, d.Tone = templates.T(loc, "page.join.not_yet"), "info"
		if a.OpensAt != nil {
			d.OpensAt = pageTime(loc, e, *a.OpensAt)
			d.Lines = append(d.Lines, templates.T(loc, "page.join.not_yet.opens", a.OpensAt.In(e.Loc()).Format("15:04")))
			// Within the hour, the page reloads itself when the link opens.
			if wait := a.OpensAt.Sub(s.svc.Now()); wait > 0 && wait <= time.Hour {
				d.Refresh = int(wait/time.Second) + 1
			}
		}
	case "waitlisted":
		d.Heading, d.Tone = templates.T(loc, "page.join.waitlisted"), "warn"
		d.Lines = append(d.Lines, templates.T(loc, "page.join.waitlisted.body", r.WaitlistPosition))
	case "cancelled":
		d.Heading, d.Tone = templates.T(loc, "page.join.cancelled"), "error"
		key := "page.join.cancelled.registration"
		if e.State == registration.StateCancelled {
			key = "page.join.cancelled.event"
		}
		d.Lines = append(d.Lines, templates.T(loc, key))
	case "ended":
		d.Heading, d.Tone = templates.T(loc, "page.join.ended"), "info"
		d.Lines = append(d.Lines, templates.T(loc, "page.join.ended.body"))
	default: // no_link
		d.Heading, d.Tone = templates.T(loc, "page.join.no_link"), "info"
		d.Lines = append(d.Lines, templates.T(loc, "page.join.no_link.body"))
		d.Location = e.Location
	}
	d.Title = d.Heading
	personal(c, &d.page)
	s.render(c, http.StatusOK, "join", d)
}

// ---- stopping reminders ----

type unsubscribePage struct {
	page
	R      *registration.Registration
	E      *registration.Event
	Done   bool // reminders are off
	Action string
	Back   string
}

func (s *Server) pageUnsubscribe(c *gin.Context) {
	r, e, err := s.svc.RegistrationByToken(c.Request.Context(), c.Param("token"))
	if err != nil {
		s.renderFailure(c, err)
		return
	}
	s.renderUnsubscribe(c, r, e)
}

// pageUnsubscribeDone stops the reminders: from the page's button, or from a
// mail provider's one-click POST (RFC 8058), which expects a 200.
func (s *Server) pageUnsubscribeDone(c *gin.Context) {
	r, e, err := s.svc.Unsubscribe(c.Request.Context(), c.Param("token"))
	if err != nil {
		s.renderFailure(c, err)
		return
	}
	s.renderUnsubscribe(c, r, e)
}

func (s *Server) renderUnsubscribe(c *gin.Context, r *registration.Registration, e *registration.Event) {
	loc := s.locale(c)
	token := c.Param("token")
	d := &unsubscribePage{R: r, E: e, Done: r.RemindersOff, Action: "/u/" + token, Back: "/r/" + token}
	if d.Done {
		d.Title = templates.T(loc, "page.unsub.done")
	} else {
		d.Title = templates.T(loc, "page.unsub.title")
	}
	personal(c, &d.page)
	s.render(c, http.StatusOK, "unsubscribe", d)
}
