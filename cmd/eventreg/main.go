// Command eventreg is a registration server for webinars and events.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"

	"eventreg/api"
	"eventreg/mail"
	"eventreg/registration"
	"eventreg/templates"
)

const usage = `usage: eventreg COMMAND [flags]

commands:
  serve                  HTTP server and mail worker (--worker=false for the API only)
  worker                 mail worker only
  migrate                apply database migrations
  token create --name N  make an organizer token (printed alone on stdout)
  token list             list organizer tokens
  token revoke NAME      delete an organizer token
  backup FILE            consistent online copy of the SQLite database
  bench [flags]          load test against 127.0.0.1 (eventreg bench -h)

Every flag has an environment variable; run "eventreg serve -h" to list them.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "eventreg:", err)
		os.Exit(1)
	}
}

// run is the whole program, with its surroundings passed in so tests can run it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stderr, true)
	case "worker":
		return serve(ctx, rest, getenv, stderr, false)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "token":
		return token(ctx, rest, getenv, stdout, stderr)
	case "backup":
		return backup(ctx, rest, getenv, stdout, stderr)
	case "bench":
		return bench(ctx, rest, getenv, stdout, stderr)
	case "bench-baseline":
		return benchBaseline(ctx, rest, getenv, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// tuneGC sets the garbage collector for a server whose live heap is a few
// MiB: at Go's default a rush of sign-ups runs a collection every 30 ms or so.
// A collection when the heap has grown to three times what is live (GOGC=200)
// runs half as often; a soft limit of 40 MiB on the runtime's memory brings
// the default back before memory grows large. GOGC and GOMEMLIMIT in the
// environment win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(40 << 20)
	}
}

// newLogger logs to w, as text when stderr is a terminal, else as JSON,
// unless the configuration says which.
func newLogger(cfg *Config, stderr, w io.Writer) *slog.Logger {
	format := cfg.LogFormat
	if format == "" {
		format = "json"
		if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

// open connects, migrates and builds the service.
func open(ctx context.Context, cfg *Config, now func() time.Time) (*registration.Store, *registration.Service, error) {
	store, err := registration.Open(ctx, cfg.DB)
	if err != nil {
		return nil, nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, nil, err
	}
	svc, err := registration.NewService(ctx, store, registration.Options{
		Now: now, BaseURL: cfg.BaseURL, DefaultTimezone: cfg.Timezone, DefaultLocale: cfg.Locale,
		MailFrom: cfg.MailFrom, AdminToken: cfg.AdminToken, Calendar: mail.Calendar,
	})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, svc, nil
}

func newMailer(cfg *Config) (registration.Mailer, string, error) {
	if cfg.SMTPURL == "" {
		return mail.NewFileSender(cfg.MailDir), "file " + cfg.MailDir, nil
	}
	sc, err := mail.ParseSMTPURL(cfg.SMTPURL)
	if err != nil {
		return nil, "", err
	}
	return mail.NewSMTPSender(sc), "smtp " + sc.String(), nil
}

// serve runs the HTTP server (when http is true) and the mail worker until
// ctx ends, then shuts down: in-flight requests finish, the worker finishes
// its batch and hands back its leases.
func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, http bool) error {
	name := "serve"
	if !http {
		name = "worker"
	}
	cfg, _, err := parseConfig(name, args, getenv)
	if err != nil {
		return err
	}
	tuneGC()
	out := newLogWriter(stderr)
	defer out.Close()
	log := newLogger(cfg, stderr, out)
	if err := templates.Check(); err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	start := time.Now()
	if path := getenv("EVENTREG_CPUPROFILE"); path != "" {
		// For profiling under load (eventreg bench); not a setting for production.
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	store, svc, err := open(ctx, cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	if cfg.Demo && http {
		if err := loadDemo(ctx, svc, log); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}

	metrics := api.NewMetrics(store)
	var wg sync.WaitGroup
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorker()
	if cfg.Worker || !http {
		mailer, desc, err := newMailer(cfg)
		if err != nil {
			return err
		}
		w := svc.NewWorker(mailer, cfg.WorkerInterval, log.With("component", "worker"))
		w.Observe = metrics.ObserveDelivery
		w.Lease = cfg.MailLease
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = w.Run(workerCtx)
		}()
		log.Info("mail worker started", "transport", desc, "interval", cfg.WorkerInterval.String())
	}
	if !http {
		<-ctx.Done()
		log.Info("shutting down")
		stopWorker()
		wg.Wait()
		return nil
	}
	return serveHTTP(ctx, cfg, svc, metrics, log, start, func() { stopWorker(); wg.Wait() })
}

// readHeaderTimeout cuts off a client that sends its headers too slowly
// (slowloris); a variable so that a test need not wait ten seconds.
var readHeaderTimeout = 10 * time.Second

func serveHTTP(ctx context.Context, cfg *Config, svc *registration.Service, metrics *api.Metrics, log *slog.Logger, start time.Time, stopWorker func()) error {
	h, err := api.New(svc, api.Config{SignupRate: cfg.SignupRate, TrustedProxies: cfg.TrustedProxies, Logger: log, Metrics: metrics,
		PublicCache: time.Second})
	if err != nil {
		stopWorker()
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		stopWorker()
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      5 * time.Minute, // a large CSV export streams for a while
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "url", cfg.BaseURL, "db", dbKind(cfg.DB),
		"ready_ms", time.Since(start).Milliseconds())
	select {
	case err := <-errc:
		stopWorker()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	stopWorker()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func dbKind(dsn string) string {
	if registration.IsPostgres(dsn) {
		return "postgres"
	}
	return dsn
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, err := parseConfig("migrate", args, getenv)
	if err != nil {
		return err
	}
	store, err := registration.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

func token(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: eventreg token create --name NAME | token list | token revoke NAME")
	}
	sub := args[0]
	var name string
	rest := args[1:]
	if sub == "create" {
		// --name belongs to this command; the rest are the usual settings.
		var other []string
		for i := 0; i < len(rest); i++ {
			a := rest[i]
			switch {
			case a == "--name" || a == "-name":
				if i+1 < len(rest) {
					name = rest[i+1]
					i++
				}
			case len(a) > 7 && (a[:7] == "--name=" || a[:6] == "-name="):
				name = a[len("--name="):]
				if a[1] != '-' {
					name = a[len("-name="):]
				}
			default:
				other = append(other, a)
			}
		}
		rest = other
		if name == "" {
			return errors.New("usage: eventreg token create --name NAME")
		}
	}
	cfg, pos, err := parseConfig("token", rest, getenv)
	if err != nil {
		return err
	}
	store, svc, err := open(ctx, cfg, time.Now)
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "create":
		t, err := svc.CreateToken(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, t)
		return nil
	case "list":
		ts, err := store.Tokens(ctx)
		if err != nil {
			return err
		}
		for _, t := range ts {
			last := "never"
			if t.LastUsedAt != nil {
				last = t.LastUsedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%s\tcreated %s\tlast used %s\n", t.Name, t.CreatedAt.Format(time.RFC3339), last)
		}
		return nil
	case "revoke":
		if len(pos) != 1 {
			return errors.New("usage: eventreg token revoke NAME")
		}
		if err := store.RevokeToken(ctx, pos[0]); err != nil {
			if errors.Is(err, registration.ErrNotFound) {
				return fmt.Errorf("no token called %q", pos[0])
			}
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", pos[0])
		return nil
	}
	return fmt.Errorf("unknown token command %q", sub)
}

func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, pos, err := parseConfig("backup", args, getenv)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: eventreg backup FILE")
	}
	store, err := registration.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Backup(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s\n", pos[0])
	return nil
}
