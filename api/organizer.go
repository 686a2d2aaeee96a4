package api

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"eventreg/registration"
)

func (s *Server) createEvent(c *gin.Context) {
	var raw map[string]json.RawMessage
	if err := bindJSON(c, &raw); err != nil {
		fail(c, err)
		return
	}
	if raw == nil {
		fail(c, errBadJSON)
		return
	}
	e, err := s.svc.CreateEvent(c.Request.Context(), raw)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/admin/events/"+e.Slug)
	s.writeOrganizerEvent(c, 201, e)
}

func (s *Server) writeOrganizerEvent(c *gin.Context, code int, e *registration.Event) {
	counts, err := s.svc.EventCounts(c.Request.Context(), e)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(code, s.organizerEventView(e, counts, s.svc.Now(), s.locale(c)))
}

func (s *Server) adminListEvents(c *gin.Context) {
	_, kinds, err := filterEvents(c)
	if err != nil {
		fail(c, err)
		return
	}
	ctx := c.Request.Context()
	events, err := s.svc.Store().Events(ctx, registration.EventFilter{Kinds: kinds})
	if err != nil {
		fail(c, err)
		return
	}
	now, locale := s.svc.Now(), s.locale(c)
	items := make([]*organizerEventView, 0, len(events))
	for _, e := range events {
		counts, err := s.svc.EventCounts(ctx, e)
		if err != nil {
			fail(c, err)
			return
		}
		items = append(items, s.organizerEventView(e, counts, now, locale))
	}
	c.JSON(200, gin.H{"items": items, "next_cursor": nil})
}

func (s *Server) adminGetEvent(c *gin.Context) {
	e, err := s.svc.Event(c.Request.Context(), c.Param("slug"))
	if err != nil {
		fail(c, err)
		return
	}
	s.writeOrganizerEvent(c, 200, e)
}

func (s *Server) updateEvent(c *gin.Context) {
	var raw map[string]json.RawMessage
	if err := bindJSON(c, &raw); err != nil {
		fail(c, err)
		return
	}
	if raw == nil {
		fail(c, errBadJSON)
		return
	}
	e, err := s.svc.UpdateEvent(c.Request.Context(), c.Param("slug"), raw)
	if err != nil {
		fail(c, err)
		return
	}
	s.writeOrganizerEvent(c, 200, e)
}

func (s *Server) cancelEvent(c *gin.Context) {
	e, err := s.svc.CancelEvent(c.Request.Context(), c.Param("slug"))
	if err != nil {
		fail(c, err)
		return
	}
	s.writeOrganizerEvent(c, 200, e)
}

var regStatuses = []string{registration.RegConfirmed, registration.RegWaitlisted, registration.RegCancelled}

// registrationFilter reads ?status=&q=&limit=&cursor= for an event.
func registrationFilter(c *gin.Context, eventID int64) (registration.RegistrationFilter, error) {
	f := registration.RegistrationFilter{EventID: eventID, Status: c.Query("status"), Query: c.Query("q")}
	var v registration.ValidationError
	if f.Status != "" && !slices.Contains(regStatuses, f.Status) {
		v.Fields = append(v.Fields, registration.FieldError{Field: "status", Code: "invalid", Message: "must be confirmed, waitlisted or cancelled"})
	}
	if len([]rune(f.Query)) > 200 {
		v.Fields = append(v.Fields, registration.FieldError{Field: "q", Code: "too_long", Message: "must be at most 200 characters"})
	}
	limit, ferr := pageLimit(c, 50, 500)
	if ferr != nil {
		v.Fields = append(v.Fields, *ferr)
	}
	f.Limit = limit
	if cur := c.Query("cursor"); cur != "" {
		id, ok := decodeIDCursor(cur)
		if !ok {
			v.Fields = append(v.Fields, registration.FieldError{Field: "cursor", Code: "invalid", Message: "is not a cursor from a previous page"})
		}
		f.AfterID = id
	}
	if len(v.Fields) > 0 {
		return f, &v
	}
	return f, nil
}

func encodeIDCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("r" + strconv.FormatInt(id, 10)))
}

func decodeIDCursor(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != 'r' {
		return 0, false
	}
	id, err := strconv.ParseInt(string(b[1:]), 10, 64)
	return id, err == nil && id >= 0
}

// eventAndFilter reads the event of the path and the registration filter of
// the query, answering the problem itself when either is wrong.
func (s *Server) eventAndFilter(c *gin.Context) (*registration.Event, registration.RegistrationFilter, bool) {
	e, err := s.svc.Event(c.Request.Context(), c.Param("slug"))
	if err != nil {
		fail(c, err)
		return nil, registration.RegistrationFilter{}, false
	}
	f, err := registrationFilter(c, e.ID)
	if err != nil {
		fail(c, err)
		return nil, f, false
	}
	return e, f, true
}

