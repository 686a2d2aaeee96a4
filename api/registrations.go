package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"eventreg/registration"
)

// bindJSON decodes one JSON object from the body into dst.
func bindJSON(c *gin.Context, dst any) error {
	dec := json.NewDecoder(c.Request.Body)
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) {
			return errNoBody
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return errBadJSON
		}
		return err
	}
	// Only space may follow the value: not a second one, nor a stray ] or }.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errBadJSON
	}
	return nil
}

func (s *Server) signup(c *gin.Context) {
	var in registration.SignupInput
	if err := bindJSON(c, &in); err != nil {
		fail(c, err)
		return
	}
	if in.Locale == "" {
		in.Locale = s.locale(c)
	}
	res, err := s.svc.Signup(c.Request.Context(), c.Param("slug"), in, c.GetHeader("Idempotency-Key"))
	if err != nil {
		s.metrics.signup(problemFor(err).Code)
		fail(c, err)
		return
	}
	s.metrics.signup(signupResult(res))
	if res.ManageURL != "" {
		c.Header("Location", res.ManageURL)
	}
	c.JSON(res.Code, res)
}

func (s *Server) ownView(c *gin.Context, r *registration.Registration, e *registration.Event) *ownRegistrationView {
	token := c.Param("token")
	v := &ownRegistrationView{
		registrationView: *newRegistrationView(r),
		Event:            s.publicEventView(e, s.svc.Now(), s.locale(c)),
		ManageURL:        s.svc.URL("/r/" + token),
		CalendarURL:      s.svc.URL("/api/v1/registrations/" + token + "/calendar.ics"),
	}
	if r.Status == registration.RegWaitlisted {
		pos := r.WaitlistPosition
		v.WaitlistPosition = &pos
	}
	if r.Status == registration.RegConfirmed {
		v.JoinURL = s.svc.URL("/j/" + token)
	}
	return v
}

func (s *Server) getRegistration(c *gin.Context) {
	r, e, err := s.svc.RegistrationByToken(c.Request.Context(), c.Param("token"))
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(200, s.ownView(c, r, e))
}

func (s *Server) cancelRegistration(c *gin.Context) {
	if _, _, err := s.svc.CancelByToken(c.Request.Context(), c.Param("token")); err != nil {
		fail(c, err)
		return
	}
	s.getRegistration(c)
}

// unsubscribe is the RFC 8058 one-click target: a POST stops reminders.
func (s *Server) unsubscribe(c *gin.Context) {
	r, e, err := s.svc.Unsubscribe(c.Request.Context(), c.Param("token"))
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(200, s.ownView(c, r, e))
}

func (s *Server) calendar(c *gin.Context) {
	b, e, err := s.svc.Calendar(c.Request.Context(), c.Param("token"))
	if errors.Is(err, registration.ErrNoCalendar) {
		problem(c, http.StatusNotFound, "no_calendar", "This event has no start time, so there is no calendar entry.")
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+e.Slug+`.ics"`)
	c.Header("Cache-Control", "no-store")
	c.Data(200, "text/calendar; charset=utf-8", b)
}

// signupResult names the outcome of a sign-up for metrics.
func signupResult(res *registration.SignupResult) string {
	if res.Duplicate {
		return "duplicate"
	}
	return res.Status
}
