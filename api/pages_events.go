package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"

	"eventreg/registration"
	"eventreg/templates"
)

// ---- the events box ----

type listPage struct {
	page
	Kind    string // the kind filtered by, "" for all
	Filters []kindFilter
	Rows    []listRow
}

type kindFilter struct {
	URL, Name string
	Current   bool
}

type listRow struct {
	E       *registration.Event
	P       registration.Presentation
	URL     string
	KindTag string
	Pill    string
	Date    string // machine-readable date of the window label, "" when none
	// TitleTag is a 【…】 tag the title starts with, styled like the kind
	// tag; TitleRest is the rest of the title.
	TitleTag, TitleRest string
}

func (s *Server) pageList(c *gin.Context) {
	if s.cfg.PublicCache <= 0 {
		s.renderList(c, func(d *listPage) { s.render(c, http.StatusOK, "list", d) })
		return
	}
	// The box is the most read page of all and the same for everyone who
	// reads it in one language: it is answered from the public cache.
	s.rememberLocale(c)
	c.Header("Content-Language", s.locale(c))
	c.Header("Vary", "Accept-Language, Cookie")
	c.Header("Cache-Control", "private, no-cache")
	err := s.cache.serve(c, s.cfg.PublicCache, "page / "+s.locale(c)+" "+c.Request.URL.RawQuery, func() (int, string, []byte, error) {
		status, ct, body, err := 0, "", []byte(nil), error(nil)
		s.renderList(c, func(d *listPage) {
			body, err = s.renderBytes(c, "list", d)
			status, ct = http.StatusOK, "text/html; charset=utf-8"
		})
		if status == 0 && err == nil {
			err = errRendered
		}
		return status, ct, body, err
	})
	if err != nil && err != errRendered {
		s.renderFailure(c, err)
	}
}

// errRendered says the page was answered already (with an error page).
var errRendered = errors.New("answered")

// renderList builds the box and hands it to done, or answers the failure.
func (s *Server) renderList(c *gin.Context, done func(*listPage)) {
	loc := s.locale(c)
	kind := c.Query("kind")
	var kinds []string
	if slices.Contains(registration.EventKinds, kind) {
		kinds = []string{kind}
	} else {
		kind = ""
	}
	events, now, err := s.publicEvents(c, nil, kinds)
	if err != nil {
		s.renderFailure(c, err)
		return
	}
	d := &listPage{page: page{Title: templates.T(loc, "page.list.title")}, Kind: kind}
	d.Filters = append(d.Filters, kindFilter{URL: "/", Name: templates.T(loc, "page.filter.all"), Current: kind == ""})
	for _, k := range registration.EventKinds {
		d.Filters = append(d.Filters, kindFilter{URL: "/?kind=" + k, Name: templates.T(loc, "page.kind_name."+k), Current: k == kind})
	}
	for _, e := range events {
		p := registration.Present(e, now, loc)
		row := listRow{E: e, P: p, URL: "/events/" + e.Slug, KindTag: kindTag(loc, e), Pill: pillClass(p.CTAKey)}
		row.TitleTag, row.TitleRest = splitTitleTag(e.Title)
		switch {
		case e.StartsAt != nil:
			row.Date = e.StartsAt.In(e.Loc()).Format("2006-01-02")
		case e.RegistrationClosesAt != nil:
			row.Date = e.RegistrationClosesAt.In(e.Loc()).Format("2006-01-02")
		}
		d.Rows = append(d.Rows, row)
	}
	done(d)
}

// ---- the event page and its form ----

type eventPage struct {
	page
	E          *registration.Event
	P          registration.Presentation
	KindTag    string
	Pill       string
	When       string
	Where      string
	Seats      string // seats left, when the event has a capacity
	Opens      string // registration opens, when it has not yet
	Closes     string // registration closes, while it is open
	Paragraphs [][]string

	Notice     string // what the status means for someone who wants to come
	NoticeTone string
	Refusal    string // why a sign-up just sent was refused
	ReplayURL  string

	ShowForm    bool
	FormHeading string
	Submit      string
	Fields      []formField
	Consent     bool
	ConsentErr  string
	ErrorList   []formError
	FormAction  string
}

