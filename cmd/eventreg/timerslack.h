// TIMER_SLACK_NS is the timer slack of the serve and worker commands, in
// nanoseconds; timerslack.c sets it, timerslack.go explains it.
#define TIMER_SLACK_NS 1000000
