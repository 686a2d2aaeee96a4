package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// httpAbort cuts a response short (net/http closes the connection).
var httpAbort = http.ErrAbortHandler

// pages renders the server-side HTML pages.
type pages struct{}

func newPages(s *Server) (*pages, error) { return &pages{}, nil }

func (s *Server) pageRoutes(r *gin.Engine) {}

func (s *Server) renderNotFound(c *gin.Context) {
	c.Data(404, "text/plain; charset=utf-8", []byte("not found\n"))
}

func (s *Server) renderTooMany(c *gin.Context) {
	c.Data(429, "text/plain; charset=utf-8", []byte("too many sign-ups, try again later\n"))
}
