package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// benchOptions are the flags of eventreg bench.
type benchOptions struct {
	url         string
	mode        string
	conns       int
	duration    time.Duration
	events      int
	baseline    bool
	rounds      int
	emails      string
	rows        int
	reminders   int
	keep        bool
	adminToken  string
	serverFlags []string
}

const benchUsage = `usage: eventreg bench [flags]

Drives load at an eventreg server on 127.0.0.1 — one it starts itself (a child
process on a fresh SQLite database in a temporary directory), or the one at
--url — and prints rates, latency percentiles and answers by status code.

modes:
  spread     sign-ups spread over --events events (default)
  hot        every sign-up on one event
  soldout    sign-ups to a sold-out event without waitlist (all refused)
  list       GET /api/v1/events
  page       GET / (the public events page)
  csv        store --rows registrations, then time the CSV export three
             times (each, and the median) and the server's resident memory;
             also idle memory and start-to-ready
  reminders  --reminders sign-ups whose reminder becomes due at once; time
             until a local SMTP server has received them all

--baseline runs the same load against a bare server started the same way (gin
+ one SQLite transaction per sign-up, synchronous=NORMAL; or a bare gin JSON
handler for list and page) and prints the ratio. With --rounds N the two take
turns N times and the median ratio is printed: on a shared machine the speed
drifts from minute to minute, and turns expose both servers to the same drift.
Each round signs up to new events, so every round is the same rush.

--emails random (the default) gives each sign-up an address unrelated to the
last, as people's addresses are: every sign-up lands on its own page of the
index that keeps one registration per email. --emails sequential numbers them
in order, so that each event's new addresses sort after its old ones.
`

func parseBench(args []string, stderr io.Writer) (*benchOptions, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage, "\nflags:\n"); fs.PrintDefaults() }
	o := &benchOptions{}
	fs.StringVar(&o.url, "url", "", "target this server instead of starting one (its sign-up rate limit must be off)")
	fs.StringVar(&o.mode, "mode", "spread", "spread, hot, soldout, list, page, csv or reminders")
	fs.IntVar(&o.conns, "c", 64, "keep-alive connections")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "duration of the load")
	fs.IntVar(&o.events, "events", 50, "events for the spread mode")
	fs.BoolVar(&o.baseline, "baseline", false, "also measure the bare baseline and print the ratio")
	fs.IntVar(&o.rounds, "rounds", 1, "with -baseline: measure eventreg and the baseline in turn this many times")
	fs.StringVar(&o.emails, "emails", "random", "random or sequential sign-up addresses")
	fs.IntVar(&o.rows, "rows", 100_000, "registrations for the csv mode")
	fs.IntVar(&o.reminders, "reminders", 10_000, "reminders for the reminders mode")
	fs.StringVar(&o.adminToken, "admin-token", "bench-admin-token", "organizer token of the target server")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory of a started server")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.conns < 1 || o.duration <= 0 || o.duration > 10*time.Minute || o.events < 1 || o.rounds < 1 || o.rounds > 20 {
		return nil, errors.New("bench: -c ≥ 1, 0 < -d ≤ 10m, -events ≥ 1, 1 ≤ -rounds ≤ 20")
	}
	if o.emails != "random" && o.emails != "sequential" {
		return nil, errors.New("bench: -emails is random or sequential")
	}
	if o.rounds > 1 && !o.baseline {
		return nil, errors.New("bench: -rounds takes turns with the baseline: add -baseline")
	}
	if o.url != "" {
		u := strings.TrimRight(o.url, "/")
		if !strings.HasPrefix(u, "http://127.0.0.1") && !strings.HasPrefix(u, "http://localhost") {
			return nil, errors.New("bench: --url must be a loopback address (http://127.0.0.1:PORT)")
		}
		o.url = u
	}
	return o, nil
}

