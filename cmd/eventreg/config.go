package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"eventreg/api"
)

// Config is every setting of eventreg, read once from flags and environment.
type Config struct {
	Addr           string
	DB             string
	BaseURL        string
	SMTPURL        string
	MailDir        string
	MailFrom       string
	Locale         string
	Timezone       string
	WorkerInterval time.Duration
	MailLease      time.Duration
	AdminToken     string
	SignupRate     api.RateLimit
	TrustedProxies []string
	Demo           bool
	Worker         bool
	LogFormat      string
}

// setting is one flag and its environment variable.
type setting struct {
	flag, env, def, usage string
}

var settings = []setting{
	{"addr", "EVENTREG_ADDR", "127.0.0.1:8080", "listen address"},
	{"db", "EVENTREG_DB", "data/eventreg.db", "SQLite file, or a postgres:// URL"},
	{"base-url", "EVENTREG_BASE_URL", "", "public URL for links in emails (default http://ADDR)"},
	{"smtp", "EVENTREG_SMTP_URL", "", "smtp://user:pass@host:port?tls=none|starttls|tls (empty: write .eml files)"},
	{"mail-dir", "EVENTREG_MAIL_DIR", "data/mail", "directory of the file transport"},
	{"mail-from", "EVENTREG_MAIL_FROM", "eventreg <no-reply@localhost>", "From of every email"},
	{"locale", "EVENTREG_LOCALE", "en", "default locale: en, zh-Hans, zh-Hant"},
	{"timezone", "EVENTREG_TIMEZONE", "UTC", "default timezone of new events"},
	{"worker-interval", "EVENTREG_WORKER_INTERVAL", "5s", "how often due mail is looked for"},
	{"mail-lease", "EVENTREG_MAIL_LEASE", "2m", "how long a worker holds the mail it is sending before another may take it"},
	{"admin-token", "EVENTREG_ADMIN_TOKEN", "", "also accepted as an organizer token"},
	{"signup-rate", "EVENTREG_SIGNUP_RATE", "20/m", "sign-ups per client IP (off disables)"},
	{"trusted-proxies", "EVENTREG_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is believed"},
	{"demo", "EVENTREG_DEMO", "false", "load the demo events into an empty database"},
	{"worker", "EVENTREG_WORKER", "true", "run the mail worker inside serve"},
	{"log-format", "EVENTREG_LOG_FORMAT", "", "text or json (default: json unless on a terminal)"},
}

// parseConfig reads flags over environment over defaults. Flags given on
// the command line win; an empty environment variable means its default.
func parseConfig(name string, args []string, getenv func(string) string) (*Config, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	for _, s := range settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		if s.flag == "demo" || s.flag == "worker" {
			b, err := strconv.ParseBool(def)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %q is not true or false", s.env, def)
			}
			fs.Bool(s.flag, b, s.usage+" ($"+s.env+")")
			continue
		}
		fs.String(s.flag, def, s.usage+" ($"+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, usageError(fs)
		}
		return nil, nil, fmt.Errorf("%w\n%s", err, usageError(fs))
	}
	cfg, err := buildConfig(fs)
	return cfg, fs.Args(), err
}

func usageError(fs *flag.FlagSet) error {
	var b strings.Builder
	b.WriteString("flags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(&b, "  --%s\t%s (default %q)\n", f.Name, f.Usage, f.DefValue)
	})
	return errors.New(b.String())
}

func buildConfig(fs *flag.FlagSet) (*Config, error) {
	get := func(name string) string { return fs.Lookup(name).Value.String() }
	c := &Config{
		Addr: get("addr"), DB: get("db"), BaseURL: get("base-url"), SMTPURL: get("smtp"),
		MailDir: get("mail-dir"), MailFrom: get("mail-from"), Locale: get("locale"), Timezone: get("timezone"),
		AdminToken: get("admin-token"), LogFormat: get("log-format"),
	}
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: %w", c.Addr, err))
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Addr
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("base-url %q: want an absolute http(s) URL", c.BaseURL))
	}
	switch c.Locale {
	case "en", "zh-Hans", "zh-Hant":
	default:
		errs = append(errs, fmt.Errorf("locale %q: want en, zh-Hans or zh-Hant", c.Locale))
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "" {
		errs = append(errs, fmt.Errorf("timezone %q: want an IANA name such as Asia/Shanghai", c.Timezone))
	}
	d, err := time.ParseDuration(get("worker-interval"))
	if err != nil || d < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("worker-interval %q: want a duration of at least 100ms", get("worker-interval")))
	}
	c.WorkerInterval = d
	lease, err := time.ParseDuration(get("mail-lease"))
	if err != nil || lease < time.Second {
		errs = append(errs, fmt.Errorf("mail-lease %q: want a duration of at least 1s", get("mail-lease")))
	}
	c.MailLease = lease
	if c.SignupRate, err = api.ParseRate(get("signup-rate")); err != nil {
		errs = append(errs, err)
	}
	for _, p := range strings.Split(get("trusted-proxies"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				p += "/32"
			} else if ip != nil {
				p += "/128"
			}
		}
		if _, _, err := net.ParseCIDR(p); err != nil {
			errs = append(errs, fmt.Errorf("trusted-proxies: %q is not a CIDR", p))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	c.Demo, _ = strconv.ParseBool(get("demo"))
	c.Worker, _ = strconv.ParseBool(get("worker"))
	switch c.LogFormat {
	case "", "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log-format %q: want text or json", c.LogFormat))
	}
	return c, errors.Join(errs...)
}
