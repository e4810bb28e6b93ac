package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the variable holding the DSN of a PostgreSQL database
// the tests may create schemas in.
const PostgresEnv = "DPSWEEP_TEST_POSTGRES"

// DefaultPostgresDSN is tried when PostgresEnv is unset; scripts/ci-postgres.sh
// sets up exactly this.
const DefaultPostgresDSN = "postgres://dpsweep@127.0.0.1:5432/dpsweep_test?sslmode=disable"

var (
	probeOnce sync.Once
	probeDSN  string
	probeErr  error
)

// PostgresDSN returns the DSN of a new, empty schema of the test database,
// dropped when tb ends; the schema comes first in the DSN's search_path, so a
// store opened with it keeps to it. Without a server tb is skipped, unless
// PostgresEnv names one explicitly: then it fails.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	base := PostgresBaseDSN(tb)
	return PostgresSchemaDSN(tb, base, "t_"+randomHex(8), true)
}

// PostgresBaseDSN returns the test database's DSN, or skips tb (fails it when
// PostgresEnv is set but nothing answers there).
func PostgresBaseDSN(tb testing.TB) string {
	tb.Helper()
	probeOnce.Do(func() {
		dsn, explicit := os.LookupEnv(PostgresEnv)
		if !explicit || dsn == "" {
			dsn, explicit = DefaultPostgresDSN, false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		probeDSN = dsn
		if err != nil {
			if explicit {
				probeErr = fmt.Errorf("%s is set but PostgreSQL does not answer there: %w", PostgresEnv, err)
			} else {
				probeErr = errSkip
			}
		}
	})
	switch {
	case probeErr == errSkip:
		tb.Skipf("PostgreSQL tests skipped: nothing answers at %s; set %s to a DSN, or run scripts/ci-postgres.sh as root to start one", DefaultPostgresDSN, PostgresEnv)
	case probeErr != nil:
		tb.Fatal(probeErr)
	}
	return probeDSN
}

var errSkip = fmt.Errorf("skip")

// PostgresSchemaDSN creates schema (dropping an old one of that name first)
// and returns base with the schema as its search_path; drop says whether to
// drop it when tb ends.
func PostgresSchemaDSN(tb testing.TB, base, schema string, drop bool) string {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident+" CASCADE; CREATE SCHEMA "+ident); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	if drop {
		tb.Cleanup(func() { DropPostgresSchema(tb, base, schema) })
	}
	return WithSearchPath(tb, base, schema)
}

// DropPostgresSchema drops a schema made by PostgresSchemaDSN.
func DropPostgresSchema(tb testing.TB, base, schema string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Errorf("drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		tb.Errorf("drop schema %s: %v", schema, err)
	}
}

// WithSearchPath returns dsn with search_path set to schema, in the URL or
// the key=value form.
func WithSearchPath(tb testing.TB, dsn, schema string) string {
	tb.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatalf("%s: %v", PostgresEnv, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