func bench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseBench(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(o.rounds)*o.duration*4+5*time.Minute)
	defer cancel()
	fmt.Fprintf(stdout, "eventreg bench: mode=%s connections=%d duration=%s\n", o.mode, o.conns, o.duration)
	switch o.mode {
	case "spread", "hot", "soldout", "list", "page":
		return benchLoad(ctx, o, stdout, stderr)
	case "csv":
		return benchCSV(ctx, o, stdout, stderr)
	case "reminders":
		return benchReminders(ctx, o, stdout, stderr)
	}
	return fmt.Errorf("bench: unknown mode %q", o.mode)
}

// child is a server process started for the bench.
type child struct {
	cmd  *exec.Cmd
	url  string
	dir  string
	keep bool
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startChild runs this binary with args on a fresh port; dir holds its data.
func startChild(ctx context.Context, dir string, env []string, args ...string) (*child, time.Duration, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, 0, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), append(env, "EVENTREG_ADDR="+addr, "EVENTREG_LOG_FORMAT=json")...)
	logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.log", args[0], time.Now().UnixNano())))
	if err != nil {
		return nil, 0, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	c := &child{cmd: cmd, url: "http://" + addr, dir: dir}
	client := &http.Client{Timeout: time.Second}
	for time.Since(start) < 30*time.Second {
		res, err := client.Get(c.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return c, time.Since(start), nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	c.stop()
	return nil, 0, fmt.Errorf("%s did not become ready; see %s", args[0], logf.Name())
}

func (c *child) stop() {
	if c == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// rss reads the resident and peak resident memory of a process, in bytes.
func rss(pid int) (cur, peak int64) {
	m := procStatus(pid)
	return m["VmRSS:"], m["VmHWM:"]
}

// procStatus reads the memory figures of /proc/PID/status, in bytes by field.
func procStatus(pid int) map[string]int64 {
	m := map[string]int64{}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if len(f) == 3 && f[2] == "kB" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			m[f[0]] = n << 10
		}
	}
	return m
}

func benchDir(o *benchOptions) (string, func(), error) {
	dir, err := os.MkdirTemp("", "eventreg-bench-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() {
		if o.keep {
			return
		}
		os.RemoveAll(dir)
	}, nil
}

func serverEnv(dir string, o *benchOptions, extra ...string) []string {
	return append([]string{
		"EVENTREG_DB=" + filepath.Join(dir, "eventreg.db"), "EVENTREG_MAIL_DIR=" + filepath.Join(dir, "mail"),
		"EVENTREG_SIGNUP_RATE=off", "EVENTREG_ADMIN_TOKEN=" + o.adminToken, "EVENTREG_WORKER=false",
	}, extra...)
}

// result is what one load run measured.
type result struct {
	name    string
	n       int
	elapsed time.Duration
	lat     []time.Duration
	codes   map[int]int
	errors  int
	// What the measured run cost, per answer: the server's CPU and bytes
	// written to disk (0 when the server is not our child), and the load
	// generator's own CPU.
	serverCPU, genCPU time.Duration
	written           float64
}

// procUsage is a process's CPU time so far and bytes it caused to be written to disk.
type procUsage struct {
	cpu     time.Duration
	written int64
}

// usageOf reads the usage of process pid from /proc (Linux); a zero usage elsewhere.
func usageOf(pid int) procUsage {
	var u procUsage
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the parenthesised command: utime and stime are the
		// 12th and 13th, in clock ticks of 1/100 s.
		if i := bytes.LastIndexByte(b, ')'); i > 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 12 {
				ut, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				u.cpu = time.Duration(ut+st) * 10 * time.Millisecond
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
				u.written, _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	return u
}

func (r *result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r *result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(float64(len(r.lat)-1) * p)
	return r.lat[i]
}

func (r *result) print(w io.Writer) {
	codes := make([]int, 0, len(r.codes))
	for c := range r.codes {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var cs []string
	for _, c := range codes {
		cs = append(cs, fmt.Sprintf("%d×%d", c, r.codes[c]))
	}
	fmt.Fprintf(w, "%-10s %9.0f req/s  p50 %6.2fms  p95 %6.2fms  p99 %6.2fms  n=%d  codes: %s  errors: %d\n",
		r.name, r.rate(), ms(r.pct(0.50)), ms(r.pct(0.95)), ms(r.pct(0.99)), r.n, strings.Join(cs, " "), r.errors)
	if r.n > 0 && r.serverCPU > 0 {
		fmt.Fprintf(w, "%-10s per answer: server CPU %.0fµs, disk written %.1f KiB; load generator CPU %.0fµs\n",
			"", us(r.serverCPU)/float64(r.n), r.written/float64(r.n)/1024, us(r.genCPU)/float64(r.n))
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// request appends the i-th request of worker w to buf, as the bytes of an
// HTTP/1.1 request: no http.Request to build and serialise for each.
type request func(w, i int, buf []byte) ([]byte, error)

// drive runs conns keep-alive connections for d and measures every answer.
// Each connection speaks plain HTTP/1.1 over its own socket, writing the
// request and reading the answer with no client library in between, so that
// the load generator, which shares the machine with the server, costs little.
func drive(ctx context.Context, name, base string, conns int, d time.Duration, next request) *result {
	host := strings.TrimPrefix(base, "http://")
	var wg sync.WaitGroup
	lats := make([][]time.Duration, conns)
	codes := make([]map[int]int, conns)
	var errs atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := range conns {
		codes[w] = map[int]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *rawConn
			defer func() { c.close() }()
			var buf []byte
			for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				var err error
				if buf, err = next(w, i, buf[:0]); err != nil {
					errs.Add(1)
					return
				}
				if c == nil {
					if c, err = dialRaw(host); err != nil {
						errs.Add(1)
						time.Sleep(10 * time.Millisecond)
						continue
					}
				}
				t := time.Now()
				code, err := c.roundTrip(buf)
				if err != nil {
					errs.Add(1)
					c.close()
					c = nil
					continue
				}
				lats[w] = append(lats[w], time.Since(t))
				codes[w][code]++
			}
		}()
	}
	wg.Wait()
	r := &result{name: name, elapsed: time.Since(start), codes: map[int]int{}, errors: int(errs.Load())}
	for w := range conns {
		r.lat = append(r.lat, lats[w]...)
		for c, n := range codes[w] {
			r.codes[c] += n
		}
	}
	r.n = len(r.lat)
	slices.Sort(r.lat)
	return r
}

// rawConn is one keep-alive HTTP/1.1 connection of the load generator.
type rawConn struct {
	conn net.Conn
	rd   *bufio.Reader
}

func dialRaw(host string) (*rawConn, error) {
	conn, err := net.Dial("tcp", host)
	if err != nil {
		return nil, err
	}
	return &rawConn{conn: conn, rd: bufio.NewReaderSize(conn, 32<<10)}, nil
}

func (c *rawConn) close() {
	if c != nil {
		c.conn.Close()
	}
}

// roundTrip writes one request and reads its answer (Content-Length or
// chunked), returning the status code.
func (c *rawConn) roundTrip(req []byte) (int, error) {
	_ = c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(req); err != nil {
		return 0, err
	}
	line, err := c.rd.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, err
	}
	length, chunked := -1, false
	for {
		h, err := c.rd.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			break
		}
		k, v, _ := bytes.Cut(bytes.TrimSpace(h), []byte(":"))
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		case bytes.EqualFold(k, []byte("Transfer-Encoding")) && bytes.Contains(bytes.ToLower(v), []byte("chunked")):
			chunked = true
		}
	}
	switch {
	case chunked:
		_, err = io.Copy(io.Discard, httputil.NewChunkedReader(c.rd))
		if err == nil {
			_, err = c.rd.Discard(2)
		}
	case length >= 0:
		_, err = c.rd.Discard(length)
	default:
		return 0, errors.New("answer without length")
	}
	return code, err
}

