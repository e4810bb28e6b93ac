package store

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// migrationFiles holds one numbered SQL file per schema version and dialect:
// migrations/<dialect>/NNNN_name.sql. A version is applied whole, in one
// transaction with its row in schema_migrations, or not at all.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migration is one schema version of one dialect.
type migration struct {
	version int
	name    string // file name, recorded with the version
	sql     string
}

// migrations returns a dialect's migrations in version order, checking that
// versions run 1, 2, 3... without gaps or repeats.
func migrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("store: migrations for %s: %w", dialect, err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("store: migration file %s/%s: want NNNN_name.sql", dir, e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: migration file %s/%s: %w", dir, e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migrations for %s: version %d where %d was expected (%s)", dialect, m.version, i+1, m.name)
		}
	}
	return ms, nil
}

// pending returns the migrations after version current, or an error when the
// database is newer than this code.
func pending(ms []migration, current int, where string) ([]migration, error) {
	known := len(ms)
	if current > known {
		return nil, fmt.Errorf("store: %s has schema version %d, newer than the %d this build of dpsweep knows: upgrade dpsweep, or point it at another database", where, current, known)
	}
	return ms[current:], nil
}
