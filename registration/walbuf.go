package registration

// #include "walbuf.h"
import "C"

// walbufVFS names the SQLite VFS of walbuf.c, which hands each commit's
// write-ahead-log frames to the kernel in writes of up to 120 KiB instead of
// two per frame; empty when it could not be registered, and the writer uses
// the default.
var walbufVFS = func() string {
	if C.walbuf_register() != 0 {
		return ""
	}
	return "eventreg-walbuf"
}()

// walbufCounts reports, since the process started, how many write-ahead
// logs were opened through walbufVFS, how many writes SQLite made to them,
// and how many writes went down to the files.
func walbufCounts() (logs, taken, passed uint64) {
	var l, t, p C.ulonglong
	C.walbuf_counts(&l, &t, &p)
	return uint64(l), uint64(t), uint64(p)
}
