package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// Forms are protected by a signed double-submit token: the browser keeps a
// random value in the csrf cookie (HttpOnly, SameSite=Lax) and every form
// carries an HMAC of that value under a key derived from the server secret.
// Another site can neither read the cookie nor compute the MAC, and since the
// key is derived from the shared secret, any instance can check any token.
const (
	csrfCookie    = "csrf"
	csrfFormField = "csrf_token"   // the hidden form field
	csrfHeader    = "X-CSRF-Token" // or a header, for scripts
	csrfSeedBytes = 32
	csrfCookieAge = 30 * 24 * time.Hour
	csrfCtxKey    = "csrf_token"
)

// csrfToken is the token to put in the forms of this response. It sets the
// csrf cookie when the browser has none yet.
func (s *Server) csrfToken(c *gin.Context) string {
	if v, ok := c.Get(csrfCtxKey); ok {
		return v.(string)
	}
	seed, err := c.Cookie(csrfCookie)
	if err != nil || !validCSRFSeed(seed) {
		b := make([]byte, csrfSeedBytes)
		_, _ = rand.Read(b)
		seed = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(c.Writer, &http.Cookie{Name: csrfCookie, Value: seed, Path: "/",
			MaxAge: int(csrfCookieAge / time.Second), HttpOnly: true, Secure: s.secureCookies(c),
			SameSite: http.SameSiteLaxMode})
	}
	token := s.csrfMAC(seed)
	c.Set(csrfCtxKey, token)
	return token
}

// csrfValid reports whether the request carries the token of its csrf cookie,
// in the csrf_token form field or the X-CSRF-Token header.
func (s *Server) csrfValid(c *gin.Context) bool {
	seed, err := c.Cookie(csrfCookie)
	if err != nil || !validCSRFSeed(seed) {
		return false
	}
	got := c.GetHeader(csrfHeader)
	if got == "" {
		got = c.PostForm(csrfFormField)
	}
	return got != "" && hmac.Equal([]byte(got), []byte(s.csrfMAC(seed)))
}

// requireCSRF refuses a request without a valid token with a 403 page that
// explains and offers a way back.
func (s *Server) requireCSRF() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.csrfValid(c) {
			logger(c).Info("csrf check failed", "route", c.FullPath())
			s.renderForbidden(c)
			c.Abort()
			return
		}
		c.Next()
	}
}

func (s *Server) csrfMAC(seed string) string {
	m := hmac.New(sha256.New, s.pages.csrfKey)
	m.Write([]byte(seed))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func validCSRFSeed(seed string) bool {
	b, err := base64.RawURLEncoding.DecodeString(seed)
	return err == nil && len(b) == csrfSeedBytes
}

// secureCookies reports whether cookies must be marked Secure: the request
// came over TLS, or the public base URL is https (behind a proxy that ends TLS).
func (s *Server) secureCookies(c *gin.Context) bool {
	return c.Request.TLS != nil || strings.HasPrefix(s.svc.URL(""), "https://")
}
