package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	_ "modernc.org/sqlite" // registers database/sql driver "sqlite"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

// SQLite is the embedded engine: one file, the pure-Go driver
// modernc.org/sqlite, WAL journal. Writes go through one connection, one
// transaction at a time (BEGIN IMMEDIATE); reads use a pool of read-only
// connections that WAL lets run beside the writer.
type SQLite struct {
	path string
	w    *sql.DB // exactly one connection
	r    *sql.DB // readers
}

var _ Store = (*SQLite)(nil)

// sqliteInsertRows is how many findings one multi-row INSERT carries (11
// parameters each, far below SQLite's 32766).
const sqliteInsertRows = 500

// OpenSQLite opens (creating it when missing) the database file at path and
// brings its schema up to date.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if path == "" {
		return nil, errors.New("store: empty SQLite path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: SQLite path %q: %w", path, err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, err
	}
	// A file: URI, so that any character in the path is escaped, not parsed.
	uri := (&url.URL{Scheme: "file", Path: abs}).String()
	common := "_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-65536)"
	w, err := sql.Open("sqlite", uri+"?"+common+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite %s: %w", abs, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	s := &SQLite{path: abs, w: w}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", uri+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open SQLite %s: %w", abs, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	return s, nil
}

// createPrivate creates the database file readable by its owner only when
// it does not exist yet: findings name accounts and resources.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, os.ErrExist):
		return nil
	case err != nil:
		return fmt.Errorf("store: create SQLite file: %w (does the directory exist and is it writable?)", err)
	}
	return f.Close()
}

// DefaultSQLitePath is where the embedded store lives unless configured:
// $XDG_DATA_HOME/dpsweep/findings.db, else ~/.local/share/dpsweep/findings.db
// (on macOS and Windows, dpsweep/findings.db under os.UserConfigDir, their
// per-user application data directory). The directory is created (0700).
func DefaultSQLitePath() (string, error) {
	var dir string
	if x := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		dir = x
	} else if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("store: default SQLite path: %w", err)
		}
		dir = d
	} else {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("store: default SQLite path: %w (set XDG_DATA_HOME or give a path)", err)
		}
		dir = filepath.Join(home, ".local", "share")
	}
	dir = filepath.Join(dir, "dpsweep")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("store: default SQLite path: %w", err)
	}
	return filepath.Join(dir, "findings.db"), nil
}

func (s *SQLite) migrate(ctx context.Context) error {
	ms, err := migrations("sqlite")
	if err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one migrator at a time
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.path, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.path, err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.path, err)
	}
	todo, err := pending(ms, current, "SQLite database "+s.path)
	if err != nil {
		return err
	}
	for _, m := range todo {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("store: migrate %s to version %d (%s): %w", s.path, m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("store: migrate %s: %w", s.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.path, err)
	}
	return nil
}

// Close releases the store, first letting SQLite refresh its planner
// statistics (bounded work, see analysis_limit).
func (s *SQLite) Close() error {
	_, _ = s.w.Exec(`PRAGMA analysis_limit = 1000; PRAGMA optimize`)
	return errors.Join(s.r.Close(), s.w.Close())
}