// formField is one input of the sign-up form with what was typed and why it
// was refused.
type formField struct {
	Name, Label, Type, Value, Error, Hint string
	Autocomplete, InputMode               string
	Required, Multiline                   bool
	MaxLength                             int
}

func (f formField) ID() string { return "f-" + f.Name }

// DescribedBy lists the ids of the hint and the error, for aria-describedby.
func (f formField) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID()+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID()+"-error")
	}
	return strings.Join(ids, " ")
}

type formError struct {
	ID, Label, Message string
}

// signupForm is the posted sign-up form. Website is the honeypot: people
// never see it, form-filling robots fill it in.
type signupForm struct {
	Name     string `form:"name"`
	Email    string `form:"email"`
	Company  string `form:"company"`
	JobTitle string `form:"job_title"`
	Phone    string `form:"phone"`
	Question string `form:"question"`
	Consent  string `form:"consent"`
	Website  string `form:"website"`
}

func (s *Server) pageEvent(c *gin.Context) {
	e, err := s.svc.PublicEvent(c.Request.Context(), c.Param("slug"))
	if err != nil {
		s.renderFailure(c, err)
		return
	}
	s.renderEvent(c, http.StatusOK, e, nil, nil, "")
}

// pageBackToEvent sends a GET of the form's address to the event page.
func (s *Server) pageBackToEvent(c *gin.Context) {
	if !registration.ValidSlug(c.Param("slug")) {
		s.renderNotFound(c)
		return
	}
	u := "/events/" + c.Param("slug")
	if l := supportedLocale(c.Query("lang")); l != "" {
		u += "?lang=" + l
	}
	c.Redirect(http.StatusSeeOther, u)
}

// renderEvent shows the event page; after a refused sign-up, with the form as
// it was sent (f), the errors beside their fields (v) or the refusal.
func (s *Server) renderEvent(c *gin.Context, status int, e *registration.Event, f *signupForm, v *registration.ValidationError, refusal string) {
	loc := s.locale(c)
	now := s.svc.Now()
	p := registration.Present(e, now, loc)
	d := &eventPage{
		page: page{Title: e.Title, Path: "/events/" + e.Slug},
		E:    e, P: p, KindTag: kindTag(loc, e), Pill: pillClass(p.CTAKey),
		When: pageWhen(loc, e), Paragraphs: paragraphs(e.Description), Refusal: refusal,
		FormAction: "/events/" + e.Slug + "/register",
	}
	d.Where = e.Location
	if d.Where == "" && onlineKinds[e.Kind] {
		d.Where = templates.T(loc, "page.event.online")
	}
	if left := registration.SeatsLeft(e); left != nil && (p.Status == registration.StatusOpen || p.Status == registration.StatusWaitlist || p.Status == registration.StatusFull) {
		if *left == 0 {
			d.Seats = templates.T(loc, "page.event.seats_none", *e.Capacity)
		} else {
			d.Seats = templates.T(loc, "page.event.seats_left", *left, *e.Capacity)
		}
	}
	if p.Status == registration.StatusUpcoming {
		d.Opens = pageTime(loc, e, e.RegistrationOpensAt)
	}
	if p.RegistrationOpen && e.RegistrationClosesAt != nil {
		d.Closes = pageTime(loc, e, *e.RegistrationClosesAt)
	}
	d.Notice, d.NoticeTone = eventNotice(loc, e, p)
	if p.Status == registration.StatusReplay {
		d.ReplayURL = e.ReplayURL
	}
	d.ShowForm = p.RegistrationOpen
	if d.ShowForm {
		d.CSRF = s.csrfToken(c)
		d.Submit = submitLabel(loc, e, p)
		d.FormHeading = templates.T(loc, "page.form.heading")
		if p.Status == registration.StatusWaitlist {
			d.FormHeading = templates.T(loc, "page.form.heading_waitlist")
		}
		if f == nil {
			f = &signupForm{}
		}
		d.Fields, d.ErrorList, d.ConsentErr = signupFields(loc, f, v)
		d.Consent = f.Consent != ""
	}
	s.render(c, status, "event", d)
}

