package api

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"eventreg/registration"
	"eventreg/templates"
)

// httpAbort cuts a response short (net/http closes the connection).
var httpAbort = http.ErrAbortHandler

// pages renders the public HTML pages: the events box, the event page with
// its sign-up form, and the registrant's pages.
type pages struct {
	// tmpl holds, per locale, each page parsed with the layout; the
	// translation function is bound at parse time, so templates say
	// {{t "page.…"}} wherever they are.
	tmpl    map[string]map[string]*template.Template
	csrfKey []byte
	static  *staticFiles
}

// pageNames are the templates under templates/pages, each parsed with layout.html.
var pageNames = []string{"list", "event", "message", "registrant", "cancel", "join", "unsubscribe"}

func newPages(s *Server) (*pages, error) {
	if err := templates.Check(); err != nil {
		return nil, err
	}
	st, err := loadStatic()
	if err != nil {
		return nil, err
	}
	p := &pages{tmpl: map[string]map[string]*template.Template{}, csrfKey: s.svc.Secret("csrf"), static: st}
	for _, loc := range templates.Locales {
		p.tmpl[loc] = map[string]*template.Template{}
		funcs := template.FuncMap{
			"t":      func(key string, args ...any) string { return templates.T(loc, key, args...) },
			"static": st.url,
		}
		for _, name := range pageNames {
			t, err := template.New(name).Funcs(funcs).ParseFS(templates.FS, "pages/layout.html", "pages/"+name+".html")
			if err != nil {
				return nil, fmt.Errorf("page template %s: %w", name, err)
			}
			p.tmpl[loc][name] = t
		}
	}
	return p, nil
}

func (s *Server) pageRoutes(r *gin.Engine) {
	r.GET("/", s.pageList)
	r.HEAD("/", s.pageList)
	r.GET("/events/:slug", s.pageEvent)
	r.HEAD("/events/:slug", s.pageEvent)
	r.POST("/events/:slug/register", s.signupLimit(), s.requireCSRF(), s.pageRegister)
	// A reload or a switch of language on a form that failed lands here.
	r.GET("/events/:slug/register", s.pageBackToEvent)
	r.GET("/events/:slug/thanks", s.pageThanks)
	r.GET("/events/:slug/already-registered", s.pageAlreadyRegistered)

	r.GET("/r/:token", s.pageRegistrant)
	r.POST("/r/:token/cancel", s.requireCSRF(), s.pageCancel)
	r.GET("/j/:token", s.pageJoin)
	r.GET("/u/:token", s.pageUnsubscribe)
	// The RFC 8058 one-click target: mail providers post
	// List-Unsubscribe=One-Click without any CSRF token. The token in the URL
	// is the secret, and stopping reminders is all it can do.
	r.POST("/u/:token", s.pageUnsubscribeDone)

	r.GET("/static/*file", s.pages.static.serve(s))
	r.HEAD("/static/*file", s.pages.static.serve(s))
}

// page is what the layout needs; every page's data embeds it.
type page struct {
	Locale  string
	Title   string // the page's own title, translated
	Langs   []pageLang
	CSRF    string
	Refresh int  // seconds; a meta refresh when not 0
	NoIndex bool // personal pages stay out of search engines
	// Path is the GET address of the page, for the language switcher; the
	// request's own when empty (a form re-rendered after a POST sets it).
	Path string
}

func (p *page) base() *page { return p }

type pageView interface{ base() *page }

// pageLang is one entry of the language switcher.
type pageLang struct {
	Code, Name, URL string
	Current         bool
}

// render executes page name with the layout, in the request's language.
func (s *Server) render(c *gin.Context, status int, name string, v pageView) {
	b, err := s.renderBytes(c, name, v)
	if err != nil {
		logger(c).Error("page template", "page", name, "err", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("internal error\n"))
		c.Abort()
		return
	}
	writeBody(c, status, "text/html; charset=utf-8", b)
}

// renderBytes executes page name with the layout and sets the headers every
// page carries.
func (s *Server) renderBytes(c *gin.Context, name string, v pageView) ([]byte, error) {
	p := v.base()
	if p.Locale == "" {
		p.Locale = s.locale(c)
	}
	s.rememberLocale(c)
	p.Langs = s.langLinks(c, p)
	t := s.pages.tmpl[p.Locale][name]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return nil, err
	}
	h := c.Writer.Header()
	h.Set("Content-Language", p.Locale)
	h.Set("Vary", "Accept-Language, Cookie")
	if h.Get("Cache-Control") == "" {
		// Pages carry a per-browser form token and live statuses.
		h.Set("Cache-Control", "private, no-cache")
	}
	return buf.Bytes(), nil
}

// rememberLocale keeps a language chosen with ?lang= in the lang cookie.
func (s *Server) rememberLocale(c *gin.Context) {
	if _, done := c.Get("lang_cookie"); done {
		return
	}
	if l := supportedLocale(c.Query("lang")); l != "" {
		c.Set("lang_cookie", true)
		http.SetCookie(c.Writer, &http.Cookie{Name: "lang", Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: s.secureCookies(c), SameSite: http.SameSiteLaxMode})
	}
}

