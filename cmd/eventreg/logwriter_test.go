package main

import (
	"testing"
	"time"
)

func TestLogWriter(t *testing.T) {
	var out safeBuffer
	w := newLogWriter(&out)
	if _, err := w.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if out.String() != "" {
		t.Errorf("written at once: %q", out.String())
	}
	// Within a few flush periods the line is out, without Close.
	for deadline := time.Now().Add(2 * time.Second); out.String() != "one\n"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not flushed: %q", out.String())
		}
	}
	_, _ = w.Write([]byte("two\n"))
	w.Close()
	if out.String() != "one\ntwo\n" {
		t.Errorf("after Close: %q", out.String())
	}
	// A line logged after Close still reaches the output.
	_, _ = w.Write([]byte("three\n"))
	if out.String() != "one\ntwo\nthree\n" {
		t.Errorf("after Close, a late line: %q", out.String())
	}
}
