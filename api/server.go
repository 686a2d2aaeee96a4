// Package api is eventreg's HTTP face: the JSON API, the public pages and the
// organizer console, with their middleware.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"eventreg/registration"
)

// Config configures the HTTP layer.
type Config struct {
	SignupRate     RateLimit
	TrustedProxies []string // CIDRs whose X-Forwarded-For is believed
	Logger         *slog.Logger
	Now            func() time.Time // for the rate limiter; time.Now when nil
	Metrics        *Metrics         // nil: a registry of its own
	// PublicCache is how long the public event list (JSON and the box page)
	// is answered from memory; 0 renders every request.
	PublicCache time.Duration
}

// Server is the HTTP handler of eventreg.
type Server struct {
	svc     *registration.Service
	cfg     Config
	log     *slog.Logger
	ids     *requestIDs
	limit   *limiter
	engine  *gin.Engine
	pages   *pages
	metrics *Metrics
	cache   responseCache // public reads
}

// New builds the router.
func New(svc *registration.Service, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.RemoteIPHeaders = []string{"X-Forwarded-For", "X-Real-IP"}
	// gin believes every proxy unless told: anyone could forge
	// X-Forwarded-For and slip the rate limit. Only the listed ones count.
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(svc.Store())
	}
	s := &Server{svc: svc, cfg: cfg, log: cfg.Logger, ids: newRequestIDs(), limit: newLimiter(cfg.SignupRate, cfg.Now), engine: e, metrics: cfg.Metrics}
	p, err := newPages(s)
	if err != nil {
		return nil, err
	}
	s.pages = p
	s.routes()
	return s, nil
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

func (s *Server) routes() {
	r := s.engine
	r.Use(recovery(), s.requestLog(), s.metrics.middleware(), securityHeaders(), limitBody())
	r.NoRoute(s.notFound)
	r.NoMethod(func(c *gin.Context) { problem(c, 405, "method_not_allowed", "This method is not allowed here.") })

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.metrics.handler())
	r.GET("/api/openapi.json", s.openapi)

	api := r.Group("/api/v1", requireJSON())
	api.GET("/events", s.listEvents)
	api.GET("/events/:slug", s.getEvent)
	api.POST("/events/:slug/registrations", s.signupLimit(), s.signup)
	api.GET("/registrations/:token", s.getRegistration)
	api.POST("/registrations/:token/cancel", s.cancelRegistration)
	api.POST("/registrations/:token/unsubscribe", s.unsubscribe)
	api.GET("/registrations/:token/calendar.ics", s.calendar)

	admin := api.Group("/admin", s.requireOrganizer())
	admin.POST("/events", s.createEvent)
	admin.GET("/events", s.adminListEvents)
	admin.GET("/events/:slug", s.adminGetEvent)
	admin.PATCH("/events/:slug", s.updateEvent)
	admin.POST("/events/:slug/cancel", s.cancelEvent)
	admin.GET("/events/:slug/registrations", s.listRegistrations)
	admin.GET("/events/:slug/registrations.csv", s.exportRegistrations)
	admin.POST("/events/:slug/registrations/:id/check-in", s.checkIn)
	admin.POST("/events/:slug/registrations/:id/cancel", s.adminCancelRegistration)
	admin.POST("/events/:slug/registrations/:id/resend", s.resend)
	admin.GET("/events/:slug/stats", s.stats)
	admin.GET("/events/:slug/emails", s.emails)
	admin.POST("/events/:slug/emails/retry", s.retryEmails)

	s.pageRoutes(r)
	s.consoleRoutes(r)
}

func (s *Server) notFound(c *gin.Context) {
	if s.wantsHTML(c) {
		s.renderNotFound(c)
		return
	}
	problem(c, 404, "not_found", "No such resource.")
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(200, gin.H{"status": "ok"})
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Store().Ready(ctx); err != nil {
		logger(c).Warn("not ready", "err", err)
		problem(c, 503, "not_ready", "The database is not reachable or not migrated.")
		return
	}
	c.JSON(200, gin.H{"status": "ready"})
}