// onlineKinds happen online: without a location the page says "Online".
var onlineKinds = map[string]bool{registration.KindWebinar: true, registration.KindOnlineConference: true, registration.KindOnlineSummit: true}

// eventNotice says what the event's status means for someone who wants to come.
func eventNotice(loc string, e *registration.Event, p registration.Presentation) (string, string) {
	switch p.Status {
	case registration.StatusLive:
		if p.RegistrationOpen {
			return templates.T(loc, "page.notice.live_open"), "ok"
		}
		return templates.T(loc, "page.notice.live"), "info"
	case registration.StatusWaitlist:
		return templates.T(loc, "page.notice.waitlist"), "warn"
	case registration.StatusFull:
		return templates.T(loc, "page.notice.full"), "warn"
	case registration.StatusClosed:
		return templates.T(loc, "page.notice.closed"), "info"
	case registration.StatusUpcoming:
		return templates.T(loc, "page.notice.upcoming"), "info"
	case registration.StatusReplay:
		return templates.T(loc, "page.notice.replay"), "info"
	case registration.StatusEnded:
		return templates.T(loc, "page.notice.ended"), "info"
	case registration.StatusCancelled:
		return templates.T(loc, "page.notice.cancelled"), "error"
	}
	return "", ""
}

func submitLabel(loc string, e *registration.Event, p registration.Presentation) string {
	switch {
	case p.Status == registration.StatusWaitlist:
		return templates.T(loc, "page.form.submit.waitlist")
	case e.Kind == registration.KindDownload:
		return templates.T(loc, "page.form.submit.download")
	case e.Kind == registration.KindOffer:
		return templates.T(loc, "page.form.submit.offer")
	}
	return templates.T(loc, "page.form.submit.register")
}

// signupFields lays out the form with the values of f and the errors of v.
func signupFields(loc string, f *signupForm, v *registration.ValidationError) ([]formField, []formError, string) {
	fields := []formField{
		{Name: "name", Type: "text", Value: f.Name, Required: true, Autocomplete: "name", MaxLength: 100},
		{Name: "email", Type: "email", Value: f.Email, Required: true, Autocomplete: "email", MaxLength: 254,
			Hint: templates.T(loc, "page.form.email.hint")},
		{Name: "company", Type: "text", Value: f.Company, Autocomplete: "organization", MaxLength: 200},
		{Name: "job_title", Type: "text", Value: f.JobTitle, Autocomplete: "organization-title", MaxLength: 100},
		{Name: "phone", Type: "tel", Value: f.Phone, Autocomplete: "tel", InputMode: "tel", MaxLength: 32},
		{Name: "question", Value: f.Question, Multiline: true, MaxLength: 500,
			Hint: templates.T(loc, "page.form.question.hint")},
	}
	errs := map[string]string{}
	var list []formError
	var consentErr string
	if v != nil {
		for _, fe := range v.Fields {
			if _, seen := errs[fe.Field]; seen {
				continue
			}
			msg := fieldMessage(loc, fe)
			errs[fe.Field] = msg
			label := templates.T(loc, "page.form."+fe.Field)
			id := "f-" + fe.Field
			if !slices.ContainsFunc(fields, func(ff formField) bool { return ff.Name == fe.Field }) {
				if fe.Field == "consent" {
					consentErr = msg
				} else {
					id, label = "", ""
				}
			}
			list = append(list, formError{ID: id, Label: label, Message: msg})
		}
	}
	for i := range fields {
		fields[i].Label = templates.T(loc, "page.form."+fields[i].Name)
		fields[i].Error = errs[fields[i].Name]
	}
	return fields, list, consentErr
}

