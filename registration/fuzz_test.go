package registration

// Native fuzz targets for the domain: the status and label function, the
// sign-up field rules, and both kinds of token. Under plain `go test` they
// run their seed corpus (the f.Add calls and testdata/fuzz/FuzzXxx); run
// scripts/fuzz.sh to let them search.

import (
	"context"
	"errors"
	"math/big"
	"net/mail"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// fuzzSpan keeps fuzzed instants within ±300 years of 2026, where time
// arithmetic cannot saturate.
const fuzzSpan = 300 * 365 * 24 * 3600

func fuzzSeconds(n int64) int64 {
	if n < 0 {
		return -(-(n + 1) % fuzzSpan)
	}
	return n % fuzzSpan
}

var allStatuses = []string{StatusDraft, StatusCancelled, StatusLive, StatusReplay, StatusEnded,
	StatusUpcoming, StatusClosed, StatusWaitlist, StatusFull, StatusOpen}

// FuzzPresent: Present never panics, and what it says is consistent with
// the rules of SPEC §3 whatever the times, capacity and time zone.
func FuzzPresent(f *testing.F) {
	day := int64(24 * 3600)
	f.Add(int64(0), int64(-day), int64(day), int64(2*day), int64(3600), uint8(0b0111), 10, 8, uint8(0), uint8(1), "Asia/Shanghai")
	f.Add(int64(1000), int64(day), int64(2*day), int64(0), int64(0), uint8(0b0001), 0, 0, uint8(4), uint8(1), "UTC")
	f.Add(int64(-5), int64(-400*day), int64(400*day), int64(-200*day), int64(7200), uint8(0b1111), 100, 100, uint8(2), uint8(1), "America/New_York")
	f.Add(int64(7), int64(0), int64(0), int64(0), int64(0), uint8(0), -3, 5, uint8(5), uint8(0), "")
	f.Add(int64(9), int64(1), int64(1), int64(-1), int64(1), uint8(0b1110), 1, 1, uint8(3), uint8(2), "../../etc/passwd")
	f.Add(int64(1<<62), int64(-1<<62), int64(1<<62), int64(1<<61), int64(-1<<60), uint8(0xff), int(^uint(0)>>1), int(^uint(0)>>1)-1, uint8(250), uint8(250), "Local")
	// Huge capacities: 80 % of them must not overflow.
	f.Add(int64(0), int64(-day), int64(day), int64(0), int64(0), uint8(0b1001), int(^uint(0)>>2), 0, uint8(0), uint8(1), "Asia/Taipei")

	locales := []string{"en", "zh-Hans", "zh-Hant"}
	now0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, nowOff, opensOff, closesOff, startsOff, dur int64, flags uint8, capacity, confirmed int, kind, state uint8, tz string) {
		now := now0.Add(time.Duration(fuzzSeconds(nowOff)) * time.Second)
		at := func(off int64) *time.Time {
			v := now.Add(time.Duration(fuzzSeconds(off)) * time.Second)
			return &v
		}
		e := &Event{
			Kind:                EventKinds[int(kind)%len(EventKinds)],
			State:               []string{StateDraft, StatePublished, StateCancelled}[int(state)%3],
			Timezone:            tz,
			RegistrationOpensAt: *at(opensOff),
			Waitlist:            flags&0b10000 != 0,
			Confirmed:           max(confirmed, 0),
		}
		if flags&0b0001 != 0 {
			e.RegistrationClosesAt = at(closesOff)
		}
		if flags&0b0010 != 0 {
			e.StartsAt = at(startsOff)
			if flags&0b0100 != 0 {
				end := e.StartsAt.Add(time.Duration(fuzzSeconds(dur)) * time.Second)
				e.EndsAt = &end
			}
		}
		if flags&0b1000 != 0 {
			c := capacity
			if c < 0 {
				c = -(c + 1)
			}
			e.Capacity = &c
		}
		if flags&0b100000 != 0 {
			e.ReplayURL = "https://replay.example.com/x"
		}
		for _, loc := range locales {
			p := Present(e, now, loc)
			if !slices.Contains(allStatuses, p.Status) {
				t.Fatalf("status %q not a known status", p.Status)
			}
			if p.Status != Status(e, now) || p.RegistrationOpen != RegistrationOpen(e, now) {
				t.Fatalf("Present disagrees with Status/RegistrationOpen: %+v", p)
			}
			if p.CTA == "" || p.CTAKey == "" || p.WindowLabel == "" {
				t.Fatalf("%s: empty presentation %+v for %+v", loc, p, e)
			}
			if !utf8.ValidString(p.CTA) || !utf8.ValidString(p.WindowLabel) || strings.ContainsAny(p.WindowLabel, "\r\n") {
				t.Fatalf("%s: bad text %+v", loc, p)
			}
			// The status and registration_open say the same thing.
			switch {
			case p.RegistrationOpen && !slices.Contains([]string{StatusOpen, StatusWaitlist, StatusLive}, p.Status):
				t.Fatalf("registration open but status %q: %+v", p.Status, e)
			case (p.Status == StatusOpen || p.Status == StatusWaitlist) && !p.RegistrationOpen:
				t.Fatalf("status %q but registration not open: %+v", p.Status, e)
			}
			// "Filling fast" only once 80 % of the seats are taken.
			if p.CTAKey == "filling_fast" {
				c, n := big.NewInt(int64(*e.Capacity)), big.NewInt(int64(e.Confirmed))
				if n.Mul(n, big.NewInt(5)).Cmp(c.Mul(c, big.NewInt(4))) < 0 {
					t.Fatalf("filling fast with %d of %d seats taken", e.Confirmed, *e.Capacity)
				}
			}
			if p.Status == StatusOpen && e.Capacity != nil && *e.Capacity > 0 && e.Kind != KindDownload && e.Kind != KindOffer {
				c, n := big.NewInt(int64(*e.Capacity)), big.NewInt(int64(e.Confirmed))
				if n.Mul(n, big.NewInt(5)).Cmp(c.Mul(c, big.NewInt(4))) >= 0 && p.CTAKey != "filling_fast" {
					t.Fatalf("%d of %d seats taken but cta %q", e.Confirmed, *e.Capacity, p.CTAKey)
				}
			}
		}
	})
}