func adminDo(base, token, method, path, body string) error {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return nil
}

// setupEvents creates the bench's events on a server and returns their slugs.
func setupEvents(base, token, mode string, n int, tag string) ([]string, error) {
	switch mode {
	case "hot":
		n = 1
	case "soldout":
		slug := "bench-soldout-" + tag
		return []string{slug}, adminDo(base, token, "POST", "/api/v1/admin/events",
			`{"slug":"`+slug+`","kind":"webinar","title":"Sold out","capacity":0,"waitlist":false,"state":"published"}`)
	case "list", "page":
		n = 6
	}
	start := time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	slugs := make([]string, n)
	for i := range n {
		slugs[i] = fmt.Sprintf("bench-%s-%d", tag, i)
		body := fmt.Sprintf(`{"slug":%q,"kind":"webinar","title":"Allegro助力汽車電氣化和底盤解決方案優化在線研討會 %d","capacity":10000000,"starts_at":%q,"timezone":"Asia/Shanghai","state":"published"}`, slugs[i], i, start)
		if err := adminDo(base, token, "POST", "/api/v1/admin/events", body); err != nil {
			return nil, err
		}
	}
	return slugs, nil
}

// signupSeq makes every bench email unique, across warm-up and runs.
var signupSeq atomic.Int64