func (s *Server) pageRegister(c *gin.Context) {
	ctx := c.Request.Context()
	slug := c.Param("slug")
	var f signupForm
	if err := c.ShouldBindWith(&f, binding.FormPost); err != nil {
		if mbe := (*http.MaxBytesError)(nil); !errors.As(err, &mbe) {
			err = fmt.Errorf("%w: %w", errBadForm, err) // the client's mistake, not a 500
		}
		s.renderFailure(c, err)
		return
	}
	if f.Website != "" && registration.ValidSlug(slug) {
		// A robot filled in the field people never see: pretend it worked.
		logger(c).Warn("sign-up honeypot filled", "slug", slug, "client", clientIP(c))
		s.metrics.signup("honeypot")
		c.Redirect(http.StatusSeeOther, "/events/"+slug+"/thanks")
		return
	}
	in := registration.SignupInput{Name: f.Name, Email: f.Email, Company: f.Company, JobTitle: f.JobTitle,
		Phone: f.Phone, Question: f.Question, Consent: f.Consent != "", Locale: s.locale(c)}
	res, err := s.svc.Signup(ctx, slug, in, "")
	if err != nil {
		p := problemFor(err)
		s.metrics.signup(p.Code)
		var ve *registration.ValidationError
		if p.Status != http.StatusUnprocessableEntity && p.Status != http.StatusConflict {
			s.renderFailure(c, err)
			return
		}
		e, eerr := s.svc.PublicEvent(ctx, slug)
		if eerr != nil {
			s.renderFailure(c, eerr)
			return
		}
		if errors.As(err, &ve) {
			s.renderEvent(c, http.StatusUnprocessableEntity, e, &f, ve, "")
			return
		}
		s.renderEvent(c, p.Status, e, &f, nil, refusalMessage(s.locale(c), p.Code))
		return
	}
	s.metrics.signup(signupResult(res))
	if res.Duplicate {
		c.Redirect(http.StatusSeeOther, "/events/"+slug+"/already-registered")
		return
	}
	c.Redirect(http.StatusSeeOther, "/r/"+res.Token)
}

func refusalMessage(loc, code string) string {
	key := "page.refusal." + code
	if v := templates.T(loc, key); v != key {
		return v
	}
	return templates.T(loc, "page.refusal.other")
}

// pageThanks is the neutral answer to a sign-up: where the honeypot sends robots.
func (s *Server) pageThanks(c *gin.Context) {
	s.pageAfterSignup(c, "page.thanks.heading", "page.thanks.body", "page.thanks.spam")
}

// pageAlreadyRegistered answers a repeated sign-up; it shows nothing of the
// registration, since whoever typed the address may not own it.
func (s *Server) pageAlreadyRegistered(c *gin.Context) {
	s.pageAfterSignup(c, "page.duplicate.heading", "page.duplicate.body", "page.duplicate.spam")
}

// pageAfterSignup says heading, then body (which names the event), then more.
func (s *Server) pageAfterSignup(c *gin.Context, heading, body string, more ...string) {
	e, err := s.svc.PublicEvent(c.Request.Context(), c.Param("slug"))
	if err != nil {
		s.renderFailure(c, err)
		return
	}
	loc := s.locale(c)
	m := &messagePage{Tone: "ok", Heading: templates.T(loc, heading), Lines: []string{templates.T(loc, body, e.Title)}}
	for _, l := range more {
		m.Lines = append(m.Lines, templates.T(loc, l))
	}
	m.Links = []pageLink{{URL: "/events/" + e.Slug, Text: templates.T(loc, "page.nav.back_to_event"), Primary: true}, s.homeLink(loc)}
	c.Header("Cache-Control", "no-store")
	s.renderMessage(c, http.StatusOK, m)
}
