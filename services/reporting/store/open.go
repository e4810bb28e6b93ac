package store

import (
	"context"
	"fmt"
	"strings"
)

// Open opens the store a URL names:
//
//	sqlite:///var/lib/dpsweep/findings.db   SQLite, absolute path
//	sqlite://findings.db                    SQLite, path relative to the working directory
//	/var/lib/dpsweep/findings.db            SQLite (any string without a scheme)
//	postgres://user@host:5432/db?sslmode=verify-full   PostgreSQL (also postgresql://)
//	host=db.internal dbname=dpsweep user=dpsweep       PostgreSQL, libpq key=value form
func Open(ctx context.Context, url string) (Store, error) {
	scheme, rest, hasScheme := strings.Cut(url, "://")
	switch {
	case url == "":
		return nil, fmt.Errorf("store: empty store URL: give sqlite:///path/to/findings.db, a file path, or postgres://user@host/database")
	case !hasScheme && isKeyValueDSN(url):
		return OpenPostgres(ctx, url)
	case !hasScheme:
		return OpenSQLite(ctx, url)
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		if rest == "" {
			return nil, fmt.Errorf("store: %q names no file: write sqlite:///absolute/path.db or sqlite://relative/path.db", url)
		}
		if strings.ContainsAny(rest, "?#") {
			return nil, fmt.Errorf("store: %q: SQLite URLs take no query or fragment; the engine sets its own options", url)
		}
		return OpenSQLite(ctx, rest)
	case "postgres", "postgresql":
		return OpenPostgres(ctx, url)
	}
	return nil, fmt.Errorf("store: unsupported store URL scheme %q: use sqlite:///path/to/findings.db, a file path, or postgres://user@host/database", scheme)
}

// isKeyValueDSN reports whether s is a libpq key=value connection string
// ("host=db.internal dbname=dpsweep user=dpsweep"), not a file path.
func isKeyValueDSN(s string) bool {
	for _, f := range strings.Fields(s) {
		k, _, ok := strings.Cut(f, "=")
		switch k {
		case "host", "hostaddr", "dbname", "user", "port", "sslmode", "password", "service":
			if ok {
				return true
			}
		}
	}
	return false
}