func (s *SQLite) RecordFindings(ctx context.Context, sweepID string, findings []*evaluationv1.Finding, assessed []Scope) (int, int, error) {
	rows, err := prepareRows(sweepID, findings)
	if err != nil {
		return 0, 0, err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("store: record findings: %w", err)
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, `INSERT INTO sweeps (id, state, started_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		sweepID, int64(reportingv1.SweepState_SWEEP_STATE_RUNNING), time.Now().UnixMicro()); err != nil {
		return 0, 0, fmt.Errorf("store: record findings: %w", err)
	}
	var state int32
	if err := tx.QueryRowContext(ctx, `SELECT state FROM sweeps WHERE id = ?`, sweepID).Scan(&state); err != nil {
		return 0, 0, fmt.Errorf("store: record findings: %w", err)
	}
	if reportingv1.SweepState(state) != reportingv1.SweepState_SWEEP_STATE_RUNNING {
		return 0, 0, fmt.Errorf("store: record findings for sweep %q (%v): %w", sweepID, reportingv1.SweepState(state), ErrFinalized)
	}

	d := newDelta()
	var full *sql.Stmt
	for len(rows) > 0 {
		n := min(len(rows), sqliteInsertRows)
		var stmt *sql.Stmt
		if n == sqliteInsertRows && full != nil {
			stmt = full
		} else {
			stmt, err = tx.PrepareContext(ctx, sqliteInsertSQL(n))
			if err != nil {
				return 0, 0, fmt.Errorf("store: record findings: %w", err)
			}
			if n == sqliteInsertRows {
				full = stmt
			} else {
				defer stmt.Close()
			}
		}
		args := make([]any, 0, n*11)
		for _, r := range rows[:n] {
			sup := int64(0)
			if r.suppressed {
				sup = 1
			}
			args = append(args, sweepID, r.key[0], r.key[1], r.key[2], r.key[3], r.key[4],
				int64(r.severity), int64(r.status), sup, r.resourceType, r.body)
		}
		if err := insertReturning(ctx, stmt, args, d); err != nil {
			return 0, 0, fmt.Errorf("store: record findings: %w", err)
		}
		rows = rows[n:]
	}
	if full != nil {
		defer full.Close()
	}
	if err := s.applyDelta(ctx, tx, sweepID, d); err != nil {
		return 0, 0, fmt.Errorf("store: record findings: %w", err)
	}
	for _, sc := range sortScopes(assessed) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO assessed_scopes (sweep_id, account_id, region) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			sweepID, sc.Account, sc.Region); err != nil {
			return 0, 0, fmt.Errorf("store: record assessed scopes: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("store: record findings: %w", err)
	}
	return d.inserted, len(findings) - d.inserted, nil
}

func sqliteInsertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO findings (sweep_id, account_id, region, control_id, resource_arn, field_path, severity, status, suppressed, resource_type, body) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(` ON CONFLICT (sweep_id, account_id, region, control_id, resource_arn, field_path) DO NOTHING
		RETURNING account_id, region, status, severity, suppressed`)
	return b.String()
}

// insertReturning runs an INSERT ... RETURNING and adds the rows it really
// inserted to d.
func insertReturning(ctx context.Context, stmt *sql.Stmt, args []any, d *delta) error {
	rs, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var account, region string
		var status, severity int32
		var sup bool
		if err := rs.Scan(&account, &region, &status, &severity, &sup); err != nil {
			return err
		}
		d.add(account, region, status, severity, sup)
	}
	return rs.Err()
}

// applyDelta adds what a call inserted to the sweep's tallies and distinct
// account and region counts.
func (s *SQLite) applyDelta(ctx context.Context, tx *sql.Tx, sweepID string, d *delta) error {
	keys, ns := d.sortedTallies()
	for i, k := range keys {
		sup := int64(0)
		if k.suppressed {
			sup = 1
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sweep_tallies (sweep_id, status, severity, suppressed, n) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (sweep_id, status, severity, suppressed) DO UPDATE SET n = n + excluded.n`,
			sweepID, int64(k.status), int64(k.severity), sup, ns[i]); err != nil {
			return err
		}
	}
	var newAccounts, newRegions int64
	for _, a := range setKeys(d.accounts) {
		res, err := tx.ExecContext(ctx, `INSERT INTO sweep_accounts (sweep_id, account_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, sweepID, a)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		newAccounts += n
	}
	for _, r := range setKeys(d.regions) {
		res, err := tx.ExecContext(ctx, `INSERT INTO sweep_regions (sweep_id, region) VALUES (?, ?) ON CONFLICT DO NOTHING`, sweepID, r)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		newRegions += n
	}
	if newAccounts > 0 || newRegions > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE sweeps SET accounts = accounts + ?, regions = regions + ? WHERE id = ?`,
			newAccounts, newRegions, sweepID); err != nil {
			return err
		}
	}
	return nil
}

