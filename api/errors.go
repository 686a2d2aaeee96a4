package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"eventreg/registration"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string                    `json:"type"`
	Title  string                    `json:"title"`
	Status int                       `json:"status"`
	Detail string                    `json:"detail,omitempty"`
	Code   string                    `json:"code"`
	Errors []registration.FieldError `json:"errors,omitempty"`
}

func problem(c *gin.Context, status int, code, detail string) {
	writeProblem(c, &Problem{Status: status, Code: code, Detail: detail})
}

func writeProblem(c *gin.Context, p *Problem) {
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Type == "" {
		p.Type = "https://eventreg.dev/problems/" + strings.ReplaceAll(p.Code, "_", "-")
	}
	c.Header("Content-Type", "application/problem+json")
	c.Header("Cache-Control", "no-store")
	b, err := json.Marshal(p)
	if err != nil {
		b = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"code":"internal"}`)
	}
	c.Status(p.Status)
	_, _ = c.Writer.Write(b)
	c.Abort()
}

// problemFor maps an error from the domain (or from binding) to its problem:
// the one place where errors become status codes.
func problemFor(err error) *Problem {
	var ve *registration.ValidationError
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &ve):
		return &Problem{Status: 422, Code: "validation_failed", Title: "Validation failed",
			Detail: "Some fields are not valid.", Errors: ve.Fields}
	case errors.As(err, &mbe):
		return &Problem{Status: 413, Code: "body_too_large", Detail: fmt.Sprintf("The body is larger than %d bytes.", maxBody)}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return &Problem{Status: 422, Code: "validation_failed", Title: "Validation failed",
			Detail: "Some fields have the wrong type.",
			Errors: []registration.FieldError{{Field: field, Code: "invalid_type", Message: "must be a " + typ.Type.String()}}}
	case errors.As(err, &syn), errors.Is(err, errBadJSON):
		return &Problem{Status: 400, Code: "invalid_json", Detail: "The body is not a valid JSON object."}
	case errors.Is(err, errBadForm):
		return &Problem{Status: 400, Code: "invalid_form", Detail: "The body is not a valid form."}
	case errors.Is(err, registration.ErrNotFound):
		return &Problem{Status: 404, Code: "not_found", Detail: "No such resource."}
	case errors.Is(err, registration.ErrSlugTaken):
		return &Problem{Status: 409, Code: "slug_taken", Detail: "Another event has this slug.",
			Errors: []registration.FieldError{{Field: "slug", Code: "taken", Message: "is already used by another event"}}}
	case errors.Is(err, registration.ErrRegistrationNotOpen):
		return &Problem{Status: 409, Code: "registration_not_open", Detail: "Registration has not opened yet."}
	case errors.Is(err, registration.ErrRegistrationClosed):
		return &Problem{Status: 409, Code: "registration_closed", Detail: "Registration is closed."}
	case errors.Is(err, registration.ErrEventFull):
		return &Problem{Status: 409, Code: "event_full", Detail: "The event is fully booked."}
	case errors.Is(err, registration.ErrEventCancelled):
		return &Problem{Status: 409, Code: "event_cancelled", Detail: "The event is cancelled."}
	case errors.Is(err, registration.ErrEventEnded):
		return &Problem{Status: 409, Code: "event_ended", Detail: "The event has ended."}
	case errors.Is(err, registration.ErrIdempotencyMismatch):
		return &Problem{Status: 422, Code: "idempotency_key_reused", Detail: "This Idempotency-Key was used for a different request."}
	case errors.Is(err, registration.ErrTokenNameTaken):
		return &Problem{Status: 409, Code: "name_taken", Detail: "A token with this name exists."}
	case errors.Is(err, registration.ErrConflict):
		return &Problem{Status: 409, Code: "conflict", Detail: strings.TrimPrefix(err.Error(), "conflict: ")}
	case errors.Is(err, registration.ErrUnauthorized):
		return &Problem{Status: 401, Code: "unauthorized", Detail: "A valid organizer token is required."}
	case errors.Is(err, registration.ErrUnavailable):
		return &Problem{Status: 503, Code: "unavailable", Detail: "The database cannot take writes right now; try again shortly."}
	}
	return &Problem{Status: 500, Code: "internal", Detail: "Something went wrong on our side."}
}

// fail answers err as problem+json, logging what the client is not told.
func fail(c *gin.Context, err error) {
	p := problemFor(err)
	switch p.Status {
	case 500:
		logger(c).Error("request failed", "err", err)
	case 503:
		logger(c).Warn("unavailable", "err", err)
		c.Header("Retry-After", "5")
	case 401:
		c.Header("WWW-Authenticate", `Bearer realm="eventreg"`)
	}
	writeProblem(c, p)
}

func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(loggerKey); ok {
		return l.(*slog.Logger)
	}
	if v, ok := c.Get(requestKey); ok {
		info := v.(*requestInfo)
		l := info.log.With("request_id", info.id)
		c.Set(loggerKey, l)
		return l
	}
	return slog.Default()
}
