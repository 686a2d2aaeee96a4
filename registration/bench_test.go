package registration

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSignup measures the sign-up service on SQLite (durable group
// commit) with concurrent callers, as a rush produces.
func BenchmarkSignup(b *testing.B) {
	clock := newTestClock(t0)
	svc := newSQLiteService(b, clock)
	mustEvent(b, svc, map[string]any{"slug": "bench", "capacity": 100000000,
		"starts_at": t0.Add(30 * 24 * time.Hour).Format(time.RFC3339)})
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := svc.Signup(b.Context(), "bench", SignupInput{Name: "測試者", Email: fmt.Sprintf("b%d@example.com", i)}, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSignupSpread spreads the sign-ups over 50 events.
func BenchmarkSignupSpread(b *testing.B) {
	clock := newTestClock(t0)
	svc := newSQLiteService(b, clock)
	for i := range 50 {
		mustEvent(b, svc, map[string]any{"slug": fmt.Sprintf("bench-%d", i), "capacity": 100000000,
			"starts_at": t0.Add(30 * 24 * time.Hour).Format(time.RFC3339)})
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			slug := fmt.Sprintf("bench-%d", i%50)
			if _, err := svc.Signup(b.Context(), slug, SignupInput{Name: "測試者", Email: fmt.Sprintf("b%d@example.com", i)}, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}