var (
	fuzzPhoneRE = regexp.MustCompile(`^[0-9 +()\-]*$`)
	fuzzFields  = []string{"name", "email", "company", "job_title", "phone", "question", "locale"}
)

// oneLineOK reports text of n..max characters, valid UTF-8, without control
// characters or line separators and without surrounding space.
func oneLineOK(s string, min, max int) bool {
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) || n < min || n > max || s != strings.TrimSpace(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' })
}

// signupRulesBroken lists the SPEC §4 rules a normalized input breaks.
func signupRulesBroken(in SignupInput) []string {
	var bad []string
	if !oneLineOK(in.Name, 1, 100) {
		bad = append(bad, "name")
	}
	a, err := mail.ParseAddress(in.Email)
	if !oneLineOK(in.Email, 3, 254) || err != nil || a.Name != "" || a.Address != in.Email || strings.ContainsAny(in.Email, " ,;<>\"'") {
		bad = append(bad, "email")
	}
	if !oneLineOK(in.Company, 0, 200) {
		bad = append(bad, "company")
	}
	if !oneLineOK(in.JobTitle, 0, 100) {
		bad = append(bad, "job_title")
	}
	if !oneLineOK(in.Phone, 0, 32) || !fuzzPhoneRE.MatchString(in.Phone) {
		bad = append(bad, "phone")
	}
	if q := in.Question; q != "" {
		n := utf8.RuneCountInString(q)
		if !utf8.ValidString(q) || n < 6 || n > 500 || strings.ContainsFunc(q, func(r rune) bool {
			return r != '\n' && r != '\r' && r != '\t' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029')
		}) {
			bad = append(bad, "question")
		}
	}
	if in.Locale != "" && !slices.Contains(Locales, in.Locale) {
		bad = append(bad, "locale")
	}
	return bad
}

// FuzzSignupInput: an input normalize accepts obeys every field rule; one
// it refuses is refused with field errors that name real fields.
func FuzzSignupInput(f *testing.F) {
	f.Add("王小明", "Ming@Example.com", "村田", "工程師", "+86 (21) 5555-0100", "請問會有錄影嗎？", "zh-Hant", true)
	f.Add("  Ann Lee  ", " ann@example.org ", "", "", "", "", "", false)
	f.Add("Eve\r\nBcc: evil@example.com", "eve@example.com", "", "", "", "", "en", false)
	f.Add("Eve", "eve@example.com\r\nBcc: evil@example.com", "", "", "", "", "en", false)
	f.Add("Eve", "Eve <eve@example.com>", "", "", "", "", "en", false)
	f.Add("Eve", "a@b.c, d@e.f", "", "", "", "", "en", false)
	f.Add("=HYPERLINK(\"http://x\")", "x@example.com", "@SUM(1)", "-1+1", "+1 555", "line one\nline two", "zh-Hans", true)
	f.Add("<script>alert(1)</script>", "x@example.com", "\"><img src=x onerror=alert(1)>", "", "", "short", "fr", false)
	f.Add(strings.Repeat("名", 100), strings.Repeat("a", 64)+"@"+strings.Repeat("b", 180)+".com", strings.Repeat("公", 201), "", "12345678901234567890123456789012", strings.Repeat("問", 500), "en", false)
	f.Add("\u2028", "x@example", "\x00", "\t", "abc", "\x01\x02\x03\x04\x05\x06", "", false)
	f.Add("a\xffb", "x@exa\xffmple.com", "", "", "", "", "", false)
	f.Fuzz(func(t *testing.T, name, email, company, jobTitle, phone, question, locale string, consent bool) {
		in := SignupInput{Name: name, Email: email, Company: company, JobTitle: jobTitle, Phone: phone,
			Question: question, Locale: locale, Consent: consent}
		err := in.normalize()
		if err == nil {
			if bad := signupRulesBroken(in); len(bad) > 0 {
				t.Fatalf("accepted %+v, which breaks the rules of %v", in, bad)
			}
			return
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) == 0 {
			t.Fatalf("error %v is not a validation error with fields", err)
		}
		for _, fe := range ve.Fields {
			if !slices.Contains(fuzzFields, fe.Field) || fe.Code == "" || fe.Message == "" {
				t.Fatalf("field error %+v", fe)
			}
		}
	})
}