func (s *Server) langLinks(c *gin.Context, p *page) []pageLang {
	u := *c.Request.URL
	if p.Path != "" {
		u = url.URL{Path: p.Path}
	}
	links := make([]pageLang, 0, len(templates.Locales))
	for _, code := range templates.Locales {
		q := u.Query()
		q.Set("lang", code)
		v := url.URL{Path: u.Path, RawQuery: q.Encode()}
		links = append(links, pageLang{Code: code, Name: templates.T(code, "lang.name"), URL: v.RequestURI(), Current: code == p.Locale})
	}
	return links
}

// ---- message pages: not found, too many, forbidden, failures ----

// messagePage is a short page that says one thing and offers where to go.
type messagePage struct {
	page
	Tone    string // info, ok, warn, error: the colour of the panel
	Heading string
	Lines   []string
	Links   []pageLink
}

type pageLink struct {
	URL, Text string
	Primary   bool
}

func (s *Server) renderMessage(c *gin.Context, status int, m *messagePage) {
	if m.Title == "" {
		m.Title = m.Heading
	}
	s.render(c, status, "message", m)
}

func (s *Server) homeLink(loc string) pageLink {
	return pageLink{URL: "/", Text: templates.T(loc, "page.nav.all_events")}
}

func (s *Server) renderNotFound(c *gin.Context) {
	loc := s.locale(c)
	c.Header("Cache-Control", "no-store")
	s.renderMessage(c, http.StatusNotFound, &messagePage{Tone: "info",
		Heading: templates.T(loc, "page.notfound.heading"),
		Lines:   []string{templates.T(loc, "page.notfound.body")},
		Links:   []pageLink{withPrimary(s.homeLink(loc))}})
}

func (s *Server) renderTooMany(c *gin.Context) {
	loc := s.locale(c)
	wait := 60
	if n, err := strconv.Atoi(c.Writer.Header().Get("Retry-After")); err == nil && n > 0 {
		wait = n
	}
	var again string
	if wait < 90 {
		again = templates.T(loc, "page.toomany.seconds", wait)
	} else {
		again = templates.T(loc, "page.toomany.minutes", (wait+59)/60)
	}
	back := "/"
	if slug := c.Param("slug"); registration.ValidSlug(slug) {
		back = "/events/" + slug
	}
	c.Header("Cache-Control", "no-store")
	s.renderMessage(c, http.StatusTooManyRequests, &messagePage{Tone: "warn",
		Heading: templates.T(loc, "page.toomany.heading"),
		Lines:   []string{templates.T(loc, "page.toomany.body"), again},
		Links:   []pageLink{{URL: back, Text: templates.T(loc, "page.nav.back"), Primary: true}}})
}

// renderForbidden answers a form that failed the CSRF check.
func (s *Server) renderForbidden(c *gin.Context) {
	loc := s.locale(c)
	c.Header("Cache-Control", "no-store")
	s.renderMessage(c, http.StatusForbidden, &messagePage{Tone: "warn",
		Heading: templates.T(loc, "page.csrf.heading"),
		Lines:   []string{templates.T(loc, "page.csrf.body"), templates.T(loc, "page.csrf.cookies")},
		Links:   []pageLink{{URL: sameSiteReferer(c), Text: templates.T(loc, "page.csrf.back"), Primary: true}, s.homeLink(loc)}})
}

// sameSiteReferer is the page the form was sent from when it is one of ours,
// else the home page.
func sameSiteReferer(c *gin.Context) string {
	u, err := url.Parse(c.GetHeader("Referer"))
	if err != nil || u.Host != c.Request.Host || u.Path == "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return (&url.URL{Path: u.Path, RawQuery: u.RawQuery}).RequestURI()
}

// renderFailure answers an error of the domain that no page handles itself.
func (s *Server) renderFailure(c *gin.Context, err error) {
	p := problemFor(err)
	loc := s.locale(c)
	heading, body := "page.failure.heading", "page.failure.body"
	switch {
	case p.Status == http.StatusNotFound:
		s.renderNotFound(c)
		return
	case p.Status < 500:
		// A request no page of ours sends (a mangled form, a body too large).
		logger(c).Info("page request refused", "status", p.Status, "err", err)
		heading, body = "page.badrequest.heading", "page.badrequest.body"
	case p.Status == http.StatusServiceUnavailable:
		logger(c).Warn("unavailable", "err", err)
		c.Header("Retry-After", "5")
	default:
		logger(c).Error("page failed", "err", err)
	}
	c.Header("Cache-Control", "no-store")
	s.renderMessage(c, p.Status, &messagePage{Tone: "error",
		Heading: templates.T(loc, heading),
		Lines:   []string{templates.T(loc, body)},
		Links:   []pageLink{{URL: sameSiteReferer(c), Text: templates.T(loc, "page.nav.back"), Primary: true}, s.homeLink(loc)}})
}

func withPrimary(l pageLink) pageLink { l.Primary = true; return l }

// personal marks a page reached through a registrant's secret token: never
// stored by a cache, never indexed, and the token is not sent on as a referrer.
func personal(c *gin.Context, p *page) {
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("X-Robots-Tag", "noindex")
	p.NoIndex = true
}
