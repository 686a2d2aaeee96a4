package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestTimerSlack: every thread of a running server has the server's timer
// slack, set before the Go runtime made them; other commands, such as this
// test binary, keep the system's.
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

	dir := t.TempDir()
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), "EVENTREG_TEST_COMMANDS=1", "EVENTREG_ADDR="+addr,
		"EVENTREG_DB="+filepath.Join(dir, "eventreg.db"), "EVENTREG_MAIL_DIR="+filepath.Join(dir, "mail"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitReady(t, "http://"+addr)
	got := slackOf(cmd.Process.Pid)
	if len(got) != 1 || got[int64(timerSlack)] < 2 {
		t.Fatalf("threads of the server by timer slack (ns): %v, want all at %d", got, int64(timerSlack))
	}
}
