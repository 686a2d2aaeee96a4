package registration

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// maxBatch bounds how many writes share one commit.
const maxBatch = 64

// gatherFor is how long the writer waits for more work when a batch under
// load is small (4 to 31 pieces): fewer, larger commits, each one fsync.
// With 3 pieces or fewer the load is light and the writer commits at once:
// whoever it would wait for has not sent the next sign-up yet.
const gatherFor = 300 * time.Microsecond

// spinBelow is the batch size under which the writer waits for more by
// yielding its core and looking again, rather than parking on a timer. At
// such loads cores go idle, and a timer that falls due on an idle core
// fires at the next millisecond or later (the network poller sleeps in
// whole milliseconds, plus the server's timer slack; see cmd/eventreg): at
// 4 connections the 300 µs lasted 0.9–1.5 ms on average. Busier, the cores
// run the timers on time, and yielding would only churn the scheduler.
const spinBelow = 8

// batcher is group commit: writers hand their work to one goroutine that runs
// everything waiting inside one transaction and answers each after the single
// (durable) commit. A piece refused before writing anything leaves the others
// alone; any other failure sends every piece of the batch through its own
// transaction, so it fails alone. (Savepoints would do the same at a cost paid
// by every sign-up; refusals are the only failures a sign-up expects.)
type batcher struct {
	db      *sqlx.DB
	bulk    func(ctx context.Context, tx *sqlx.Tx, items []*batchItem) error
	queue   chan *batchItem
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	started sync.Once
}

type batchItem struct {
	ctx context.Context
	fn  func(ctx context.Context, tx *sqlx.Tx) error
	// signup, when set, is a plain sign-up that bulk may write together with
	// the others of the batch; fn runs only for those bulk leaves unhandled.
	signup *bulkSignup
	err    chan error
}

// newBatcher makes the group commit of db. bulk, when not nil, runs first in
// each shared transaction and writes the plain sign-ups it can together.
func newBatcher(db *sqlx.DB, bulk func(ctx context.Context, tx *sqlx.Tx, items []*batchItem) error) *batcher {
	return &batcher{db: db, bulk: bulk, queue: make(chan *batchItem, 4*maxBatch), stop: make(chan struct{}), done: make(chan struct{})}
}

// do runs fn inside a shared transaction and returns once it is committed.
// fn gets a context that is never cancelled: interrupting a statement would
// abort the transaction that other writers share.
func (b *batcher) do(ctx context.Context, fn func(ctx context.Context, tx *sqlx.Tx) error, signup *bulkSignup) error {
	b.started.Do(func() { go b.loop() })
	it := &batchItem{ctx: ctx, fn: fn, signup: signup, err: make(chan error, 1)}
	select {
	case b.queue <- it:
	case <-b.stop:
		return fmt.Errorf("%w: shutting down", ErrUnavailable)
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, wait for the answer even if ctx ends: the work may be
	// committed, and the caller must not report failure for a kept sign-up.
	return <-it.err
}

func (b *batcher) close() {
	b.once.Do(func() { close(b.stop) })
	b.started.Do(func() { close(b.done) })
	<-b.done
}

func (b *batcher) loop() {
	defer close(b.done)
	items := make([]*batchItem, 0, maxBatch)
	for {
		select {
		case it := <-b.queue:
			items = append(items[:0], it)
		case <-b.stop:
			b.drain()
			return
		}
	collect:
		for len(items) < maxBatch {
			select {
			case it := <-b.queue:
				items = append(items, it)
			default:
				break collect
			}
		}
		switch n := len(items); {
		case n > 3 && n < spinBelow:
			items = b.gatherYielding(items)
		case n >= spinBelow && n < maxBatch/2:
			items = b.gatherParked(items)
		}
		b.run(items)
	}
}

// gatherYielding adds to items what arrives within gatherFor, looking at the
// queue between turns of other goroutines.
func (b *batcher) gatherYielding(items []*batchItem) []*batchItem {
	deadline := time.Now().Add(gatherFor)
	for len(items) < maxBatch {
		select {
		case it := <-b.queue:
			items = append(items, it)
			continue
		default:
		}
		if time.Now().After(deadline) {
			return items
		}
		runtime.Gosched()
	}
	return items
}

// gatherParked adds to items what arrives within gatherFor, asleep between
// arrivals.
func (b *batcher) gatherParked(items []*batchItem) []*batchItem {
	t := time.NewTimer(gatherFor)
	defer t.Stop()
	for len(items) < maxBatch {
		select {
		case it := <-b.queue:
			items = append(items, it)
		case <-t.C:
			return items
		}
	}
	return items
}

// drain answers whatever is still queued at shutdown.
func (b *batcher) drain() {
	for {
		select {
		case it := <-b.queue:
			b.run([]*batchItem{it})
		default:
			return
		}
	}
}

func (b *batcher) run(items []*batchItem) {
	if len(items) == 1 {
		items[0].err <- b.single(items[0])
		return
	}
	errs := make([]error, len(items))
	tx, err := b.db.BeginTxx(context.Background(), nil)
	if err != nil {
		for _, it := range items {
			it.err <- mapErr(err)
		}
		return
	}
	alone := func() {
		// A piece may have written half its work: give up the shared
		// transaction and run each piece alone, so that one failure fails
		// only its own request.
		_ = tx.Rollback()
		for _, it := range items {
			if it.signup != nil {
				it.signup.handled, it.signup.res, it.signup.err = false, nil, nil
			}
			it.err <- b.single(it)
		}
	}
	if b.bulk != nil {
		if err := b.bulk(context.Background(), tx, items); err != nil {
			alone()
			return
		}
	}
	for i, it := range items {
		if it.signup != nil && it.signup.handled {
			errs[i] = it.signup.err
			continue
		}
		if err := it.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		err := it.fn(context.WithoutCancel(it.ctx), tx)
		if err != nil && !refusedCleanly(err) {
			alone()
			return
		}
		errs[i] = err
	}
	if err := tx.Commit(); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = mapErr(err)
			}
		}
	}
	for i, it := range items {
		it.err <- errs[i]
	}
}

// refusedCleanly reports the errors a sign-up returns before it writes
// anything, which leave a shared transaction as it was.
func refusedCleanly(err error) bool {
	var ve *ValidationError
	return errors.As(err, &ve) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrEventFull) ||
		errors.Is(err, ErrEventCancelled) || errors.Is(err, ErrEventEnded) || errors.Is(err, ErrRegistrationClosed) ||
		errors.Is(err, ErrRegistrationNotOpen) || errors.Is(err, ErrIdempotencyMismatch)
}

func (b *batcher) single(it *batchItem) error {
	if err := it.ctx.Err(); err != nil {
		return err
	}
	tx, err := b.db.BeginTxx(context.Background(), nil)
	if err != nil {
		return mapErr(err)
	}
	if err := it.fn(context.WithoutCancel(it.ctx), tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return mapErr(tx.Commit())
}