func (s *Server) listRegistrations(c *gin.Context) {
	ctx := c.Request.Context()
	_, f, ok := s.eventAndFilter(c)
	if !ok {
		return
	}
	regs, total, err := s.svc.Store().Registrations(ctx, f)
	if err != nil {
		fail(c, err)
		return
	}
	items := make([]*registrationView, len(regs))
	for i, r := range regs {
		items[i] = newRegistrationView(r)
	}
	var next *string
	if len(regs) == f.Limit {
		n := encodeIDCursor(regs[len(regs)-1].ID)
		next = &n
	}
	c.JSON(200, gin.H{"items": items, "next_cursor": next, "total": total})
}

// csvHeader names the export's columns.
var csvHeader = []string{"id", "status", "name", "email", "company", "job_title", "phone", "question",
	"locale", "consent", "created_at", "confirmed_at", "cancelled_at", "checked_in_at", "joined_at"}

// CSVWriter writes registrations as CSV, safe to open in a spreadsheet. It
// writes what encoding/csv writes (RFC 4180 quoting, "\n" line ends), but
// appends each row to one reused buffer, numbers and times formatted in
// place: an export of 100,000 rows allocates next to nothing per row.
type CSVWriter struct {
	w   io.Writer
	loc *time.Location
	buf []byte
	err error
}

// csvFlushAt is the buffered size at which rows go out to the writer: each
// flush is a chunk and a system call or two, and at 32 KiB an export of
// 100,000 rows (14 MB) made about 900 of them.
const csvFlushAt = 128 << 10

// NewCSVWriter starts a CSV document on w: a UTF-8 byte order mark (so that
// spreadsheets read Chinese right) and the header row.
func NewCSVWriter(w io.Writer, loc *time.Location) (*CSVWriter, error) {
	cw := &CSVWriter{w: w, loc: loc, buf: make([]byte, 0, csvFlushAt+4<<10)}
	cw.buf = append(cw.buf, "\ufeff"...)
	for i, h := range csvHeader {
		if i > 0 {
			cw.buf = append(cw.buf, ',')
		}
		cw.buf = appendCell(cw.buf, h, false)
	}
	cw.buf = append(cw.buf, '\n')
	return cw, cw.Flush()
}

// Write writes one registration.
func (cw *CSVWriter) Write(r *registration.Registration) error {
	if cw.err != nil {
		return cw.err
	}
	b := strconv.AppendInt(cw.buf, r.ID, 10)
	b = appendCell(append(b, ','), r.Status, false)
	for _, s := range [...]string{r.Name, r.Email, r.Company, r.JobTitle, r.Phone, r.Question} {
		b = appendCell(append(b, ','), s, true)
	}
	b = appendCell(append(b, ','), r.Locale, false)
	b = strconv.AppendBool(append(b, ','), r.Consent)
	b = r.CreatedAt.In(cw.loc).AppendFormat(append(b, ','), time.RFC3339)
	for _, t := range [...]*time.Time{r.ConfirmedAt, r.CancelledAt, r.CheckedInAt, r.JoinedAt} {
		b = append(b, ',')
		if t != nil {
			b = t.In(cw.loc).AppendFormat(b, time.RFC3339)
		}
	}
	cw.buf = append(b, '\n')
	if len(cw.buf) >= csvFlushAt {
		return cw.Flush()
	}
	return nil
}

// Flush writes buffered rows out.
func (cw *CSVWriter) Flush() error {
	if cw.err == nil && len(cw.buf) > 0 {
		_, cw.err = cw.w.Write(cw.buf)
		cw.buf = cw.buf[:0]
	}
	return cw.err
}

// appendCell appends one CSV field, quoted when encoding/csv would quote it.
// With formula set it first defuses spreadsheet formulas: a cell starting
// with = + - @ TAB or CR gets a leading apostrophe (OWASP's advice for CSV
// injection).
func appendCell(b []byte, s string, formula bool) []byte {
	if s == "" {
		return b
	}
	defused := formula && strings.IndexByte("=+-@\t\r", s[0]) >= 0
	quote := strings.ContainsAny(s, "\"\r\n,")
	if !defused && !quote {
		first, _ := utf8.DecodeRuneInString(s)
		quote = s == `\.` || unicode.IsSpace(first)
	}
	if quote {
		b = append(b, '"')
	}
	if defused {
		b = append(b, '\'')
	}
	if !quote {
		return append(b, s...)
	}
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b = append(append(b, s[:i+1]...), '"')
		s = s[i+1:]
	}
	return append(append(b, s...), '"')
}

