package api

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"eventreg/registration"
)

// statusRank orders the events box: live and open first, then upcoming, then
// closed, then replays and the ended.
var statusRank = map[string]int{
	registration.StatusLive: 0, registration.StatusOpen: 1, registration.StatusWaitlist: 1,
	registration.StatusUpcoming: 2, registration.StatusClosed: 3, registration.StatusFull: 3,
	registration.StatusReplay: 4, registration.StatusEnded: 5, registration.StatusCancelled: 6,
	registration.StatusDraft: 7,
}

// boxOrder sorts events as the box shows them, keeping the store's date order
// within a rank.
func boxOrder(events []*registration.Event, now time.Time) {
	slices.SortStableFunc(events, func(a, b *registration.Event) int {
		ra, rb := statusRank[registration.Status(a, now)], statusRank[registration.Status(b, now)]
		if ra != rb {
			return ra - rb
		}
		// Replays and ended: the most recent first.
		if ra >= 4 {
			return -compareTime(sortTime(a), sortTime(b))
		}
		return 0
	})
}

func sortTime(e *registration.Event) time.Time {
	switch {
	case e.StartsAt != nil:
		return *e.StartsAt
	case e.RegistrationClosesAt != nil:
		return *e.RegistrationClosesAt
	}
	return e.RegistrationOpensAt
}

func compareTime(a, b time.Time) int { return a.Compare(b) }

// splitList reads "a,b" query values (also repeated parameters).
func splitList(c *gin.Context, key string) []string {
	var out []string
	for _, v := range c.QueryArray(key) {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// offsetCursor is an opaque cursor for lists ordered in Go.
func encodeOffset(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(n)))
}

func decodeOffset(s string) (int, bool) {
	if s == "" {
		return 0, true
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != 'o' {
		return 0, false
	}
	n, err := strconv.Atoi(string(b[1:]))
	return n, err == nil && n >= 0
}

// pageLimit reads ?limit= within [1, max], def when absent.
func pageLimit(c *gin.Context, def, max int) (int, *registration.FieldError) {
	raw := c.Query("limit")
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > max {
		return 0, &registration.FieldError{Field: "limit", Code: "invalid", Message: "must be a whole number from 1 to " + strconv.Itoa(max)}
	}
	return n, nil
}

// filterEvents reads ?status= and ?kind= and checks their values.
func filterEvents(c *gin.Context) (statuses, kinds []string, err error) {
	var v registration.ValidationError
	statuses = splitList(c, "status")
	for _, st := range statuses {
		if _, ok := statusRank[st]; !ok || st == registration.StatusDraft {
			v.Fields = append(v.Fields, registration.FieldError{Field: "status", Code: "invalid", Message: "unknown status " + strconv.Quote(st)})
		}
	}
	kinds = splitList(c, "kind")
	for _, k := range kinds {
		if !slices.Contains(registration.EventKinds, k) {
			v.Fields = append(v.Fields, registration.FieldError{Field: "kind", Code: "invalid", Message: "unknown kind " + strconv.Quote(k)})
		}
	}
	if len(v.Fields) > 0 {
		return nil, nil, &v
	}
	return statuses, kinds, nil
}

// publicEvents lists the non-draft events for the box, filtered by status and kind.
func (s *Server) publicEvents(c *gin.Context, statuses, kinds []string) ([]*registration.Event, time.Time, error) {
	now := s.svc.Now()
	events, err := s.svc.Store().Events(c.Request.Context(), registration.EventFilter{PublishedOnly: true, Kinds: kinds})
	if err != nil {
		return nil, now, err
	}
	if len(statuses) > 0 {
		events = slices.DeleteFunc(events, func(e *registration.Event) bool {
			return !slices.Contains(statuses, registration.Status(e, now))
		})
	}
	boxOrder(events, now)
	return events, now, nil
}

func (s *Server) listEvents(c *gin.Context) {
	statuses, kinds, err := filterEvents(c)
	if err != nil {
		fail(c, err)
		return
	}
	limit, ferr := pageLimit(c, 50, 100)
	offset, ok := decodeOffset(c.Query("cursor"))
	if ferr != nil || !ok {
		v := &registration.ValidationError{}
		if ferr != nil {
			v.Fields = append(v.Fields, *ferr)
		}
		if !ok {
			v.Fields = append(v.Fields, registration.FieldError{Field: "cursor", Code: "invalid", Message: "is not a cursor from a previous page"})
		}
		fail(c, v)
		return
	}
	locale := s.locale(c)
	c.Header("Content-Language", locale)
	c.Header("Vary", "Accept-Language, Cookie")
	err = s.cache.serve(c, s.cfg.PublicCache, "events "+locale+" "+c.Request.URL.RawQuery, func() (int, string, []byte, error) {
		events, now, err := s.publicEvents(c, statuses, kinds)
		if err != nil {
			return 0, "", nil, err
		}
		items := []*eventView{}
		for i := offset; i < len(events) && len(items) < limit; i++ {
			items = append(items, s.publicEventView(events[i], now, locale))
		}
		var next *string
		if offset+limit < len(events) {
			n := encodeOffset(offset + limit)
			next = &n
		}
		b, err := json.Marshal(gin.H{"items": items, "next_cursor": next})
		return 200, "application/json; charset=utf-8", b, err
	})
	if err != nil {
		fail(c, err)
	}
}

func (s *Server) getEvent(c *gin.Context) {
	e, err := s.svc.PublicEvent(c.Request.Context(), c.Param("slug"))
	if err != nil {
		fail(c, err)
		return
	}
	locale := s.locale(c)
	c.Header("Content-Language", locale)
	c.Header("Vary", "Accept-Language")
	c.JSON(200, s.publicEventView(e, s.svc.Now(), locale))
}
