package registration

import (
	"context"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"
)

// maxBatch bounds how many writes share one commit.
const maxBatch = 64

// batcher is group commit: writers hand their work to one goroutine that runs
// everything waiting inside one transaction, each piece under its own
// savepoint, and answers each after the single (durable) commit. A piece that
// fails is rolled back to its savepoint without touching the others.
type batcher struct {
	db      *sqlx.DB
	queue   chan *batchItem
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	started sync.Once
}

type batchItem struct {
	ctx context.Context
	fn  func(ctx context.Context, tx *sqlx.Tx) error
	err chan error
}

func newBatcher(db *sqlx.DB) *batcher {
	return &batcher{db: db, queue: make(chan *batchItem, 4*maxBatch), stop: make(chan struct{}), done: make(chan struct{})}
}

// do runs fn inside a shared transaction and returns once it is committed.
// fn gets a context that is never cancelled: interrupting a statement would
// abort the transaction that other writers share.
func (b *batcher) do(ctx context.Context, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	b.started.Do(func() { go b.loop() })
	it := &batchItem{ctx: ctx, fn: fn, err: make(chan error, 1)}
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
		b.run(items)
	}
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
		// Nothing to share: a plain transaction avoids the savepoint.
		it := items[0]
		it.err <- b.single(it)
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
	for i, it := range items {
		if err := it.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := tx.Exec("SAVEPOINT signup"); err != nil {
			errs[i] = mapErr(err)
			continue
		}
		if err := it.fn(context.WithoutCancel(it.ctx), tx); err != nil {
			errs[i] = err
			if _, rerr := tx.Exec("ROLLBACK TO signup"); rerr != nil {
				// The transaction is unusable: fail the rest alike.
				_ = tx.Rollback()
				for j := range items {
					if j >= i || errs[j] == nil {
						errs[j] = mapErr(rerr)
					}
				}
				for j, it := range items {
					it.err <- errs[j]
				}
				return
			}
		}
		if _, err := tx.Exec("RELEASE signup"); err != nil && errs[i] == nil {
			errs[i] = mapErr(err)
		}
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
