package registration

import "testing"

// TestGatherTakesWhatIsQueued: both ways of waiting for more work take what
// is queued, stop at maxBatch, and give up when nothing more comes.
func TestGatherTakesWhatIsQueued(t *testing.T) {
	for name, gather := range map[string]func(*batcher, []*batchItem) []*batchItem{
		"yielding": (*batcher).gatherYielding,
		"parked":   (*batcher).gatherParked,
	} {
		t.Run(name, func(t *testing.T) {
			b := newBatcher(nil, nil)
			pieces := func(n int) []*batchItem {
				items := make([]*batchItem, n)
				for i := range items {
					items[i] = &batchItem{}
				}
				return items
			}
			for _, it := range pieces(3) {
				b.queue <- it
			}
			if got := gather(b, pieces(4)); len(got) != 7 || len(b.queue) != 0 {
				t.Fatalf("4 pieces and 3 queued: a batch of %d, %d left queued; want 7 and 0", len(got), len(b.queue))
			}
			for _, it := range pieces(70) {
				b.queue <- it
			}
			if got := gather(b, pieces(4)); len(got) != maxBatch || len(b.queue) != 70-(maxBatch-4) {
				t.Fatalf("4 pieces and 70 queued: a batch of %d, %d left queued; want %d and %d",
					len(got), len(b.queue), maxBatch, 70-(maxBatch-4))
			}
		})
	}
}
