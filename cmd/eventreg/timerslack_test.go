package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTimerSlack: every thread of a running server has the server's timer
// slack, set before the Go runtime made them, unless the server was started
// with a slack of its own; other commands, such as this test binary, keep
// the system's.
func TestTimerSlack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("timer slack is Linux's")
	}
	slackOf := func(pid int) map[int64]int {
		t.Helper()
		tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		if err != nil {
			t.Skipf("no /proc: %v", err)
		}
		seen := map[int64]int{}
		for _, task := range tasks {
			b, err := os.ReadFile("/proc/" + task.Name() + "/timerslack_ns")
			if err != nil {
				continue // the thread has ended
			}
			ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			seen[ns]++
		}
		return seen
	}
	if own := slackOf(os.Getpid()); own[int64(timerSlack)] > 0 {
		t.Fatalf("the test binary's threads have the server's slack: %v", own)
	}

	// start runs the server, forked from a thread with the given slack (the
	// child inherits it), and returns its threads by slack.
	start := func(parent int) map[int64]int {
		t.Helper()
		dir := t.TempDir()
		addr := freeAddr(t)
		cmd := exec.Command(os.Args[0], "serve")
		cmd.Env = append(os.Environ(), "EVENTREG_TEST_COMMANDS=1", "EVENTREG_ADDR="+addr,
			"EVENTREG_DB="+filepath.Join(dir, "eventreg.db"), "EVENTREG_MAIL_DIR="+filepath.Join(dir, "mail"))
		err := func() error {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			own, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
			if err != nil {
				return err
			}
			if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(parent), 0, 0, 0); err != nil {
				return err
			}
			defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(own), 0, 0, 0)
			return cmd.Start()
		}()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		waitReady(t, "http://"+addr)
		return slackOf(cmd.Process.Pid)
	}
	// Linux's default, which a server started by hand or by bench has.
	if got := start(50_000); len(got) != 1 || got[int64(timerSlack)] < 2 {
		t.Errorf("threads of the server by timer slack (ns): %v, want all at %d", got, int64(timerSlack))
	}
	// A slack set by whoever starts the server (systemd's TimerSlackNSec=) stays.
	if got := start(200_000); len(got) != 1 || got[200_000] < 2 {
		t.Errorf("started with a slack of 200 µs: threads by timer slack (ns): %v, want all at 200000", got)
	}
}
