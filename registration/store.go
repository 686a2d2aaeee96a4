package registration

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrations embed.FS

// Engines.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Store keeps events, registrations and the outbox. On SQLite it holds one
// writer connection (SQLite has one writer anyway; a single connection turns
// lock contention into a queue) and a pool of readers; on PostgreSQL one pool.
type Store struct {
	engine string
	w      *sqlx.DB // writes and transactions
	r      *sqlx.DB // plain reads
	path   string   // SQLite file
	batch  *batcher // group commit of sign-ups
}

// IsPostgres reports whether dsn selects PostgreSQL.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to the database named by dsn: a postgres:// URL, or the path of
// a SQLite file (created with its directory when missing). It does not migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if IsPostgres(dsn) {
		return openPostgres(ctx, dsn)
	}
	path := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	// FULL: a sign-up acknowledged is a sign-up kept, even on power loss; the
	// group commit of sign-ups makes that cheap. _mutex=no: database/sql uses
	// a connection from one goroutine at a time, so the lock SQLite would
	// otherwise take on every call (go-sqlite3 opens in serialized mode) is
	// pure cost.
	common := "_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=FULL&_stmt_cache_size=64&_mutex=no"
	wdsn := "file:" + escapePath(path) + "?" + common + "&_txlock=immediate"
	// The writer's log through walbuf.c: a commit's frames go to the file
	// in one write per 120 KiB, not two per page, before its fsync.
	if walbufVFS != "" {
		wdsn += "&vfs=" + walbufVFS
	}
	w, err := sqlx.Open(sqliteWriter, wdsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r, err := sqlx.Open(sqliteReader, "file:"+escapePath(path)+"?"+common+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	n := max(4, runtime.NumCPU()*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s := &Store{engine: SQLite, w: w, r: r, path: path}
	return s, nil
}

// SQLite connections are go-sqlite3 with the settings a DSN cannot carry,
// made on every new connection: sqliteWriter for the one writer,
// sqliteReader for the pool of readers.
const (
	sqliteWriter = "eventreg-sqlite3-writer"
	sqliteReader = "eventreg-sqlite3-reader"
)

func init() {
	sql.Register(sqliteWriter, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		// Statement journals (the undo of one multi-row statement inside a
		// transaction) in memory: on disk they cost as many writes as the
		// WAL itself. (Readers keep temporary files on disk: the sort of a
		// large export would otherwise sit in memory.) And a checkpoint
		// every 4,000 WAL pages (16 MiB) instead of 1,000: the index pages a
		// rush dirties over and over are copied back to the database once
		// per checkpoint, not once per 1,000.
		_, err := c.Exec("PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 4000", nil)
		return err
	}})
	sql.Register(sqliteReader, &sqlite3.SQLiteDriver{})
	sqlx.BindDriver(sqliteWriter, sqlx.QUESTION)
	sqlx.BindDriver(sqliteReader, sqlx.QUESTION)
}

// defaultPoolSize is the number of PostgreSQL connections per instance,
// unless the URL says otherwise with pool_max_conns.
const defaultPoolSize = 20

// openPostgres opens one pool. pool_max_conns in the URL sizes it (the name
// pgxpool uses; database/sql does not read it, so it is taken out here before
// pgx would send it to the server as a setting).
func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	size := defaultPoolSize
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, errors.New("open postgres: malformed URL") // the error would echo the password
	}
	if q := u.Query(); q.Has("pool_max_conns") {
		n, err := strconv.Atoi(q.Get("pool_max_conns"))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("open postgres: pool_max_conns must be a whole number ≥ 1, not %q", q.Get("pool_max_conns"))
		}
		size = n
		q.Del("pool_max_conns")
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	// Times come back in UTC, as from SQLite, whatever the machine's zone.
	utc := stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	})
	db := sqlx.NewDb(stdlib.OpenDB(*cfg, utc), "pgx")
	db.SetMaxOpenConns(size)
	db.SetMaxIdleConns(size)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	return &Store{engine: Postgres, w: db, r: db}, nil
}

func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}

// Engine is SQLite or Postgres.
func (s *Store) Engine() string { return s.engine }

// stamp is t as the bound value of a timestamp column: on SQLite the text
// go-sqlite3 writes for a time.Time, so that it can be made before a
// statement instead of while the one writer binds it; t itself on PostgreSQL.
func (s *Store) stamp(t time.Time) any {
	if s.engine == SQLite {
		return t.Format(sqlite3.SQLiteTimestampFormats[0])
	}
	return t
}

// Close closes the connections.
func (s *Store) Close() error {
	if s.batch != nil {
		s.batch.close()
	}
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

func (s *Store) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+s.engine)
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if s.engine == Postgres {
		dialect = goose.DialectPostgres
		// Two instances starting together: one migrates, the other waits.
		// Waiting for it is probed each second (goose's default is 5 s).
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(dialect, s.w.DB, sub, opts...)
}

// Migrate applies the embedded migrations that are not applied yet.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Ready reports whether the database answers and every migration is applied.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	p, err := s.provider()
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if pending {
		return errors.New("migrations pending")
	}
	return nil
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE on SQLite) and commits
// when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return mapErr(tx.Commit())
}

// mapErr turns driver errors into the domain's: no rows → ErrNotFound, a full
// disk, a read-only file or a lost connection → ErrUnavailable.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrReadonly, sqlite3.ErrFull, sqlite3.ErrIoErr, sqlite3.ErrCantOpen, sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrPerm:
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "57"), pe.Code == "25006":
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	// The server cannot be reached, or the connection broke mid-statement.
	var ce *pgconn.ConnectError
	var ne net.Error
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) || errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

// isUnique reports a UNIQUE constraint violation.
func isUnique(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// isCheck reports a CHECK constraint violation.
func isCheck(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintCheck
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514"
}

// Backup writes a consistent copy of the SQLite database to path while it
// serves (VACUUM INTO reads one snapshot). PostgreSQL has pg_dump for that.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.engine == Postgres {
		return errors.New(`backup copies SQLite databases only; for PostgreSQL use pg_dump, for example: ` +
			`pg_dump --format=custom --file=eventreg.dump "$EVENTREG_DB" (without pool_max_conns in the URL)`)
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists; choose a new file", path)
	}
	if _, err := s.w.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
