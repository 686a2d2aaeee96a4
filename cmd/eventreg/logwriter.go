package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logWriter buffers log lines and writes them out every flushEvery, when the
// buffer fills, and on Close: one write per request line would cost a system
// call each in a rush.
type logWriter struct {
	mu     sync.Mutex
	buf    *bufio.Writer
	closed bool // after Close, lines go straight out
	stop   chan struct{}
	done   chan struct{}
}

const flushEvery = 100 * time.Millisecond

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.buf.Write(p)
	if l.closed && err == nil {
		err = l.buf.Flush()
	}
	return n, err
}

func (l *logWriter) flush() {
	l.mu.Lock()
	_ = l.buf.Flush()
	l.mu.Unlock()
}

func (l *logWriter) loop() {
	defer close(l.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.flush()
		case <-l.stop:
			l.mu.Lock()
			l.closed = true
			_ = l.buf.Flush()
			l.mu.Unlock()
			return
		}
	}
}

// Close writes out what is buffered and stops the flushing.
func (l *logWriter) Close() {
	close(l.stop)
	<-l.done
}
