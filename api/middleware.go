package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

const (
	maxBody    = 64 << 10
	loggerKey  = "logger"
	requestKey = "request"
	userKey    = "organizer"
)

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestIDs makes request ids: a random prefix per process, so that ids of
// instances and restarts do not meet, then a counter.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &requestIDs{prefix: hex.EncodeToString(b) + "-"}
}

func (r *requestIDs) next() string {
	return r.prefix + strconv.FormatUint(r.n.Add(1), 36)
}

// requestLog gives every request an id (kept from X-Request-ID when sane)
// and one log line when it ends. Handlers that log get, through logger(c), a
// logger carrying the id; it is made only for them.
func (s *Server) requestLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if id == "" || !requestIDRE.MatchString(id) {
			id = s.ids.next()
		}
		c.Writer.Header()["X-Request-Id"] = []string{id}
		c.Set(requestKey, &requestInfo{id: id, log: s.log})
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		l, attrs := s.log, []slog.Attr{slog.String("request_id", id)}
		if v, ok := c.Get(loggerKey); ok {
			l, attrs = v.(*slog.Logger), nil // it carries the id and what handlers added
		}
		// The path is logged by route: tokens in paths stay out of logs.
		l.LogAttrs(c.Request.Context(), slog.LevelInfo, "request", append(attrs, slog.String("method", c.Request.Method),
			slog.String("route", route), slog.Int("status", c.Writer.Status()), slog.Int("bytes", c.Writer.Size()),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000), slog.String("client", clientIP(c)))...)
	}
}

// requestInfo is what requestLog keeps of a request for logger and clientIP.
type requestInfo struct {
	id     string
	log    *slog.Logger
	client string // once asked for
}

// clientIP is the client's address as gin works it out (from a trusted
// proxy's X-Forwarded-For or the connection), found once per request: the
// rate limits and the log line all ask for it.
func clientIP(c *gin.Context) string {
	v, ok := c.Get(requestKey)
	if !ok {
		return c.ClientIP()
	}
	info := v.(*requestInfo)
	if info.client == "" {
		info.client = c.ClientIP()
	}
	return info.client
}

// recovery answers a panic with problem+json instead of a dropped connection.
func recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger(c).Error("panic", "value", fmt.Sprint(v))
				if !c.Writer.Written() {
					problem(c, 500, "internal", "Something went wrong on our side.")
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

// securityHeader is the headers every response carries, keys in canonical
// form: set straight into the header map, without canonicalising them on
// every request. The value slices are shared and never changed.
var securityHeader = http.Header{
	"X-Content-Type-Options":     {"nosniff"},
	"Referrer-Policy":            {"strict-origin-when-cross-origin"},
	"X-Frame-Options":            {"DENY"},
	"Content-Security-Policy":    {"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"},
	"Cross-Origin-Opener-Policy": {"same-origin"},
}

// securityHeaders sets the headers every response carries.
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		for k, v := range securityHeader {
			h[k] = v
		}
		c.Next()
	}
}

// limitBody refuses bodies over maxBody with 413 (gin alone would answer 400
// when binding a cut body).
func limitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > maxBody {
			problem(c, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("The body is larger than %d bytes.", maxBody))
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBody)
		}
		c.Next()
	}
}

// requireJSON answers 415 to a request whose body is not JSON. Requests with
// no body pass: actions like cancel take none.
func requireJSON() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
			c.Next()
			return
		}
		hasBody := c.Request.ContentLength > 0 || (c.Request.ContentLength < 0 && c.Request.Body != nil && c.Request.Body != http.NoBody)
		ct := c.GetHeader("Content-Type")
		if hasBody || ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			if hasBody && (err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json"))) {
				problem(c, http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the body as application/json.")
				return
			}
		}
		c.Next()
	}
}

// errBadJSON is a body that is not one JSON object.
var errBadJSON = errors.New("invalid JSON")

// errNoBody is an empty body: bad JSON too, except where the body is optional.
var errNoBody = fmt.Errorf("%w: empty body", errBadJSON)

// errBadForm is a form body no browser sends (a bad escape, a semicolon).
var errBadForm = errors.New("invalid form")

// requireOrganizer lets the request through with a valid organizer token.
func (s *Server) requireOrganizer() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			token, ok = strings.CutPrefix(h, "bearer ")
		}
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="eventreg"`)
			problem(c, http.StatusUnauthorized, "unauthorized", "A valid organizer token is required.")
			return
		}
		name, err := s.svc.Authenticate(c.Request.Context(), strings.TrimSpace(token))
		if err != nil {
			fail(c, err)
			return
		}
		c.Set(userKey, name)
		c.Set(loggerKey, logger(c).With("organizer", name))
		c.Next()
	}
}

// RateLimit is a per-client allowance: Count requests per Per.
type RateLimit struct {
	Count int
	Per   time.Duration
}

// ParseRate reads "20/m", "5/s", "100/h"; "off" (or "0") disables the limit
// and the empty string means the default 20/m.
func ParseRate(s string) (RateLimit, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch s {
	case "":
		return RateLimit{Count: 20, Per: time.Minute}, nil
	case "off", "0", "none":
		return RateLimit{}, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 0 {
		return RateLimit{}, fmt.Errorf("signup rate %q: want COUNT/UNIT such as 20/m, or off", s)
	}
	per := map[string]time.Duration{"s": time.Second, "sec": time.Second, "m": time.Minute, "min": time.Minute, "h": time.Hour, "hour": time.Hour}[unit]
	if per == 0 {
		return RateLimit{}, fmt.Errorf("signup rate %q: unit must be s, m or h", s)
	}
	return RateLimit{Count: count, Per: per}, nil
}

// limiter is a token bucket per client address. Idle buckets are forgotten
// when the table grows, so a flood of addresses cannot exhaust memory.
type limiter struct {
	mu      sync.Mutex
	limit   RateLimit
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

const maxBuckets = 100_000

func newLimiter(l RateLimit, now func() time.Time) *limiter {
	return &limiter{limit: l, now: now, buckets: map[string]*bucket{}}
}

// allow takes one token for key, or says how long until one is free.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l == nil || l.limit.Count == 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Every(l.limit.Per/time.Duration(l.limit.Count)), l.limit.Count)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.seen) > l.limit.Per {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}

// signupLimit applies the per-client sign-up rate limit.
func (s *Server) signupLimit() gin.HandlerFunc {
	return func(c *gin.Context) {
		if ok, wait := s.limit.allow(clientIP(c)); !ok {
			c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			if s.wantsHTML(c) {
				s.renderTooMany(c)
				c.Abort()
				return
			}
			problem(c, http.StatusTooManyRequests, "rate_limited", "Too many sign-ups from your address; try again later.")
			return
		}
		c.Next()
	}
}

func (s *Server) wantsHTML(c *gin.Context) bool {
	return !strings.HasPrefix(c.Request.URL.Path, "/api/")
}
