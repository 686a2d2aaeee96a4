package registration

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"eventreg/mail"
)

const timeMinute = time.Minute

// resendAfter is how long a duplicate sign-up waits before it may re-send the
// confirmation, so a form cannot be used to flood someone's inbox.
const resendAfter = 10 * time.Minute

// joinOpensBefore is how early the personal join link starts to redirect.
const joinOpensBefore = 15 * time.Minute

// Options configure a Service.
type Options struct {
	Now             func() time.Time // the clock; time.Now when nil
	BaseURL         string           // absolute, for links in emails
	DefaultTimezone string           // for new events
	DefaultLocale   string           // for registrants who state none
	MailFrom        string
	AdminToken      string
	// Calendar renders an iCalendar file (mail.Calendar, wired by main; the
	// domain hands it plain data and never renders anything itself).
	Calendar func(mail.Message) ([]byte, error)
}

// Service holds the rules: it is what the HTTP layer and the worker call.
type Service struct {
	store  *Store
	opts   Options
	secret []byte
	macs   sync.Pool // HMAC-SHA256 under secret, for mac
	host   string    // for Message-IDs and calendar UIDs
	events sync.Map  // slug → cachedEvent, for the sign-up path
}

// NewService reads (or creates) the server secret and returns a Service.
func NewService(ctx context.Context, store *Store, opts Options) (*Service, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DefaultTimezone == "" {
		opts.DefaultTimezone = "UTC"
	}
	if opts.DefaultLocale == "" {
		opts.DefaultLocale = "en"
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	secret, err := store.setting(ctx, "secret", hex.EncodeToString(raw))
	if err != nil {
		return nil, fmt.Errorf("server secret: %w", err)
	}
	key, err := hex.DecodeString(secret)
	if err != nil || len(key) < 16 {
		return nil, errors.New("server secret in settings is malformed")
	}
	host := "localhost"
	if u, err := url.Parse(opts.BaseURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	svc := &Service{store: store, opts: opts, secret: key, host: host}
	svc.macs.New = func() any { return hmac.New(sha256.New, key) }
	if store.batch == nil {
		store.batch = newBatcher(store.w, svc.signupBulk)
	}
	return svc, nil
}

// Store returns the store, for reads the HTTP layer makes directly.
func (s *Service) Store() *Store { return s.store }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.opts.Now() }

// clock is now in UTC at the precision both databases keep.
func (s *Service) clock() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// DefaultLocale is the configured locale.
func (s *Service) DefaultLocale() string { return s.opts.DefaultLocale }

// URL makes an absolute link under the base URL.
func (s *Service) URL(path string) string { return s.opts.BaseURL + path }

// ---- events ----

// CreateEvent validates the JSON object raw and stores a new event.
func (s *Service) CreateEvent(ctx context.Context, raw map[string]json.RawMessage) (*Event, error) {
	now := s.clock()
	e := &Event{
		Timezone:            s.opts.DefaultTimezone,
		RegistrationOpensAt: now,
		Waitlist:            true,
		Reminders:           Durations{24 * time.Hour, time.Hour},
		State:               StateDraft,
		CreatedAt:           now,
		UpdatedAt:           now,
	}
	if err := applyEventFields(e, raw, true); err != nil {
		return nil, err
	}
	_, explicit := raw["slug"]
	if !explicit {
		e.Slug = slugify(e.Title)
	}
	for attempt := 0; ; attempt++ {
		if !explicit && (e.Slug == "" || attempt > 0) {
			e.Slug = withSuffix(slugify(e.Title))
		}
		err := s.store.tx(ctx, func(tx *sqlx.Tx) error { return insertEvent(ctx, tx, e) })
		if errors.Is(err, ErrSlugTaken) && !explicit && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return e, nil
	}
}

func withSuffix(base string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	if len(base) > 70 {
		base = strings.Trim(base[:70], "-")
	}
	if base == "" {
		return "event-" + hex.EncodeToString(b)
	}
	return base + "-" + hex.EncodeToString(b)
}

// Event returns the event called slug.
func (s *Service) Event(ctx context.Context, slug string) (*Event, error) {
	if !ValidSlug(slug) {
		return nil, ErrNotFound
	}
	return s.store.EventBySlug(ctx, slug)
}

// PublicEvent returns the event called slug unless it is a draft.
func (s *Service) PublicEvent(ctx context.Context, slug string) (*Event, error) {
	e, err := s.Event(ctx, slug)
	if err != nil {
		return nil, err
	}
	if e.State == StateDraft {
		return nil, ErrNotFound
	}
	return e, nil
}

// UpdateEvent applies the fields present in raw. A change of time, link or
// place bumps the sequence and tells confirmed registrants; a new start
// re-times pending reminders; more seats promote waitlisted people.
func (s *Service) UpdateEvent(ctx context.Context, slug string, raw map[string]json.RawMessage) (*Event, error) {
	if !ValidSlug(slug) {
		return nil, ErrNotFound
	}
	now := s.clock()
	var out *Event
	err := s.store.tx(ctx, func(tx *sqlx.Tx) error {
		e, err := lockedEventBySlug(ctx, tx, slug)
		if err != nil {
			return err
		}
		if e.State == StateCancelled {
			return ErrEventCancelled
		}
		old := *e
		if err := applyEventFields(e, raw, false); err != nil {
			return err
		}
		if e.Capacity != nil && *e.Capacity < e.Confirmed {
			return &ValidationError{Fields: []FieldError{{Field: "capacity", Code: "below_confirmed",
				Message: fmt.Sprintf("must be at least the %d confirmed registrations", e.Confirmed)}}}
		}
		changed := !timeEq(old.StartsAt, e.StartsAt) || !timeEq(old.EndsAt, e.EndsAt) ||
			old.JoinURL != e.JoinURL || old.Location != e.Location
		if changed {
			e.Sequence++
		}
		e.UpdatedAt = now
		if err := updateEvent(ctx, tx, e); err != nil {
			return err
		}
		if changed {
			if err := s.eventChanged(ctx, tx, e, &old, now); err != nil {
				return err
			}
		}
		if err := s.promote(ctx, tx, e.ID, now); err != nil {
			return err
		}
		out, err = eventByID(ctx, tx, e.ID)
		return err
	})
	return out, err
}

func timeEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// CancelEvent cancels the event, tells everyone registered and drops every
// pending reminder. Cancelling a cancelled event changes nothing.
func (s *Service) CancelEvent(ctx context.Context, slug string) (*Event, error) {
	if !ValidSlug(slug) {
		return nil, ErrNotFound
	}
	now := s.clock()
	var out *Event
	err := s.store.tx(ctx, func(tx *sqlx.Tx) error {
		e, err := lockedEventBySlug(ctx, tx, slug)
		if err != nil {
			return err
		}
		if e.State == StateCancelled {
			out = e
			return nil
		}
		wasDraft := e.State == StateDraft
		e.State = StateCancelled
		e.Sequence++
		e.UpdatedAt = now
		if err := updateEvent(ctx, tx, e); err != nil {
			return err
		}
		if err := cancelPending(ctx, tx, e.ID, 0, now); err != nil {
			return err
		}
		if !wasDraft {
			regs, err := registrationsByStatus(ctx, tx, e.ID, RegConfirmed, RegWaitlisted)
			if err != nil {
				return err
			}
			for _, r := range regs {
				if err := s.queue(ctx, tx, e, r, KindEventCancelled, now, 0); err != nil {
					return err
				}
			}
		}
		out = e
		return nil
	})
	return out, err
}

// ---- sign-ups ----

// SignupResult is the answer to a sign-up; it is stored as given with an
// Idempotency-Key and replayed for retries of the same request.
type SignupResult struct {
	ID               int64  `json:"id,omitempty"`
	Status           string `json:"status"`
	WaitlistPosition *int   `json:"waitlist_position"`
	ManageURL        string `json:"manage_url,omitempty"`
	CalendarURL      string `json:"calendar_url,omitempty"`
	Duplicate        bool   `json:"duplicate"`

	Code  int    `json:"-"` // 201 for a new registration, 200 for a duplicate
	Token string `json:"-"` // manage token of a new registration
}

// Signup registers someone for the event called slug. A repeat by the same
// email answers the current status and nothing else; idemKey, when given,
// makes a retried request return the first answer.
func (s *Service) Signup(ctx context.Context, slug string, in SignupInput, idemKey string) (*SignupResult, error) {
	if err := in.normalize(); err != nil {
		return nil, err
	}
	if utfLen(idemKey) > maxIdemKey || hasControl(idemKey, false) {
		return nil, &ValidationError{Fields: []FieldError{{Field: "Idempotency-Key", Code: "invalid", Message: "must be at most 255 printable characters"}}}
	}
	if in.Locale == "" {
		in.Locale = s.opts.DefaultLocale
	}
	now := s.clock()
	e, err := s.signupEvent(ctx, slug)
	if err != nil {
		return nil, err
	}
	// Refuse without the write lock what is surely refused: a sold-out or
	// closed event must not slow down the sign-ups of others.
	if err := refusal(e, now); err != nil && idemKey == "" {
		return nil, err
	}
	w := s.newSignupWork(e, in, idemKey, now)
	// On PostgreSQL a sign-up with an Idempotency-Key keeps a transaction
	// of its own: it locks its event by itself, and inside a batch, which
	// holds its events in id order, it could take one out of order and
	// deadlock with another instance's batch.
	if s.store.batch != nil && (w.bulk != nil || s.store.engine == SQLite) {
		err = s.store.batch.do(ctx, w.fn, w.bulk)
	} else {
		err = s.store.tx(ctx, func(tx *sqlx.Tx) error { return w.fn(ctx, tx) })
	}
	if errors.Is(err, errDuplicate) {
		// Another instance inserted the same email between our check and
		// our insert; the unique index refused ours. Answer as a repeat.
		err = s.store.tx(ctx, func(tx *sqlx.Tx) error { return w.fn(ctx, tx) })
	}
	if err != nil {
		return nil, err
	}
	return s.result(w), nil
}

// signupWork is one sign-up as a transaction runs it: fn, the one-by-one
// path, and bulk (nil with an Idempotency-Key), the way a group commit may
// write it together with others instead.
type signupWork struct {
	fn   func(ctx context.Context, tx *sqlx.Tx) error
	bulk *bulkSignup
	res  *SignupResult // set by fn
}

func (s *Service) newSignupWork(e *Event, in SignupInput, idemKey string, now time.Time) *signupWork {
	var fp string
	if idemKey != "" {
		fp = fingerprint(in)
	}
	w := &signupWork{}
	w.fn = func(ctx context.Context, tx *sqlx.Tx) error {
		var err error
		w.res, err = s.signupTx(ctx, tx, e, in, idemKey, fp, now)
		return err
	}
	if idemKey == "" {
		w.bulk = &bulkSignup{e: e, in: in, emailNorm: strings.ToLower(in.Email), now: now, stamp: s.store.stamp(now)}
	}
	return w
}

// result is the answer of a sign-up that ran without error.
func (s *Service) result(w *signupWork) *SignupResult {
	if w.bulk != nil && w.bulk.handled {
		res := w.bulk.res
		if res.Code == 201 {
			s.fillCreated(res, res.ID)
		}
		return res
	}
	return w.res
}

// eventCacheFor is how long the sign-up path trusts an event it read. The
// read only routes the sign-up and refuses early; the guarded updates inside
// the transaction decide, so a stale copy never lets a sign-up through.
const eventCacheFor = time.Second

type cachedEvent struct {
	e  *Event
	at time.Time
}

// signupEvent is PublicEvent through a short cache: in a rush every sign-up
// asks for the same event.
func (s *Service) signupEvent(ctx context.Context, slug string) (*Event, error) {
	mono := time.Now()
	if v, ok := s.events.Load(slug); ok {
		if c := v.(cachedEvent); mono.Sub(c.at) < eventCacheFor {
			return c.e, nil
		}
	}
	e, err := s.PublicEvent(ctx, slug)
	if err != nil {
		return nil, err
	}
	s.events.Store(slug, cachedEvent{e: e, at: mono})
	return e, nil
}

func utfLen(s string) int { return len([]rune(s)) }

// fingerprint identifies the content of a sign-up request, so that an
// Idempotency-Key reused for a different request is refused.
func fingerprint(in SignupInput) string {
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// refusal says why an event takes no sign-up at now, or nil.
func refusal(e *Event, now time.Time) error {
	switch {
	case e.State == StateDraft:
		return ErrNotFound
	case e.State == StateCancelled:
		return ErrEventCancelled
	case e.EndsAt != nil && !now.Before(*e.EndsAt):
		return ErrEventEnded
	case now.Before(e.RegistrationOpensAt):
		return ErrRegistrationNotOpen
	case e.RegistrationClosesAt != nil && !now.Before(*e.RegistrationClosesAt):
		return ErrRegistrationClosed
	case e.Capacity != nil && e.Confirmed >= *e.Capacity && !e.Waitlist:
		return ErrEventFull
	}
	return nil
}

func (s *Service) signupTx(ctx context.Context, tx *sqlx.Tx, e *Event, in SignupInput, key, fp string, now time.Time) (*SignupResult, error) {
	eventID := e.ID
	if key != "" {
		rec, err := idempotencyByKey(ctx, tx, eventID, key)
		switch {
		case err == nil && rec.Fingerprint != fp:
			return nil, ErrIdempotencyMismatch
		case err == nil:
			var res SignupResult
			if err := json.Unmarshal([]byte(rec.Response), &res); err != nil {
				return nil, fmt.Errorf("stored answer: %w", err)
			}
			res.Code = rec.StatusCode
			return &res, nil
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	emailNorm := strings.ToLower(in.Email)
	res, err := s.signupOrRepeat(ctx, tx, e, in, emailNorm, now)
	if err != nil {
		return nil, err
	}
	if key != "" {
		b, err := json.Marshal(res)
		if err != nil {
			return nil, err
		}
		if err := insertIdempotency(ctx, tx, eventID, key, &idempotencyRecord{Fingerprint: fp, StatusCode: res.Code, Response: string(b)}, now); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (s *Service) signupOrRepeat(ctx context.Context, tx *sqlx.Tx, e *Event, in SignupInput, emailNorm string, now time.Time) (*SignupResult, error) {
	existing, err := liveRegistrationByEmail(ctx, tx, e.ID, emailNorm)
	switch {
	case err == nil:
		return s.repeat(ctx, tx, e, existing, now)
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	r := &Registration{
		EventID: e.ID, Name: in.Name, Email: in.Email, EmailNorm: emailNorm, Company: in.Company,
		JobTitle: in.JobTitle, Phone: in.Phone, Question: in.Question, Locale: in.Locale,
		Consent: in.Consent, CreatedAt: now, UpdatedAt: now, NotifiedAt: &now,
	}
	// The event was read before the transaction; the guards of these
	// updates re-check in the database what matters now (published, inside
	// the window, a seat or the waitlist), and only a refusal reads it again.
	seat, err := takeSeatIfOpen(ctx, tx, e.ID, now)
	if err != nil {
		return nil, err
	}
	switch {
	case seat:
		r.Status = RegConfirmed
		r.ConfirmedAt = &now
	default:
		ok, err := joinWaitlistIfOpen(ctx, tx, e.ID, now)
		if err != nil {
			return nil, err
		}
		if !ok {
			fresh, err := eventByID(ctx, tx, e.ID)
			if err != nil {
				return nil, err
			}
			if err := refusal(fresh, now); err != nil {
				return nil, err
			}
			return nil, ErrEventFull
		}
		r.Status = RegWaitlisted
	}
	if err := insertRegistration(ctx, tx, r); err != nil {
		return nil, err
	}
	res := &SignupResult{Status: r.Status, Code: 201}
	s.fillCreated(res, r.ID)
	if r.Status == RegConfirmed {
		if err := s.planConfirmed(ctx, tx, e, r, KindConfirmation, now); err != nil {
			return nil, err
		}
		return res, nil
	}
	pos, err := waitlistPosition(ctx, tx, r)
	if err != nil {
		return nil, err
	}
	res.WaitlistPosition = &pos
	return res, s.queue(ctx, tx, e, r, KindWaitlisted, now, pos)
}

// fillCreated completes the answer to a new registration id.
func (s *Service) fillCreated(res *SignupResult, id int64) {
	res.ID, res.Token = id, s.ManageToken(id)
	res.ManageURL = s.URL("/r/" + res.Token)
	res.CalendarURL = s.URL("/api/v1/registrations/" + res.Token + "/calendar.ics")
}

// repeat answers a second sign-up by the same email: the current status only,
// and at most one more confirmation per resendAfter.
func (s *Service) repeat(ctx context.Context, tx *sqlx.Tx, e *Event, r *Registration, now time.Time) (*SignupResult, error) {
	res := &SignupResult{Status: r.Status, Duplicate: true, Code: 200}
	pos, err := waitlistPosition(ctx, tx, r)
	if err != nil {
		return nil, err
	}
	if r.Status == RegWaitlisted {
		res.WaitlistPosition = &pos
	}
	if r.NotifiedAt == nil || now.Sub(*r.NotifiedAt) >= resendAfter {
		kind := KindConfirmation
		if r.Status == RegWaitlisted {
			kind = KindWaitlisted
		}
		if err := s.queue(ctx, tx, e, r, kind, now, pos); err != nil {
			return nil, err
		}
		if err := setNotified(ctx, tx, r.ID, now); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// ---- the registrant ----

// RegistrationByToken returns the registration a manage token names and its event.
func (s *Service) RegistrationByToken(ctx context.Context, token string) (*Registration, *Event, error) {
	id, err := s.parseToken(purposeManage, token)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.store.RegistrationByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	e, err := eventByID(ctx, s.store.r, r.EventID)
	if err != nil {
		return nil, nil, err
	}
	return r, e, nil
}

// CancelByToken cancels the registration a manage token names. Cancelling a
// cancelled registration changes nothing.
func (s *Service) CancelByToken(ctx context.Context, token string) (*Registration, *Event, error) {
	id, err := s.parseToken(purposeManage, token)
	if err != nil {
		return nil, nil, err
	}
	return s.cancel(ctx, id, 0)
}

// CancelRegistration is an organizer cancelling registration id of event slug.
func (s *Service) CancelRegistration(ctx context.Context, slug string, id int64) (*Registration, *Event, error) {
	e, err := s.Event(ctx, slug)
	if err != nil {
		return nil, nil, err
	}
	return s.cancel(ctx, id, e.ID)
}

// cancel frees the seat and promotes the oldest waitlisted registration in
// the same transaction. eventID, when not 0, must match.
func (s *Service) cancel(ctx context.Context, id, eventID int64) (*Registration, *Event, error) {
	now := s.clock()
	var r *Registration
	var e *Event
	err := s.store.tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		r, err = registrationByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if eventID != 0 && r.EventID != eventID {
			return ErrNotFound
		}
		// The event first, then the registration, read again under the
		// lock: the order of every sign-up and promotion, so that
		// instances cancelling side by side cannot deadlock.
		e, err = lockedEventByID(ctx, tx, r.EventID)
		if err != nil {
			return err
		}
		if r, err = registrationByID(ctx, tx, id); err != nil {
			return err
		}
		if r.Status == RegCancelled {
			return nil
		}
		was := r.Status
		r.Status = RegCancelled
		r.CancelledAt = &now
		r.UpdatedAt = now
		if err := setRegistrationStatus(ctx, tx, r); err != nil {
			return err
		}
		dc, dw := 0, 0
		if was == RegConfirmed {
			dc = -1
		} else {
			dw = -1
		}
		if err := addCounters(ctx, tx, e.ID, dc, dw); err != nil {
			return err
		}
		if err := cancelPending(ctx, tx, e.ID, r.ID, now); err != nil {
			return err
		}
		if e.State != StateCancelled {
			if err := s.queue(ctx, tx, e, r, KindCancelled, now, 0); err != nil {
				return err
			}
		}
		if was == RegConfirmed {
			return s.promote(ctx, tx, e.ID, now)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return r, e, nil
}

// promote gives free seats to waitlisted registrations, oldest first.
func (s *Service) promote(ctx context.Context, tx *sqlx.Tx, eventID int64, now time.Time) error {
	for {
		e, err := eventByID(ctx, tx, eventID)
		if err != nil {
			return err
		}
		if e.State == StateCancelled || (e.EndsAt != nil && !now.Before(*e.EndsAt)) || e.Waitlisted == 0 {
			return nil
		}
		if e.Capacity != nil && e.Confirmed >= *e.Capacity {
			return nil
		}
		w, err := oldestWaitlisted(ctx, tx, eventID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		ok, err := takeSeat(ctx, tx, eventID)
		if err != nil || !ok {
			return err
		}
		if err := addCounters(ctx, tx, eventID, 0, -1); err != nil {
			return err
		}
		w.Status = RegConfirmed
		w.ConfirmedAt = &now
		w.UpdatedAt = now
		w.NotifiedAt = &now
		if err := setRegistrationStatus(ctx, tx, w); err != nil {
			return err
		}
		if err := cancelPending(ctx, tx, eventID, w.ID, now, KindWaitlisted); err != nil {
			return err
		}
		e.Confirmed++
		if err := s.planConfirmed(ctx, tx, e, w, KindPromoted, now); err != nil {
			return err
		}
	}
}

// CheckIn marks (or, with on false, unmarks) a confirmed registration as
// checked in. Checking in twice keeps the first time.
func (s *Service) CheckIn(ctx context.Context, slug string, id int64, on bool) (*Registration, error) {
	e, err := s.Event(ctx, slug)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	var r *Registration
	err = s.store.tx(ctx, func(tx *sqlx.Tx) error {
		r, err = registrationByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.EventID != e.ID {
			return ErrNotFound
		}
		if r.Status != RegConfirmed {
			return fmt.Errorf("%w: only confirmed registrations can be checked in", ErrConflict)
		}
		switch {
		case on && r.CheckedInAt == nil:
			r.CheckedInAt = &now
		case !on:
			r.CheckedInAt = nil
		default:
			return nil
		}
		return setCheckedIn(ctx, tx, r.ID, r.CheckedInAt, now)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Resend queues the registration's confirmation (or waitlist notice) again.
func (s *Service) Resend(ctx context.Context, slug string, id int64) (*Registration, error) {
	e, err := s.Event(ctx, slug)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	var r *Registration
	err = s.store.tx(ctx, func(tx *sqlx.Tx) error {
		r, err = registrationByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.EventID != e.ID {
			return ErrNotFound
		}
		kind := KindConfirmation
		pos := 0
		switch r.Status {
		case RegCancelled:
			return fmt.Errorf("%w: the registration is cancelled", ErrConflict)
		case RegWaitlisted:
			kind = KindWaitlisted
			if pos, err = waitlistPosition(ctx, tx, r); err != nil {
				return err
			}
		}
		if err := s.queue(ctx, tx, e, r, kind, now, pos); err != nil {
			return err
		}
		return setNotified(ctx, tx, r.ID, now)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Unsubscribe stops further reminders and the replay mail for one registration.
func (s *Service) Unsubscribe(ctx context.Context, token string) (*Registration, *Event, error) {
	id, err := s.parseToken(purposeManage, token)
	if err != nil {
		return nil, nil, err
	}
	now := s.clock()
	err = s.store.tx(ctx, func(tx *sqlx.Tx) error {
		r, err := registrationByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := setRemindersOff(ctx, tx, id, now); err != nil {
			return err
		}
		return cancelPending(ctx, tx, r.EventID, id, now, KindReminder, KindReplay)
	})
	if err != nil {
		return nil, nil, err
	}
	return s.RegistrationByToken(ctx, token)
}

// JoinAction is what the personal link /j/{token} does now.
type JoinAction struct {
	Redirect string // where to send the person, when anywhere
	Reason   string // otherwise: "not_yet", "waitlisted", "cancelled", "ended", "no_link"
	OpensAt  *time.Time
}

// Join decides what the personal link does at this moment and records the
// first time a registrant follows it to the live event.
func (s *Service) Join(ctx context.Context, token string) (*Registration, *Event, JoinAction, error) {
	r, e, err := s.RegistrationByToken(ctx, token)
	if err != nil {
		return nil, nil, JoinAction{}, err
	}
	now := s.clock()
	a := joinAction(e, r, now)
	if a.Redirect != "" && r.JoinedAt == nil && (e.Kind == KindDownload || a.Redirect == e.JoinURL) {
		if err := s.store.tx(ctx, func(tx *sqlx.Tx) error { return setJoined(ctx, tx, r.ID, now) }); err != nil {
			return nil, nil, JoinAction{}, err
		}
		r.JoinedAt = &now
	}
	return r, e, a, nil
}

func joinAction(e *Event, r *Registration, now time.Time) JoinAction {
	switch {
	case r.Status == RegCancelled || e.State == StateCancelled:
		return JoinAction{Reason: "cancelled"}
	case r.Status == RegWaitlisted:
		return JoinAction{Reason: "waitlisted"}
	case e.Kind == KindDownload && e.DownloadURL != "":
		return JoinAction{Redirect: e.DownloadURL}
	case e.EndsAt != nil && !now.Before(*e.EndsAt):
		if e.ReplayURL != "" {
			return JoinAction{Redirect: e.ReplayURL}
		}
		return JoinAction{Reason: "ended"}
	case e.StartsAt != nil && now.Before(e.StartsAt.Add(-joinOpensBefore)):
		opens := e.StartsAt.Add(-joinOpensBefore)
		return JoinAction{Reason: "not_yet", OpensAt: &opens}
	case e.JoinURL != "":
		return JoinAction{Redirect: e.JoinURL}
	}
	return JoinAction{Reason: "no_link"}
}

// ---- organizer reads ----

// EventCounts returns the counts of an event's registrations.
func (s *Service) EventCounts(ctx context.Context, e *Event) (Counts, error) {
	return s.store.Counts(ctx, e.ID)
}

// Stats are an event's figures for organizers.
type Stats struct {
	Counts     Counts         `json:"counts"`
	SeatsLeft  *int           `json:"seats_left"`
	PerDay     []DayCount     `json:"signups_per_day"`
	Emails     map[string]int `json:"emails"`
	Timezone   string         `json:"timezone"`
	Generation time.Time      `json:"generated_at"`
}

// Stats gathers counts, sign-ups per day in the event's timezone, and email
// counts by status.
func (s *Service) Stats(ctx context.Context, e *Event) (*Stats, error) {
	c, err := s.store.Counts(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	times, err := s.store.SignupTimes(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	emails, err := s.store.EmailCounts(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	loc := e.Loc()
	per := []DayCount{}
	for _, t := range times {
		day := t.In(loc).Format("2006-01-02")
		if n := len(per); n > 0 && per[n-1].Day == day {
			per[n-1].Count++
			continue
		}
		per = append(per, DayCount{Day: day, Count: 1})
	}
	return &Stats{Counts: c, SeatsLeft: SeatsLeft(e), PerDay: per, Emails: emails, Timezone: e.Timezone, Generation: s.clock()}, nil
}

// SeatsLeft is capacity − confirmed, or nil when unlimited.
func SeatsLeft(e *Event) *int {
	if e.Capacity == nil {
		return nil
	}
	n := max(*e.Capacity-e.Confirmed, 0)
	return &n
}

// RetryFailed puts failed messages of an event (one, when messageID > 0) back
// in the queue and returns how many.
func (s *Service) RetryFailed(ctx context.Context, slug string, messageID int64) (int64, error) {
	e, err := s.Event(ctx, slug)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.store.tx(ctx, func(tx *sqlx.Tx) error {
		n, err = retryFailed(ctx, tx, e.ID, messageID, s.clock())
		return err
	})
	return n, err
}

// ErrNoCalendar is a calendar asked of an event with no start time.
var ErrNoCalendar = errors.New("the event has no start time")

// Calendar is the .ics of a registration: the event with the registration's
// UID and the event's sequence, cancelled when either is.
func (s *Service) Calendar(ctx context.Context, token string) ([]byte, *Event, error) {
	r, e, err := s.RegistrationByToken(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	if e.StartsAt == nil || s.opts.Calendar == nil {
		return nil, nil, ErrNoCalendar
	}
	kind := KindConfirmation
	if e.State == StateCancelled || r.Status == RegCancelled {
		kind = KindEventCancelled
	}
	m := s.MailMessage(e, r, &Message{Kind: kind, MessageID: s.CalendarUID(r), CreatedAt: e.UpdatedAt})
	b, err := s.opts.Calendar(m)
	return b, e, err
}