// signupRequests makes sign-ups to slugs in turn. Their addresses follow
// signupSeq: its numbers in order with emails "sequential", or else each one
// multiplied by an odd constant, which maps distinct numbers to distinct
// values in no useful order (random-looking, and never a repeat).
func signupRequests(base string, slugs []string, run, emails string) request {
	host := strings.TrimPrefix(base, "http://")
	heads := make([]string, len(slugs))
	for i, slug := range slugs {
		heads[i] = "POST /api/v1/events/" + slug + "/registrations HTTP/1.1\r\nHost: " + host +
			"\r\nContent-Type: application/json\r\nContent-Length: "
	}
	return func(w, i int, buf []byte) ([]byte, error) {
		n := signupSeq.Add(1)
		body := make([]byte, 0, 128)
		body = append(body, `{"name":"測試者 `...)
		body = strconv.AppendInt(body, int64(w), 10)
		body = append(body, '-')
		body = strconv.AppendInt(body, int64(i), 10)
		body = append(body, `","email":"u`...)
		body = append(body, run...)
		body = append(body, '-')
		if emails == "sequential" {
			body = strconv.AppendInt(body, n, 10)
		} else {
			body = strconv.AppendUint(body, uint64(n)*0x9E3779B97F4A7C15, 36)
		}
		body = append(body, `@example.com","company":"Example Ltd","consent":true}`...)
		buf = append(buf, heads[(w+i*7)%len(heads)]...)
		buf = strconv.AppendInt(buf, int64(len(body)), 10)
		buf = append(buf, "\r\n\r\n"...)
		return append(buf, body...), nil
	}
}

func getRequests(base, path string) request {
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + strings.TrimPrefix(base, "http://") + "\r\n\r\n")
	return func(_, _ int, buf []byte) ([]byte, error) { return append(buf, req...), nil }
}

// prepare creates the mode's events on the server at base (none on the bare
// baseline) and returns the requests to drive at it, the same in every round.
func prepare(o *benchOptions, base, token string, bare bool) (request, error) {
	tag := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	switch o.mode {
	case "list", "page":
		path := "/api/v1/events"
		if o.mode == "page" {
			path = "/"
		}
		if bare {
			path = "/json"
		} else if _, err := setupEvents(base, token, o.mode, o.events, tag); err != nil {
			return nil, err
		}
		return getRequests(base, path), nil
	}
	slugs := []string{"bench"}
	if !bare {
		var err error
		if slugs, err = setupEvents(base, token, o.mode, o.events, tag); err != nil {
			return nil, err
		}
	}
	return signupRequests(base, slugs, tag, o.emails), nil
}

