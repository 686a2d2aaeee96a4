#include "timerslack.h"

#ifdef __linux__
#include <string.h>
#include <sys/prctl.h>

// The kernel's timer slack for a process nobody set one for.
#define DEFAULT_SLACK_NS 50000

// timer_slack runs before the Go runtime starts (glibc calls the functions of
// .init_array with the program's arguments), so that every thread the runtime
// makes afterwards inherits the slack of the main thread. A slack set by
// whoever started the server (systemd's TimerSlackNSec=, say) is kept.
static void timer_slack(int argc, char **argv, char **envp) {
	(void)envp;
	if (argc < 2 || (strcmp(argv[1], "serve") != 0 && strcmp(argv[1], "worker") != 0)) {
		return;
	}
	if (prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == DEFAULT_SLACK_NS) {
		prctl(PR_SET_TIMERSLACK, (unsigned long)TIMER_SLACK_NS, 0, 0, 0);
	}
}

__attribute__((section(".init_array"), used)) static void (*timer_slack_init)(int, char **, char **) = timer_slack;
#endif
