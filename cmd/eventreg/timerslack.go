package main

// #include "timerslack.h"
import "C"

import "time"

// timerSlack is how late the kernel may wake a thread of the server (serve
// and worker) from a timed sleep, so that it can wake several at once: 1 ms
// instead of Linux's default 50 µs. Set by timerslack.c before the Go runtime
// starts, so that all of the runtime's threads have it.
//
// What it is for: under a rush, the runtime's sysmon thread wakes every
// 20 µs, plus the slack, for as long as the SQLite writer's cgo calls and
// fsyncs keep outlasting its checks, which they do in every commit. Each
// wake takes a core from a thread serving requests: on two cores that was
// a third of all the server's thread switches. With 1 ms of slack it wakes
// about a third as often.
//
// What it costs: timers may fire up to 1 ms late. Nothing in the server
// keeps time that finely, except the group commit's wait for more sign-ups,
// which does without a timer where that matters (see gatherFor in
// registration and docs/benchmarks.md). A slack the server was started with
// (systemd's TimerSlackNSec=) is kept.
const timerSlack = time.Duration(C.TIMER_SLACK_NS)
