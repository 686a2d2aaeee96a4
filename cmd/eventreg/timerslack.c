#include "timerslack.h"

#ifdef __linux__
#include <string.h>
#include <sys/prctl.h>

// timer_slack runs before the Go runtime starts (glibc calls the functions of
// .init_array with the program's arguments), so that every thread the runtime
// makes afterwards inherits the slack of the main thread.
static void timer_slack(int argc, char **argv, char **envp) {
	(void)envp;
	if (argc > 1 && (strcmp(argv[1], "serve") == 0 || strcmp(argv[1], "worker") == 0)) {
		prctl(PR_SET_TIMERSLACK, (unsigned long)TIMER_SLACK_NS, 0, 0, 0);
	}
}

__attribute__((section(".init_array"), used)) static void (*timer_slack_init)(int, char **, char **) = timer_slack;
#endif