// loadOn measures next's load on the server at base.
func loadOn(ctx context.Context, o *benchOptions, name, base string, pid int, next request) *result {
	// A short warm-up, then the measured run.
	drive(ctx, name, base, o.conns, min(time.Second, o.duration/5), next)
	before, genBefore := usageOf(pid), usageOf(os.Getpid())
	r := drive(ctx, name, base, o.conns, o.duration, next)
	if pid != 0 {
		after, genAfter := usageOf(pid), usageOf(os.Getpid())
		r.serverCPU, r.written = after.cpu-before.cpu, float64(after.written-before.written)
		r.genCPU = genAfter.cpu - genBefore.cpu
	}
	return r
}

func benchLoad(ctx context.Context, o *benchOptions, stdout, stderr io.Writer) error {
	dir, cleanup, err := benchDir(o)
	if err != nil {
		return err
	}
	defer cleanup()
	var base string
	pid := 0
	if o.url != "" {
		base = o.url
	} else {
		c, ready, err := startChild(ctx, dir, serverEnv(dir, o), "serve")
		if err != nil {
			return err
		}
		defer c.stop()
		base, pid = c.url, c.cmd.Process.Pid
		fmt.Fprintf(stdout, "started eventreg (pid %d) in %s, ready after %s\n", c.cmd.Process.Pid, dir, ready.Round(time.Millisecond))
	}
	next, err := prepare(o, base, o.adminToken, false)
	if err != nil {
		return err
	}
	if !o.baseline {
		loadOn(ctx, o, "eventreg", base, pid, next).print(stdout)
		return nil
	}
	bdir := filepath.Join(dir, "baseline")
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		return err
	}
	mode := "signup"
	if o.mode == "list" || o.mode == "page" {
		mode = "json"
	}
	bc, _, err := startChild(ctx, bdir, []string{"EVENTREG_DB=" + filepath.Join(bdir, "baseline.db")}, "bench-baseline", mode)
	if err != nil {
		return err
	}
	defer bc.stop()
	bnext, err := prepare(o, bc.url, "", true)
	if err != nil {
		return err
	}
	ratios := make([]float64, 0, o.rounds)
	for round := 1; round <= o.rounds; round++ {
		if o.rounds > 1 {
			fmt.Fprintf(stdout, "round %d of %d\n", round, o.rounds)
		}
		if round > 1 && o.mode != "list" && o.mode != "page" {
			// Each round signs up to events of its own, so that every round
			// is the same rush: on the first round's events a fifth round
			// would measure events four rounds bigger, holding 100,000s
			// of registrations (the baseline keeps no index, so the size
			// of its table does not matter to it).
			if next, err = prepare(o, base, o.adminToken, false); err != nil {
				return err
			}
		}
		r := loadOn(ctx, o, "eventreg", base, pid, next)
		r.print(stdout)
		b := loadOn(ctx, o, "baseline", bc.url, bc.cmd.Process.Pid, bnext)
		b.print(stdout)
		ratios = append(ratios, r.rate()/b.rate())
		fmt.Fprintf(stdout, "ratio eventreg/baseline: %.2f× (requests/s)\n", ratios[len(ratios)-1])
	}
	if len(ratios) > 1 {
		slices.Sort(ratios)
		fmt.Fprintf(stdout, "median ratio of %d rounds: %.2f× (lowest %.2f×, highest %.2f×)\n",
			len(ratios), median(ratios), ratios[0], ratios[len(ratios)-1])
	}
	return nil
}

// median of sorted values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// csvExports is how many times the csv mode times the export.
const csvExports = 3

