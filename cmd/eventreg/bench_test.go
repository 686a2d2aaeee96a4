package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestBenchCommand runs eventreg bench for a moment: it starts a server and
// the baseline, takes turns between them, and every sign-up is answered 201.
// (What the figures are is for the bench itself, never for a test.)
func TestBenchCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers")
	}
	t.Setenv("EVENTREG_TEST_COMMANDS", "1")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"bench", "-mode", "spread", "-events", "3", "-c", "4", "-d", "300ms", "-baseline", "-rounds", "2", "-keep"},
		func(string) string { return "" }, &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), errOut.String())
	}
	text := out.String()
	lines := regexp.MustCompile(`(?m)^(eventreg|baseline) +\d+ req/s .* n=(\d+)  codes: 201×(\d+)  errors: 0$`).FindAllStringSubmatch(text, -1)
	if len(lines) != 4 {
		t.Fatalf("want 2 rounds of eventreg and baseline lines, all 201:\n%s", text)
	}
	for _, l := range lines {
		if n, _ := strconv.Atoi(l[2]); n == 0 || l[2] != l[3] {
			t.Errorf("%s answered %s of %s with 201", l[1], l[3], l[2])
		}
	}
	m := regexp.MustCompile(`median ratio of 2 rounds: ([0-9.]+)× \(lowest ([0-9.]+)×, highest ([0-9.]+)×\)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no median ratio:\n%s", text)
	}
	med, _ := strconv.ParseFloat(m[1], 64)
	lo, _ := strconv.ParseFloat(m[2], 64)
	hi, _ := strconv.ParseFloat(m[3], 64)
	if med <= 0 || lo > med || med > hi {
		t.Errorf("median %v outside [%v, %v]", med, lo, hi)
	}
	// Each round signed up to events of its own: 2 rounds of 3 events, each
	// with sign-ups.
	dir := regexp.MustCompile(`started eventreg \(pid \d+\) in (\S+), ready`).FindStringSubmatch(text)
	if dir == nil {
		t.Fatalf("no server directory:\n%s", text)
	}
	t.Cleanup(func() { os.RemoveAll(dir[1]) })
	db, err := sql.Open("sqlite3", filepath.Join(dir[1], "eventreg.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var events, signedUp int
	if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE confirmed > 0) FROM events WHERE slug LIKE 'bench-%'`).Scan(&events, &signedUp); err != nil {
		t.Fatal(err)
	}
	if events != 6 || signedUp != 6 {
		t.Errorf("%d bench events, %d with sign-ups; want 2 rounds of 3, all signed up to", events, signedUp)
	}
}

// TestBenchCSV: the csv mode fills an event by sign-ups, times three
// exports of all of it, and prints each, their median and the memory.
func TestBenchCSV(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers")
	}
	t.Setenv("EVENTREG_TEST_COMMANDS", "1")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"bench", "-mode", "csv", "-rows", "300", "-c", "4"},
		func(string) string { return "" }, &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), errOut.String())
	}
	text := out.String()
	if !strings.Contains(text, "stored 300 registrations by sign-up") {
		t.Errorf("did not store 300 registrations:\n%s", text)
	}
	exports := regexp.MustCompile(`(?m)^csv export (\d) of 3: 300 rows in \S+ = (\d+) rows/s$`).FindAllStringSubmatch(text, -1)
	if len(exports) != 3 {
		t.Fatalf("want 3 exports of 300 rows:\n%s", text)
	}
	var rates []float64
	for i, e := range exports {
		if e[1] != strconv.Itoa(i+1) {
			t.Errorf("export %s printed as number %d", e[1], i+1)
		}
		r, _ := strconv.ParseFloat(e[2], 64)
		rates = append(rates, r)
	}
	slices.Sort(rates)
	m := regexp.MustCompile(`csv export median: (\d+) rows/s \(lowest (\d+), highest (\d+)\); server resident memory peak during the exports ([0-9.]+) MiB`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no median line:\n%s", text)
	}
	for i, want := range []float64{rates[1], rates[0], rates[2]} {
		if got, _ := strconv.ParseFloat(m[i+1], 64); got != want {
			t.Errorf("median line field %d: %v, want %v (from %v)", i+1, got, want, rates)
		}
	}
	if peak, _ := strconv.ParseFloat(m[4], 64); peak <= 0 {
		t.Errorf("peak memory %v", peak)
	}
	if !regexp.MustCompile(`start to ready with 300 registrations stored: \d+ms`).MatchString(text) {
		t.Errorf("no start-to-ready line:\n%s", text)
	}
}

// TestBenchRefusesBadFlags: flags that cannot make a run are refused with a
// message naming the rule, before any server starts.
func TestBenchRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-rounds", "3"}, "add -baseline"},
		{[]string{"-rounds", "21", "-baseline"}, "1 ≤ -rounds ≤ 20"},
		{[]string{"-c", "0"}, "-c ≥ 1"},
		{[]string{"-d", "0s"}, "0 < -d ≤ 10m"},
		{[]string{"-url", "http://example.com"}, "loopback"},
		{[]string{"-emails", "shuffled"}, "random or sequential"},
	} {
		var errOut bytes.Buffer
		_, err := parseBench(tc.args, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bench %v: got %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
}
