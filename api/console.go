package api

import (
	"bytes"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"eventreg/registration"
	"eventreg/templates"
)

// console is the organizer console under /admin: server-rendered pages that
// work without JavaScript, behind a session cookie.
type console struct {
	s          *Server
	pages      map[string]*template.Template
	sessionKey []byte
	proxies    []*net.IPNet
	loginLimit *limiter
}

// consolePages are the page templates under templates/pages/console, each
// parsed with layout.html.
var consolePages = []string{"login", "events", "event_form", "event", "confirm", "error"}

func newConsole(s *Server) (*console, error) {
	con := &console{
		s:          s,
		pages:      map[string]*template.Template{},
		sessionKey: s.svc.Secret("console-session"),
		proxies:    consoleProxies(s.cfg.TrustedProxies),
		// Tokens are long and random, but the admin token of the
		// configuration is whatever the operator chose.
		loginLimit: newLimiter(RateLimit{Count: 10, Per: time.Minute}, s.cfg.Now),
	}
	for _, name := range consolePages {
		t, err := template.New(name).Funcs(consoleFuncs).ParseFS(templates.FS,
			"pages/console/layout.html", "pages/console/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		con.pages[name] = t
	}
	return con, nil
}

func (s *Server) consoleRoutes(r *gin.Engine) {
	con, err := newConsole(s)
	if err != nil {
		// The templates are embedded: a broken one is a defect of the build.
		panic(err)
	}
	a := r.Group("/admin")
	a.GET("/login", con.loginPage)
	a.POST("/login", con.s.requireCSRF(), con.login)

	in := a.Group("", con.requireSession())
	in.GET("", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/admin/events") })
	in.GET("/events", con.events)
	in.GET("/events/new", con.newEvent)
	in.GET("/events/:slug", con.event)
	in.GET("/events/:slug/edit", con.editEvent)
	in.GET("/events/:slug/cancel", con.confirmCancelEvent)
	in.GET("/events/:slug/registrations.csv", con.csv)
	in.GET("/events/:slug/registrations/:id/cancel", con.confirmCancelRegistration)

	post := in.Group("", con.s.requireCSRF())
	post.POST("/logout", con.logout)
	post.POST("/events/new", con.createEvent)
	post.POST("/events/:slug/edit", con.updateEvent)
	post.POST("/events/:slug/publish", con.publish)
	post.POST("/events/:slug/cancel", con.cancelEvent)
	post.POST("/events/:slug/registrations/:id/check-in", con.checkIn)
	post.POST("/events/:slug/registrations/:id/cancel", con.cancelRegistration)
	post.POST("/events/:slug/registrations/:id/resend", con.resend)
	post.POST("/events/:slug/emails/retry", con.retry)
}

// ---- rendering ----

// consolePage is what every console template gets.
type consolePage struct {
	Locale     string
	Stylesheet string // versioned address of console.css
	Title      string
	Organizer  string
	CSRF       string
	CSRFField  string
	Langs      []pageLang
	Data       any
}

// T translates key into the page's language.
func (p *consolePage) T(key string, args ...any) string { return templates.T(p.Locale, key, args...) }

func (con *console) render(c *gin.Context, status int, name, titleKey string, data any, titleArgs ...any) {
	locale := con.s.locale(c)
	p := &consolePage{Locale: locale, CSRF: con.s.csrfToken(c), CSRFField: csrfFormField, Data: data,
		Stylesheet: con.s.pages.static.url("console.css")}
	p.Title = p.T(titleKey, titleArgs...)
	if v, ok := c.Get(userKey); ok {
		p.Organizer, _ = v.(string)
	}
	// The language switcher and the lang cookie work as on the public pages.
	con.s.rememberLocale(c)
	p.Langs = con.s.langLinks(c, &page{Locale: locale})
	var buf bytes.Buffer
	if err := con.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		logger(c).Error("console template", "page", name, "err", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("internal error\n"))
		c.Abort()
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// renderError shows a short page saying what went wrong, with a way back.
func (con *console) renderError(c *gin.Context, status int, key string) {
	con.render(c, status, "error", "console.error.title", gin.H{"Status": status, "Message": key})
	c.Abort()
}

// fail maps an error of the domain to its status (errors.go) and a message
// page in the organizer's language.
func (con *console) fail(c *gin.Context, err error) {
	p := problemFor(err)
	switch p.Status {
	case 500:
		logger(c).Error("console request failed", "err", err)
	case 503:
		logger(c).Warn("unavailable", "err", err)
		c.Header("Retry-After", "5")
	}
	key := "console.problem." + p.Code
	if templates.T("en", key) == key {
		key = "console.problem.internal"
		if p.Status < 500 {
			key = "console.problem.conflict"
		}
	}
	con.renderError(c, p.Status, key)
}

// consoleDone are the outcomes a redirect may announce (?done=).
var consoleDone = []string{"signed_out", "created", "saved", "published", "cancelled", "checked_in",
	"check_in_undone", "registration_cancelled", "resent", "retried"}

func consoleDoneKey(c *gin.Context) string {
	if d := c.Query("done"); slices.Contains(consoleDone, d) {
		return "console.done." + d
	}
	return ""
}

// consoleKeepQuery are the parameters of the event page an action returns to.
var consoleKeepQuery = []string{"q", "status", "cursor", "emails"}

// consoleEventURL is the event page with the list state of ret (a query string
// carried by the form) and an outcome to announce.
func consoleEventURL(slug, ret, done string, extra ...string) string {
	in, _ := url.ParseQuery(ret)
	q := url.Values{}
	for _, k := range consoleKeepQuery {
		if v := in.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	if done != "" {
		q.Set("done", done)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	u := "/admin/events/" + url.PathEscape(slug)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// consoleReturnQuery is the list state of the current event page, for its forms.
func consoleReturnQuery(c *gin.Context) string {
	q := url.Values{}
	for _, k := range consoleKeepQuery {
		if v := c.Query(k); v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

// ---- events ----

type consoleEventRow struct {
	E                *registration.Event
	P                registration.Presentation
	Pending, Failed  int
	CapacityLabel    string
	ConfirmedPercent int
}

func (con *console) events(c *gin.Context) {
	ctx := c.Request.Context()
	list, err := con.s.svc.Store().Events(ctx, registration.EventFilter{})
	if err != nil {
		con.fail(c, err)
		return
	}
	now, locale := con.s.svc.Now(), con.s.locale(c)
	rows := make([]consoleEventRow, 0, len(list))
	for _, e := range list {
		emails, err := con.s.svc.Store().EmailCounts(ctx, e.ID)
		if err != nil {
			con.fail(c, err)
			return
		}
		rows = append(rows, consoleEventRow{E: e, P: registration.Present(e, now, locale),
			Pending: emails[registration.MsgPending] + emails[registration.MsgSending], Failed: emails[registration.MsgFailed]})
	}
	con.render(c, http.StatusOK, "events", "console.events.title", gin.H{"Events": rows, "Done": consoleDoneKey(c)})
}

// consoleEventPage is everything the page of one event shows.
type consoleEventPage struct {
	E          *registration.Event
	P          registration.Presentation
	Loc        *time.Location
	Stats      *registration.Stats
	Reminders  []registration.ReminderReport
	Regs       []*registration.Registration
	Total      int
	Q, Status  string
	Cursor     string
	NextCursor string
	BadFilter  bool
	Return     string
	CSVURL     string
	PublicURL  string
	Emails     []*registration.Message
	EmailsOf   string // status the email log is filtered by
	Failed     int
	Pending    int
	PerDay     *consoleBarChart
	Funnel     *consoleFunnel
	Done       string
	Retried    string
}

func (con *console) event(c *gin.Context) {
	ctx := c.Request.Context()
	e, err := con.s.svc.Event(ctx, c.Param("slug"))
	if err != nil {
		con.fail(c, err)
		return
	}
	locale := con.s.locale(c)
	d := &consoleEventPage{E: e, Loc: e.Loc(), P: registration.Present(e, con.s.svc.Now(), locale), Done: consoleDoneKey(c),
		PublicURL: "/events/" + e.Slug, Return: consoleReturnQuery(c)}
	if d.Done == "console.done.retried" {
		d.Retried = strconv.Itoa(max(0, consoleAtoi(c.Query("n"), 0)))
	}
	if d.Stats, err = con.s.svc.Stats(ctx, e); err != nil {
		con.fail(c, err)
		return
	}
	d.Failed = d.Stats.Emails[registration.MsgFailed]
	d.Pending = d.Stats.Emails[registration.MsgPending] + d.Stats.Emails[registration.MsgSending]
	if d.Reminders, err = con.s.svc.ReminderSchedule(ctx, e); err != nil {
		con.fail(c, err)
		return
	}
	// The same reading of ?status=&q=&cursor= as the JSON API; a bad value
	// (a hand-edited URL) shows the first page of everything instead.
	f, ferr := registrationFilter(c, e.ID)
	if ferr != nil {
		d.BadFilter = true
		f = registration.RegistrationFilter{EventID: e.ID, Limit: 50}
	}
	d.Q, d.Status, d.Cursor = f.Query, f.Status, c.Query("cursor")
	if ferr != nil {
		d.Cursor = ""
	}
	if d.Regs, d.Total, err = con.s.svc.Store().Registrations(ctx, f); err != nil {
		con.fail(c, err)
		return
	}
	for _, r := range d.Regs {
		if r.Status == registration.RegWaitlisted {
			// The list reads no positions; a page holds few waitlisted rows.
			full, err := con.s.svc.Store().RegistrationByID(ctx, r.ID)
			if err != nil {
				con.fail(c, err)
				return
			}
			r.WaitlistPosition = full.WaitlistPosition
		}
	}
	if len(d.Regs) == f.Limit {
		d.NextCursor = encodeIDCursor(d.Regs[len(d.Regs)-1].ID)
	}
	csv := url.Values{}
	if f.Status != "" {
		csv.Set("status", f.Status)
	}
	if f.Query != "" {
		csv.Set("q", f.Query)
	}
	d.CSVURL = "/admin/events/" + e.Slug + "/registrations.csv"
	if len(csv) > 0 {
		d.CSVURL += "?" + csv.Encode()
	}
	mf := registration.MessageFilter{EventID: e.ID, Limit: 50}
	if st := c.Query("emails"); slices.Contains(msgStatuses, st) {
		mf.Status, d.EmailsOf = st, st
	}
	if d.Emails, err = con.s.svc.Store().Messages(ctx, mf); err != nil {
		con.fail(c, err)
		return
	}
	p := &consolePage{Locale: locale}
	d.PerDay = consolePerDayChart(d.Stats.PerDay, con.s.svc.Now().In(d.Loc), p)
	d.Funnel = consoleNewFunnel(d.Stats.Counts, p)
	con.render(c, http.StatusOK, "event", "console.event.title", d, e.Title)
}

func consoleAtoi(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

func (con *console) newEvent(c *gin.Context) {
	f := &consoleEventForm{Kind: registration.KindWebinar, Timezone: con.s.svc.DefaultTimezone(), Waitlist: true,
		Reminders: "24h, 1h", State: registration.StateDraft}
	con.renderForm(c, http.StatusOK, f, nil, nil)
}

func (con *console) createEvent(c *gin.Context) {
	var f consoleEventForm
	if err := c.ShouldBind(&f); err != nil {
		con.renderError(c, http.StatusBadRequest, "console.problem.bad_form")
		return
	}
	e, err := con.s.svc.CreateEvent(c.Request.Context(), f.raw(nil, con.s.svc.DefaultTimezone()))
	if err != nil {
		con.formFailed(c, &f, nil, err)
		return
	}
	logger(c).Info("console: event created", "slug", e.Slug)
	c.Redirect(http.StatusSeeOther, consoleEventURL(e.Slug, "", "created"))
}

func (con *console) editEvent(c *gin.Context) {
	e, err := con.s.svc.Event(c.Request.Context(), c.Param("slug"))
	if err != nil {
		con.fail(c, err)
		return
	}
	if e.State == registration.StateCancelled {
		con.renderError(c, http.StatusConflict, "console.problem.event_cancelled")
		return
	}
	con.renderForm(c, http.StatusOK, consoleFormOf(e), e, nil)
}

func (con *console) updateEvent(c *gin.Context) {
	ctx := c.Request.Context()
	e, err := con.s.svc.Event(ctx, c.Param("slug"))
	if err != nil {
		con.fail(c, err)
		return
	}
	var f consoleEventForm
	if err := c.ShouldBind(&f); err != nil {
		con.renderError(c, http.StatusBadRequest, "console.problem.bad_form")
		return
	}
	raw := f.raw(consoleFormOf(e), con.s.svc.DefaultTimezone())
	if len(raw) > 0 {
		saved, err := con.s.svc.UpdateEvent(ctx, e.Slug, raw)
		if err != nil {
			con.formFailed(c, &f, e, err)
			return
		}
		e = saved
	}
	logger(c).Info("console: event saved", "slug", e.Slug)
	c.Redirect(http.StatusSeeOther, consoleEventURL(e.Slug, "", "saved"))
}

// formFailed shows the form again with what was typed and, beside each
// field, why it was refused; errors that belong to no field go on top.
func (con *console) formFailed(c *gin.Context, f *consoleEventForm, e *registration.Event, err error) {
	p := problemFor(err)
	if p.Status >= 500 {
		con.fail(c, err)
		return
	}
	status := p.Status
	if len(p.Errors) == 0 {
		p.Errors = []registration.FieldError{{Code: p.Code}}
	}
	con.renderForm(c, status, f, e, p.Errors)
}

func (con *console) renderForm(c *gin.Context, status int, f *consoleEventForm, e *registration.Event, errs []registration.FieldError) {
	p := &consolePage{Locale: con.s.locale(c)}
	fe := consoleFieldErrors(errs, p)
	sections := f.sections(fe, p)
	var summary []consoleField // the fields to fix, in the order of the form
	for _, sec := range sections {
		for _, ff := range sec.Fields {
			if len(ff.Errors) > 0 {
				summary = append(summary, ff)
			}
		}
	}
	d := gin.H{"Form": f, "Event": e, "Sections": sections, "Errors": fe, "FormErrors": fe[""], "Summary": summary,
		"Timezones": consoleTimezones, "Action": "/admin/events/new"}
	if e != nil {
		d["Action"] = "/admin/events/" + e.Slug + "/edit"
	}
	title := "console.form.new_title"
	if e != nil {
		title = "console.form.edit_title"
	}
	con.render(c, status, "event_form", title, d)
}

func (con *console) publish(c *gin.Context) {
	slug := c.Param("slug")
	e, err := con.s.svc.UpdateEvent(c.Request.Context(), slug, map[string]consoleRaw{"state": consoleRaw(`"published"`)})
	if err != nil {
		con.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, consoleEventURL(e.Slug, c.PostForm("return"), "published"))
}

// confirmCancelEvent says what cancelling will do before it is done: who
// will be told (everyone confirmed or waitlisted; nobody for a draft).
func (con *console) confirmCancelEvent(c *gin.Context) {
	e, err := con.s.svc.Event(c.Request.Context(), c.Param("slug"))
	if err != nil {
		con.fail(c, err)
		return
	}
	if e.State == registration.StateCancelled {
		c.Redirect(http.StatusSeeOther, consoleEventURL(e.Slug, "", ""))
		return
	}
	mailed := e.Confirmed + e.Waitlisted
	if e.State == registration.StateDraft {
		mailed = 0
	}
	con.render(c, http.StatusOK, "confirm", "console.cancel_event.title", gin.H{
		"Kind": "event", "Event": e, "Mailed": mailed, "Confirmed": e.Confirmed, "Waitlisted": e.Waitlisted,
		"Action": "/admin/events/" + e.Slug + "/cancel", "Back": consoleEventURL(e.Slug, "", ""),
	})
}

func (con *console) cancelEvent(c *gin.Context) {
	e, err := con.s.svc.CancelEvent(c.Request.Context(), c.Param("slug"))
	if err != nil {
		con.fail(c, err)
		return
	}
	logger(c).Info("console: event cancelled", "slug", e.Slug)
	c.Redirect(http.StatusSeeOther, consoleEventURL(e.Slug, "", "cancelled"))
}

// ---- registrations ----

func (con *console) regID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		con.renderError(c, http.StatusNotFound, "console.problem.not_found")
		return 0, false
	}
	return id, true
}

func (con *console) checkIn(c *gin.Context) {
	id, ok := con.regID(c)
	if !ok {
		return
	}
	on := c.PostForm("checked_in") != "false"
	if _, err := con.s.svc.CheckIn(c.Request.Context(), c.Param("slug"), id, on); err != nil {
		con.fail(c, err)
		return
	}
	done := "checked_in"
	if !on {
		done = "check_in_undone"
	}
	c.Redirect(http.StatusSeeOther, consoleEventURL(c.Param("slug"), c.PostForm("return"), done)+"#r"+strconv.FormatInt(id, 10))
}

func (con *console) confirmCancelRegistration(c *gin.Context) {
	id, ok := con.regID(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	e, err := con.s.svc.Event(ctx, c.Param("slug"))
	if err != nil {
		con.fail(c, err)
		return
	}
	r, err := con.s.svc.Store().RegistrationByID(ctx, id)
	if err == nil && r.EventID != e.ID {
		err = registration.ErrNotFound
	}
	if err != nil {
		con.fail(c, err)
		return
	}
	ret := c.Query("return")
	con.render(c, http.StatusOK, "confirm", "console.cancel_registration.title", gin.H{
		"Kind": "registration", "Event": e, "R": r, "Mailed": consoleBoolInt(e.State != registration.StateCancelled && r.Status != registration.RegCancelled),
		"Action": "/admin/events/" + e.Slug + "/registrations/" + strconv.FormatInt(id, 10) + "/cancel",
		"Back":   consoleEventURL(e.Slug, ret, ""), "Return": ret,
	})
}

func consoleBoolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (con *console) cancelRegistration(c *gin.Context) {
	id, ok := con.regID(c)
	if !ok {
		return
	}
	if _, _, err := con.s.svc.CancelRegistration(c.Request.Context(), c.Param("slug"), id); err != nil {
		con.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, consoleEventURL(c.Param("slug"), c.PostForm("return"), "registration_cancelled"))
}

func (con *console) resend(c *gin.Context) {
	id, ok := con.regID(c)
	if !ok {
		return
	}
	if _, err := con.s.svc.Resend(c.Request.Context(), c.Param("slug"), id); err != nil {
		con.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, consoleEventURL(c.Param("slug"), c.PostForm("return"), "resent")+"#r"+strconv.FormatInt(id, 10))
}

// csv is the export of the JSON API (same filter, same writer), reached
// through the console session.
func (con *console) csv(c *gin.Context) {
	e, err := con.s.svc.Event(c.Request.Context(), c.Param("slug"))
	if err != nil {
		con.fail(c, err)
		return
	}
	f, err := registrationFilter(c, e.ID)
	if err != nil {
		con.renderError(c, http.StatusUnprocessableEntity, "console.problem.validation_failed")
		return
	}
	con.s.streamCSV(c, e, f)
}

// retry puts failed mail back in the queue: one row (id) or all of the event's.
func (con *console) retry(c *gin.Context) {
	var id int64
	if v := c.PostForm("id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			con.renderError(c, http.StatusNotFound, "console.problem.not_found")
			return
		}
		id = n
	}
	n, err := con.s.svc.RetryFailed(c.Request.Context(), c.Param("slug"), id)
	if err != nil {
		con.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, consoleEventURL(c.Param("slug"), c.PostForm("return"), "retried", "n", strconv.FormatInt(n, 10))+"#emails")
}

// consoleFuncs are the template functions of the console.
var consoleFuncs = template.FuncMap{
	// when is a time in loc, to the minute; "—" for none.
	"when": func(t any, loc *time.Location) string {
		switch v := t.(type) {
		case time.Time:
			return v.In(loc).Format("2006-01-02 15:04")
		case *time.Time:
			if v != nil {
				return v.In(loc).Format("2006-01-02 15:04")
			}
		}
		return "—"
	},
	// zone is the UTC offset of loc at t, as UTC+08:00.
	"zone": func(t time.Time, loc *time.Location) string { return t.In(loc).Format("UTC-07:00") },
	"dur":  registration.FormatDuration,
	"add":  func(a, b int) int { return a + b },
	"list": func(xs ...string) []string { return xs },
}