// exportCSV downloads the bench event's registrations as CSV and returns how
// many rows came (the header not counted) and how long it took.
func exportCSV(base, token string) (int, time.Duration, error) {
	req, err := http.NewRequest("GET", base+"/api/v1/admin/events/csv/registrations.csv", nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return 0, 0, fmt.Errorf("csv export: %s", res.Status)
	}
	lines, err := countLines(res.Body)
	if err != nil {
		return 0, 0, err
	}
	return lines - 1, time.Since(start), nil
}

func benchCSV(ctx context.Context, o *benchOptions, stdout, stderr io.Writer) error {
	dir, cleanup, err := benchDir(o)
	if err != nil {
		return err
	}
	defer cleanup()
	c, ready, err := startChild(ctx, dir, serverEnv(dir, o), "serve")
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	idle := procStatus(c.cmd.Process.Pid)
	// The file part is mostly the executable's own pages: how many of them
	// the kernel maps depends on how the file sits in the page cache (all of
	// it, right after the linker wrote it; less once installed or read cold).
	fmt.Fprintf(stdout, "start to ready (empty database): %s; idle resident memory: %.1f MiB (anonymous %.1f MiB, files %.1f MiB)\n",
		ready.Round(time.Millisecond), mib(idle["VmRSS:"]), mib(idle["RssAnon:"]), mib(idle["RssFile:"]))
	if err := adminDo(c.url, o.adminToken, "POST", "/api/v1/admin/events",
		`{"slug":"csv","kind":"webinar","title":"CSV 匯出","state":"published","timezone":"Asia/Shanghai"}`); err != nil {
		c.stop()
		return err
	}
	// Fill by sign-ups over HTTP, as a rush would.
	var done atomic.Int64
	signups := signupRequests(c.url, []string{"csv"}, "csv", o.emails)
	next := func(w, i int, buf []byte) ([]byte, error) {
		if done.Add(1) > int64(o.rows) {
			return nil, errors.New("enough")
		}
		return signups(w, i, buf)
	}
	fill := drive(ctx, "fill", c.url, o.conns, 10*time.Minute, next)
	before, _ := rss(c.cmd.Process.Pid)
	fmt.Fprintf(stdout, "stored %d registrations by sign-up at %.0f/s; resident memory after: %.1f MiB\n",
		fill.codes[201], fill.rate(), float64(before)/(1<<20))

	peakRSS := sampleRSS(c.cmd.Process.Pid)
	// One export takes well under a second, which a busy minute of a shared
	// machine can halve: three, each printed, and their median.
	rates := make([]float64, 0, csvExports)
	for i := 1; i <= csvExports; i++ {
		rows, el, err := exportCSV(c.url, o.adminToken)
		if err != nil {
			peakRSS()
			c.stop()
			return err
		}
		rates = append(rates, float64(rows)/el.Seconds())
		fmt.Fprintf(stdout, "csv export %d of %d: %d rows in %s = %.0f rows/s\n", i, csvExports, rows, el.Round(time.Millisecond), rates[len(rates)-1])
	}
	peak := peakRSS()
	slices.Sort(rates)
	fmt.Fprintf(stdout, "csv export median: %.0f rows/s (lowest %.0f, highest %.0f); server resident memory peak during the exports %.1f MiB\n",
		median(rates), rates[0], rates[len(rates)-1], mib(peak))
	c.stop()
	c2, ready2, err := startChild(ctx, dir, serverEnv(dir, o), "serve")
	if err != nil {
		return err
	}
	defer c2.stop()
	fmt.Fprintf(stdout, "start to ready with %d registrations stored: %s\n", fill.codes[201], ready2.Round(time.Millisecond))
	return nil
}

// sampleRSS samples the resident memory of process pid every 5 ms until the
// function it returns is called; that function returns the highest sample.
func sampleRSS(pid int) (stop func() int64) {
	var peak int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			if cur, _ := rss(pid); cur > peak {
				peak = cur
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(done)
		<-stopped
		return peak
	}
}

func countLines(r io.Reader) (int, error) {
	buf := make([]byte, 64<<10)
	n := 0
	for {
		k, err := r.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