func (s *SQLite) FinalizeSweep(ctx context.Context, sweepID string, state reportingv1.SweepState, at time.Time) (*reportingv1.Sweep, error) {
	if err := validFinalState(state); err != nil {
		return nil, err
	}
	if at.IsZero() {
		at = time.Now()
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: finalize sweep: %w", err)
	}
	defer tx.Rollback()
	var cur int32
	switch err := tx.QueryRowContext(ctx, `SELECT state FROM sweeps WHERE id = ?`, sweepID).Scan(&cur); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, notFound(sweepID)
	case err != nil:
		return nil, fmt.Errorf("store: finalize sweep: %w", err)
	}
	switch reportingv1.SweepState(cur) {
	case reportingv1.SweepState_SWEEP_STATE_RUNNING:
		if _, err := tx.ExecContext(ctx, `UPDATE sweeps SET state = ?, finalized_at = ? WHERE id = ?`,
			int64(state), micros(at).UnixMicro(), sweepID); err != nil {
			return nil, fmt.Errorf("store: finalize sweep: %w", err)
		}
	case state:
	default:
		return nil, fmt.Errorf("store: finalize sweep %q as %v: it is %v: %w", sweepID, state, reportingv1.SweepState(cur), ErrFinalized)
	}
	sw, err := sqliteSweeps(ctx, tx, `WHERE id = ?`, []any{sweepID}, 1)
	if err != nil {
		return nil, fmt.Errorf("store: finalize sweep: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: finalize sweep: %w", err)
	}
	return sw[0], nil
}

type sqlQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sqliteSweeps reads sweeps, newest first, with their tallies in one
// statement (one snapshot): where and args select them, limit caps them.
func sqliteSweeps(ctx context.Context, q sqlQueryer, where string, args []any, limit int) ([]*reportingv1.Sweep, error) {
	rs, err := q.QueryContext(ctx, `SELECT s.id, s.state, s.started_at, s.finalized_at, s.accounts, s.regions, t.status, t.severity, t.suppressed, t.n
		FROM (SELECT * FROM sweeps `+where+` ORDER BY started_at DESC, id DESC LIMIT `+strconv.Itoa(limit)+`) s
		LEFT JOIN sweep_tallies t ON t.sweep_id = s.id
		ORDER BY s.started_at DESC, s.id DESC`, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*reportingv1.Sweep
	var cur *sweepBuilder
	for rs.Next() {
		var (
			id                  string
			state               int32
			started             int64
			finalized           sql.NullInt64
			accounts, regions   int64
			status, sev, sup, n sql.NullInt64
		)
		if err := rs.Scan(&id, &state, &started, &finalized, &accounts, &regions, &status, &sev, &sup, &n); err != nil {
			return nil, err
		}
		if cur == nil || cur.sweep.SweepId != id {
			if cur != nil {
				out = append(out, cur.build())
			}
			var fin *time.Time
			if finalized.Valid {
				t := time.UnixMicro(finalized.Int64)
				fin = &t
			}
			cur = newSweep(id, state, time.UnixMicro(started), fin, accounts, regions)
		}
		if n.Valid {
			cur.addTally(int32(status.Int64), int32(sev.Int64), sup.Int64 != 0, n.Int64)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		out = append(out, cur.build())
	}
	return out, nil
}

func (s *SQLite) GetSweep(ctx context.Context, sweepID string) (*reportingv1.Sweep, error) {
	sw, err := sqliteSweeps(ctx, s.r, `WHERE id = ?`, []any{sweepID}, 1)
	if err != nil {
		return nil, fmt.Errorf("store: get sweep: %w", err)
	}
	if len(sw) == 0 {
		return nil, notFound(sweepID)
	}
	return sw[0], nil
}

func (s *SQLite) ListSweeps(ctx context.Context, state reportingv1.SweepState, page Page) ([]*reportingv1.Sweep, string, error) {
	q := sweepsQuery(state)
	after, err := decodeSweepToken(page.Token, q)
	if err != nil {
		return nil, "", err
	}
	size := pageSize(page.Size, defaultSweepsPage, maxSweepsPage)
	var conds []string
	var args []any
	if state != reportingv1.SweepState_SWEEP_STATE_UNSPECIFIED {
		conds, args = append(conds, "state = ?"), append(args, int64(state))
	}
	if after != nil {
		conds, args = append(conds, "(started_at, id) < (?, ?)"), append(args, after.startedMicros, after.id)
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	sw, err := sqliteSweeps(ctx, s.r, where, args, size+1)
	if err != nil {
		return nil, "", fmt.Errorf("store: list sweeps: %w", err)
	}
	next := ""
	if len(sw) > size {
		sw = sw[:size]
		next = encodeSweepToken(q, sw[size-1])
	}
	return sw, next, nil
}

func (s *SQLite) ListFindings(ctx context.Context, sweepID string, f Filter, page Page) ([]*evaluationv1.Finding, string, int64, error) {
	return listFindings(ctx, s, sweepID, f, page)
}

func (s *SQLite) Findings(ctx context.Context, sweepID string, f Filter) iter.Seq2[*evaluationv1.Finding, error] {
	return streamFindings(ctx, s, sweepID, f)
}

func (s *SQLite) Diff(ctx context.Context, base, sweepID string, kinds []reportingv1.DiffKind, f Filter, page Page) ([]*reportingv1.FindingChange, string, *reportingv1.DiffCounts, error) {
	return diff(ctx, s, base, sweepID, kinds, f, page)
}

func (s *SQLite) Assessed(ctx context.Context, sweepID string) ([]Scope, error) {
	if err := s.sweepExists(ctx, sweepID); err != nil {
		return nil, err
	}
	rs, err := s.r.QueryContext(ctx, `SELECT account_id, region FROM assessed_scopes WHERE sweep_id = ? ORDER BY account_id, region`, sweepID)
	if err != nil {
		return nil, fmt.Errorf("store: assessed: %w", err)
	}
	defer rs.Close()
	var out []Scope
	for rs.Next() {
		var sc Scope
		if err := rs.Scan(&sc.Account, &sc.Region); err != nil {
			return nil, fmt.Errorf("store: assessed: %w", err)
		}
		out = append(out, sc)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: assessed: %w", err)
	}
	return out, nil
}

func (s *SQLite) sweepExists(ctx context.Context, sweepID string) error {
	var one int
	switch err := s.r.QueryRowContext(ctx, `SELECT 1 FROM sweeps WHERE id = ?`, sweepID).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return notFound(sweepID)
	case err != nil:
		return fmt.Errorf("store: sweep %q: %w", sweepID, err)
	}
	return nil
}

func (s *SQLite) findingsAfter(ctx context.Context, sweepID string, f filter, after *findingKey, limit int) ([]*evaluationv1.Finding, error) {
	q := &sqlBuilder{}
	q.w("SELECT body FROM findings WHERE ")
	q.where("", sweepID, f, after)
	q.w(orderByKey, " LIMIT ", q.arg(int64(limit)))
	rs, err := s.r.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list findings: %w", err)
	}
	defer rs.Close()
	out := make([]*evaluationv1.Finding, 0, min(limit, 256))
	for rs.Next() {
		var body []byte
		if err := rs.Scan(&body); err != nil {
			return nil, fmt.Errorf("store: list findings: %w", err)
		}
		fd := &evaluationv1.Finding{}
		if err := proto.Unmarshal(body, fd); err != nil {
			return nil, fmt.Errorf("store: list findings: stored finding: %w", err)
		}
		out = append(out, fd)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: list findings: %w", err)
	}
	return out, nil
}

func (s *SQLite) countFindings(ctx context.Context, sweepID string, f filter) (int64, error) {
	q := &sqlBuilder{}
	q.w("SELECT COUNT(*) FROM findings WHERE ")
	q.where("", sweepID, f, nil)
	var n int64
	if err := s.r.QueryRowContext(ctx, q.String(), q.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count findings: %w", err)
	}
	return n, nil
}

func (s *SQLite) countCommon(ctx context.Context, a, b string, f filter) (int64, error) {
	q := &sqlBuilder{}
	q.w(`SELECT COUNT(*) FROM findings a JOIN findings b ON b.account_id = a.account_id AND b.region = a.region
		AND b.control_id = a.control_id AND b.resource_arn = a.resource_arn AND b.field_path = a.field_path WHERE `)
	q.where("a", a, f, nil)
	q.w(" AND ")
	q.where("b", b, f, nil)
	var n int64
	if err := s.r.QueryRowContext(ctx, q.String(), q.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: diff counts: %w", err)
	}
	return n, nil
}
