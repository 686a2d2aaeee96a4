package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"eventreg/registration"
)

// The console session is a signed cookie and nothing stored on the server:
// the organizer's name, an expiry and a fingerprint of the token that opened
// it. Each request checks the signature, the expiry, and that the token still
// exists, so revoking a token ends its sessions at once.
const (
	consoleSessionCookie = "eventreg_session"
	consoleSessionPath   = "/admin"
	consoleSessionTTL    = 12 * time.Hour
)

type consoleSessionPayload struct {
	Name        string `json:"n"`
	Expires     int64  `json:"x"`
	Fingerprint string `json:"f"`
}

// sign encodes p as base64url(JSON) "." base64url(HMAC-SHA256).
func (con *console) sign(p consoleSessionPayload) string {
	b, _ := json.Marshal(p)
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + base64.RawURLEncoding.EncodeToString(con.mac(body))
}

func (con *console) mac(body string) []byte {
	m := hmac.New(sha256.New, con.sessionKey)
	m.Write([]byte(body))
	return m.Sum(nil)
}

// verify returns the payload of an authentic, unexpired cookie value.
func (con *console) verify(v string, now time.Time) (consoleSessionPayload, bool) {
	var p consoleSessionPayload
	body, sig, ok := strings.Cut(v, ".")
	if !ok || len(v) > 1024 {
		return p, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, con.mac(body)) {
		return p, false
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || json.Unmarshal(b, &p) != nil || p.Name == "" {
		return p, false
	}
	return p, now.Unix() < p.Expires
}

var errConsoleNoSession = errors.New("no console session")

// session returns the organizer of the request's session, errConsoleNoSession when
// there is none (or it expired, or its token was revoked).
func (con *console) session(c *gin.Context) (string, error) {
	v, err := c.Cookie(consoleSessionCookie)
	if err != nil {
		return "", errConsoleNoSession
	}
	p, ok := con.verify(v, con.s.svc.Now())
	if !ok {
		return "", errConsoleNoSession
	}
	err = con.s.svc.OrganizerActive(c.Request.Context(), p.Name, p.Fingerprint)
	if errors.Is(err, registration.ErrUnauthorized) {
		return "", errConsoleNoSession
	}
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

// requireSession lets signed-in organizers through. Others are sent to sign
// in (GET) or refused (anything else: a form posted after the session ended
// must not be replayed blindly after signing in).
func (con *console) requireSession() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		name, err := con.session(c)
		switch {
		case errors.Is(err, errConsoleNoSession) && (c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead):
			c.Redirect(http.StatusSeeOther, "/admin/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
			c.Abort()
			return
		case errors.Is(err, errConsoleNoSession):
			con.renderError(c, http.StatusForbidden, "console.error.session")
			return
		case err != nil:
			con.fail(c, err)
			return
		}
		c.Set(userKey, name)
		c.Set(loggerKey, logger(c).With("organizer", name))
		c.Next()
	}
}

func (con *console) setSession(c *gin.Context, name, token string) {
	exp := con.s.svc.Now().Add(consoleSessionTTL)
	v := con.sign(consoleSessionPayload{Name: name, Expires: exp.Unix(), Fingerprint: registration.TokenFingerprint(token)})
	http.SetCookie(c.Writer, &http.Cookie{Name: consoleSessionCookie, Value: v, Path: consoleSessionPath, Expires: exp,
		MaxAge: int(consoleSessionTTL / time.Second), HttpOnly: true, Secure: con.https(c), SameSite: http.SameSiteStrictMode})
}

func (con *console) clearSession(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{Name: consoleSessionCookie, Value: "", Path: consoleSessionPath, Expires: time.Unix(0, 0),
		MaxAge: -1, HttpOnly: true, Secure: con.https(c), SameSite: http.SameSiteStrictMode})
}

// https reports whether the browser reached us over TLS: directly, through a
// trusted proxy that says so (anyone else's X-Forwarded-Proto is ignored), or
// the public base URL is https.
func (con *console) https(c *gin.Context) bool {
	if con.s.secureCookies(c) {
		return true
	}
	if !strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https") {
		return false
	}
	ip := net.ParseIP(c.RemoteIP())
	for _, n := range con.proxies {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// consoleProxies reads the trusted proxies the way gin does: CIDRs or addresses.
func consoleProxies(list []string) []*net.IPNet {
	var out []*net.IPNet
	for _, p := range list {
		p = strings.TrimSpace(p)
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil {
				bits := 128
				if ip.To4() != nil {
					ip, bits = ip.To4(), 32
				}
				out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			}
			continue
		}
		if _, n, err := net.ParseCIDR(p); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// consoleNext keeps a ?next= that stays inside the console, else the events list.
func consoleNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || u.User != nil ||
		strings.HasPrefix(next, "//") || strings.Contains(next, `\`) ||
		(u.Path != "/admin" && !strings.HasPrefix(u.Path, "/admin/")) || strings.HasPrefix(u.Path, "/admin/login") {
		return "/admin/events"
	}
	return u.RequestURI()
}

type consoleLoginForm struct {
	Token string `form:"token"`
	Next  string `form:"next"`
}

func (con *console) loginPage(c *gin.Context) {
	if name, err := con.session(c); err == nil && name != "" {
		c.Redirect(http.StatusSeeOther, consoleNext(c.Query("next")))
		return
	}
	con.renderLogin(c, http.StatusOK, consoleNext(c.Query("next")), "")
}

func (con *console) renderLogin(c *gin.Context, status int, next, errKey string) {
	c.Header("Cache-Control", "no-store")
	con.render(c, status, "login", "console.login.title", gin.H{"Next": next, "Error": errKey, "Done": consoleDoneKey(c)})
}

func (con *console) login(c *gin.Context) {
	var f consoleLoginForm
	_ = c.ShouldBind(&f)
	next := consoleNext(f.Next)
	if ok, _ := con.loginLimit.allow(clientIP(c)); !ok {
		con.renderLogin(c, http.StatusTooManyRequests, next, "console.login.too_many")
		return
	}
	token := strings.TrimSpace(f.Token)
	name, err := con.s.svc.Authenticate(c.Request.Context(), token)
	switch {
	case errors.Is(err, registration.ErrUnauthorized):
		logger(c).Info("console sign-in refused")
		con.renderLogin(c, http.StatusUnauthorized, next, "console.login.bad_token")
		return
	case err != nil:
		con.fail(c, err)
		return
	}
	con.setSession(c, name, token)
	logger(c).Info("console sign-in", "organizer", name)
	c.Redirect(http.StatusSeeOther, next)
}

func (con *console) logout(c *gin.Context) {
	con.clearSession(c)
	c.Redirect(http.StatusSeeOther, "/admin/login?done=signed_out")
}
