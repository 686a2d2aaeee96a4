package registration

// Test databases for every engine. Any test of this package that should hold
// on SQLite and PostgreSQL alike is written once, like this:
//
//	func TestSomething(t *testing.T) {
//		forEachEngine(t, func(t *testing.T, open func() *Store) {
//			store := open()                         // migrated; closed when t ends
//			svc := newTestService(t, store, newTestClock(t0))
//			...
//		})
//	}
//
// forEachEngine runs the subtest "sqlite" always (a file in t.TempDir()) and
// the subtest "postgres" when EVENTREG_TEST_POSTGRES holds a URL, such as
// postgres://eventreg:eventreg@127.0.0.1:5432/eventreg_test?sslmode=disable
// (.ci/run sets it); otherwise "postgres" is skipped. Each subtest gets a
// fresh, empty database (on PostgreSQL a new schema, dropped at the end), and
// every call of open within one subtest opens another Store on that same
// database: call it twice for two instances of the server.
//
// For a PostgreSQL-only test: testPostgresURL(t) (skips without the
// variable) and openTestStore(t, url).

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// testPostgresEnv names the variable that holds the URL of a PostgreSQL
// database the tests may use (the role must be able to create schemas).
const testPostgresEnv = "EVENTREG_TEST_POSTGRES"

// forEachEngine runs fn once per engine, each on a fresh database; see the
// top of this file.
func forEachEngine(t *testing.T, fn func(t *testing.T, open func() *Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		dsn := filepath.Join(t.TempDir(), "test.db")
		fn(t, func() *Store { return openTestStore(t, dsn) })
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testPostgresURL(t)
		fn(t, func() *Store { return openTestStore(t, dsn) })
	})
}

// testPostgresURL returns the URL of a new, empty schema in the database
// named by EVENTREG_TEST_POSTGRES, dropped when t ends; it skips t when the
// variable is empty.
func testPostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(testPostgresEnv)
	if base == "" {
		t.Skip(testPostgresEnv + " is empty: no PostgreSQL to test against")
	}
	if !IsPostgres(base) {
		t.Fatalf("%s must be a postgres:// URL", testPostgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "eventreg_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("%s: create schema: %v", testPostgresEnv, err)
	}
	// Registered before the stores' Close, so it runs after it.
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters to the server
	u.RawQuery = q.Encode()
	return u.String()
}

// openTestStore opens and migrates the database dsn (a SQLite path or a
// postgres:// URL) and closes the store when t ends.
func openTestStore(t testing.TB, dsn string) *Store {
	t.Helper()
	ctx := context.Background()
	store, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return store
}

// newTestService is a Service over store with the given clock, as the
// other tests of this package configure it.
func newTestService(t testing.TB, store *Store, clock *testClock) *Service {
	t.Helper()
	svc, err := NewService(context.Background(), store, Options{Now: clock.Now,
		BaseURL: "http://example.test", MailFrom: "eventreg <no-reply@example.test>"})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}