// tokenFuzzService is a service over a fresh SQLite file with an admin
// token, an organizer token and three registrations.
func tokenFuzzService(f *testing.F) (svc *Service, organizer string, regs []*Registration) {
	ctx := context.Background()
	store, err := Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	clock := newTestClock(t0)
	svc, err = NewService(ctx, store, Options{Now: clock.Now, BaseURL: "http://example.test",
		MailFrom: "eventreg <no-reply@example.test>", AdminToken: "fuzz-admin-token"})
	if err != nil {
		f.Fatal(err)
	}
	if organizer, err = svc.CreateToken(ctx, "ops"); err != nil {
		f.Fatal(err)
	}
	mustEvent(f, svc, map[string]any{"slug": "tok", "capacity": 1})
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		res, err := signup(svc, "tok", email)
		if err != nil {
			f.Fatal(err)
		}
		r, err := store.RegistrationByID(ctx, res.ID)
		if err != nil {
			f.Fatal(err)
		}
		regs = append(regs, r)
	}
	if _, _, err := svc.CancelByToken(ctx, svc.ManageToken(regs[2].ID)); err != nil {
		f.Fatal(err)
	}
	return svc, organizer, regs
}

// FuzzManageToken: a string is the manage token of a registration or it
// finds nothing; it never finds another registration, never errs otherwise.
func FuzzManageToken(f *testing.F) {
	svc, _, regs := tokenFuzzService(f)
	for _, r := range regs {
		tok := svc.ManageToken(r.ID)
		f.Add(tok)
		f.Add(tok[:31] + string(tok[31]^1))                         // one bit off in the MAC
		f.Add(strings.ToUpper(tok))                                 // another case
		f.Add(tok + "=")                                            // padding
		f.Add(tok[:31])                                             // cut short
		f.Add(strings.NewReplacer("-", "+", "_", "/").Replace(tok)) // standard alphabet
	}
	f.Add(svc.ManageToken(0))
	f.Add(svc.ManageToken(-1))
	f.Add(svc.ManageToken(1 << 40)) // authentic, but no such registration
	f.Add("")
	f.Add("\x00")
	f.Add("../../../../etc/passwd")
	f.Add(strings.Repeat("A", 32))
	f.Add(strings.Repeat("é", 16))
	f.Add(strings.Repeat("x", 10000))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, token string) {
		r, e, err := svc.RegistrationByToken(ctx, token)
		if err != nil {
			if !errors.Is(err, ErrNotFound) || r != nil || e != nil {
				t.Fatalf("token %q: %v (%v, %v), want ErrNotFound alone", token, err, r, e)
			}
			return
		}
		if r == nil || e == nil || e.ID != r.EventID {
			t.Fatalf("token %q: registration %v, event %v", token, r, e)
		}
		if want := svc.ManageToken(r.ID); token != want {
			t.Fatalf("token %q found registration %d, whose token is %q", token, r.ID, want)
		}
	})
}

// FuzzOrganizerToken: Authenticate accepts the stored token and the admin
// token, and answers ErrUnauthorized to anything else.
func FuzzOrganizerToken(f *testing.F) {
	svc, organizer, _ := tokenFuzzService(f)
	const admin = "fuzz-admin-token"
	for _, tok := range []string{organizer, admin} {
		f.Add(tok)
		f.Add(tok + " ")
		f.Add(" " + tok)
		f.Add(tok[:len(tok)-1])
		f.Add(strings.ToUpper(tok))
		f.Add(tok + "\x00")
	}
	f.Add("")
	f.Add("evr_")
	f.Add(hashToken(organizer)) // the stored hash is not a token
	f.Add(strings.Repeat("a", 201))
	f.Add("' OR '1'='1")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, token string) {
		name, err := svc.Authenticate(ctx, token)
		switch token {
		case organizer:
			if err != nil || name != "ops" {
				t.Fatalf("organizer token: %q, %v", name, err)
			}
		case admin:
			if err != nil || name != "admin" {
				t.Fatalf("admin token: %q, %v", name, err)
			}
		default:
			if !errors.Is(err, ErrUnauthorized) || name != "" {
				t.Fatalf("token %q: %q, %v; want ErrUnauthorized", token, name, err)
			}
		}
	})
}