func (s *Server) exportRegistrations(c *gin.Context) {
	e, f, ok := s.eventAndFilter(c)
	if !ok {
		return
	}
	s.streamCSV(c, e, f)
}

// streamCSV answers the registrations of e matching f as a CSV download,
// written row by row as they are read.
func (s *Server) streamCSV(c *gin.Context, e *registration.Event, f registration.RegistrationFilter) {
	ctx := c.Request.Context()
	name := e.Slug + "-registrations.csv"
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="`+name+`"; filename*=UTF-8''`+url.PathEscape(name))
	c.Header("Cache-Control", "no-store")
	c.Status(200)
	cw, err := NewCSVWriter(c.Writer, e.Loc())
	if err != nil {
		return
	}
	// Rows stream out as they are read, every csvFlushAt bytes (a write that
	// large goes straight through the response's small buffer to the
	// connection), so memory stays flat.
	n := 0
	err = s.svc.Store().EachRegistration(ctx, f, func(r *registration.Registration) error {
		if err := cw.Write(r); err != nil {
			return err
		}
		n++
		return nil
	})
	if err == nil {
		err = cw.Flush()
	}
	if err != nil {
		// Headers are gone: all that is left is to cut the response short so
		// the client does not take a partial file for a whole one.
		logger(c).Warn("csv export cut short", "err", err, "rows", n)
		panic(httpAbort)
	}
}

func (s *Server) regID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		problem(c, 404, "not_found", "No such registration.")
		return 0, false
	}
	return id, true
}

func (s *Server) checkIn(c *gin.Context) {
	id, ok := s.regID(c)
	if !ok {
		return
	}
	body := struct {
		CheckedIn *bool `json:"checked_in"`
	}{}
	if c.Request.ContentLength != 0 && c.Request.Body != nil {
		if err := bindJSON(c, &body); err != nil && err != errNoBody {
			fail(c, err)
			return
		}
	}
	on := body.CheckedIn == nil || *body.CheckedIn
	r, err := s.svc.CheckIn(c.Request.Context(), c.Param("slug"), id, on)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(200, newRegistrationView(r))
}

func (s *Server) adminCancelRegistration(c *gin.Context) {
	id, ok := s.regID(c)
	if !ok {
		return
	}
	r, _, err := s.svc.CancelRegistration(c.Request.Context(), c.Param("slug"), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(200, newRegistrationView(r))
}

func (s *Server) resend(c *gin.Context) {
	id, ok := s.regID(c)
	if !ok {
		return
	}
	r, err := s.svc.Resend(c.Request.Context(), c.Param("slug"), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(202, newRegistrationView(r))
}

func (s *Server) stats(c *gin.Context) {
	ctx := c.Request.Context()
	e, err := s.svc.Event(ctx, c.Param("slug"))
	if err != nil {
		fail(c, err)
		return
	}
	st, err := s.svc.Stats(ctx, e)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(200, st)
}

var msgStatuses = []string{registration.MsgPending, registration.MsgSending, registration.MsgSent,
	registration.MsgFailed, registration.MsgSkipped, registration.MsgCancelled}

func (s *Server) emails(c *gin.Context) {
	ctx := c.Request.Context()
	e, err := s.svc.Event(ctx, c.Param("slug"))
	if err != nil {
		fail(c, err)
		return
	}
	f := registration.MessageFilter{EventID: e.ID, Status: c.Query("status")}
	var v registration.ValidationError
	if f.Status != "" && !slices.Contains(msgStatuses, f.Status) {
		v.Fields = append(v.Fields, registration.FieldError{Field: "status", Code: "invalid", Message: "unknown email status"})
	}
	limit, ferr := pageLimit(c, 200, 1000)
	if ferr != nil {
		v.Fields = append(v.Fields, *ferr)
	}
	if len(v.Fields) > 0 {
		fail(c, &v)
		return
	}
	f.Limit = limit
	msgs, err := s.svc.Store().Messages(ctx, f)
	if err != nil {
		fail(c, err)
		return
	}
	if msgs == nil {
		msgs = []*registration.Message{}
	}
	c.JSON(200, gin.H{"items": msgs})
}

// retryEmails puts failed rows back in the queue: all of the event's, or the
// one named by {"id": N}.
func (s *Server) retryEmails(c *gin.Context) {
	body := struct {
		ID int64 `json:"id"`
	}{}
	if c.Request.ContentLength != 0 && c.Request.Body != nil {
		if err := bindJSON(c, &body); err != nil && err != errNoBody {
			fail(c, err)
			return
		}
	}
	n, err := s.svc.RetryFailed(c.Request.Context(), c.Param("slug"), body.ID)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(200, gin.H{"retried": n})
}
