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
	"sync"
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

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // write statements prepared on w, by text
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
	s := &SQLite{path: abs, w: w, stmts: map[string]*sql.Stmt{}}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.prepareWrites(ctx); err != nil {
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
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.mu.Unlock()
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

	if err := s.exec(ctx, tx, sqlInsertSweep, sweepID, int64(reportingv1.SweepState_SWEEP_STATE_RUNNING), time.Now().UnixMicro()); err != nil {
		return 0, 0, fmt.Errorf("store: record findings: %w", err)
	}
	var state int32
	st, err := s.stmt(ctx, tx, sqlSweepState)
	if err == nil {
		err = st.QueryRowContext(ctx, sweepID).Scan(&state)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: record findings: %w", err)
	}
	if reportingv1.SweepState(state) != reportingv1.SweepState_SWEEP_STATE_RUNNING {
		return 0, 0, fmt.Errorf("store: record findings for sweep %q (%v): %w", sweepID, reportingv1.SweepState(state), ErrFinalized)
	}

	d := newDelta()
	for len(rows) > 0 {
		n := chunk(len(rows), sqliteInsertChunks)
		args := make([]any, 0, n*11)
		for _, r := range rows[:n] {
			sup := int64(0)
			if r.suppressed {
				sup = 1
			}
			args = append(args, sweepID, r.key[0], r.key[1], r.key[2], r.key[3], r.key[4],
				int64(r.severity), int64(r.status), sup, r.resourceType, r.body)
		}
		st, err := s.stmt(ctx, tx, sqliteInsertSQL(n))
		if err == nil {
			err = insertReturning(ctx, st, args, d)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("store: record findings: %w", err)
		}
		rows = rows[n:]
	}
	if err := s.applyDelta(ctx, tx, sweepID, d); err != nil {
		return 0, 0, fmt.Errorf("store: record findings: %w", err)
	}
	for _, sc := range sortScopes(assessed) {
		if err := s.exec(ctx, tx, sqlInsertScope, sweepID, sc.Account, sc.Region); err != nil {
			return 0, 0, fmt.Errorf("store: record assessed scopes: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("store: record findings: %w", err)
	}
	return d.inserted, len(findings) - d.inserted, nil
}

// Multi-row statements come in a few fixed sizes, largest first, so that
// each is parsed once per store and then reused (a 500-row INSERT takes
// SQLite longer to parse than to run on a small batch).
var (
	sqliteInsertChunks = []int{sqliteInsertRows, 100, 20, 1}
	sqliteTallyChunks  = []int{100, 20, 1}
)

// chunk returns the largest size in sizes (descending, ending with 1) that
// is at most n.
func chunk(n int, sizes []int) int {
	for _, c := range sizes {
		if c <= n {
			return c
		}
	}
	return 1
}

// The write statements, prepared once on the writer connection at open.
const (
	sqlInsertSweep   = `INSERT INTO sweeps (id, state, started_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`
	sqlSweepState    = `SELECT state FROM sweeps WHERE id = ?`
	sqlInsertScope   = `INSERT INTO assessed_scopes (sweep_id, account_id, region) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	sqlAddTally      = `INSERT INTO sweep_tallies (sweep_id, status, severity, suppressed, n) VALUES (?, ?, ?, ?, ?) ON CONFLICT (sweep_id, status, severity, suppressed) DO UPDATE SET n = n + excluded.n`
	sqlInsertAccount = `INSERT INTO sweep_accounts (sweep_id, account_id) VALUES (?, ?) ON CONFLICT DO NOTHING`
	sqlInsertRegion  = `INSERT INTO sweep_regions (sweep_id, region) VALUES (?, ?) ON CONFLICT DO NOTHING`
	sqlAddSweepScope = `UPDATE sweeps SET accounts = accounts + ?, regions = regions + ? WHERE id = ?`
)

// prepareWrites prepares every write statement on the writer connection
// (before any transaction holds it).
func (s *SQLite) prepareWrites(ctx context.Context) error {
	queries := []string{sqlInsertSweep, sqlSweepState, sqlInsertScope, sqlAddTally, sqlInsertAccount, sqlInsertRegion, sqlAddSweepScope}
	for _, n := range sqliteInsertChunks {
		queries = append(queries, sqliteInsertSQL(n))
	}
	for _, n := range sqliteTallyChunks {
		queries = append(queries, sqliteScopeTallySQL(n))
	}
	for _, q := range queries {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: prepare %.60s...: %w", q, err)
		}
		s.stmts[q] = st
	}
	return nil
}

// stmt returns the prepared write statement query within tx.
func (s *SQLite) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	st, ok := s.stmts[query]
	s.mu.Unlock()
	if !ok { // closed, or a statement not prepared at open
		return tx.PrepareContext(ctx, query)
	}
	return tx.StmtContext(ctx, st), nil
}

// exec runs a prepared write statement in tx.
func (s *SQLite) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	_, err := s.execN(ctx, tx, query, args...)
	return err
}

// execN runs a prepared write statement in tx and returns the rows it
// changed.
func (s *SQLite) execN(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	st, err := s.stmt(ctx, tx, query)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
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
		RETURNING account_id, region, control_id, status, severity, suppressed`)
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
		var account, region, control string
		var status, severity int32
		var sup bool
		if err := rs.Scan(&account, &region, &control, &status, &severity, &sup); err != nil {
			return err
		}
		d.add(account, region, control, status, severity, sup)
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
		if err := s.exec(ctx, tx, sqlAddTally, sweepID, int64(k.status), int64(k.severity), sup, ns[i]); err != nil {
			return err
		}
	}
	if err := s.scopeTallies(ctx, tx, sweepID, d); err != nil {
		return err
	}
	var newAccounts, newRegions int64
	for _, a := range setKeys(d.accounts) {
		n, err := s.execN(ctx, tx, sqlInsertAccount, sweepID, a)
		if err != nil {
			return err
		}
		newAccounts += n
	}
	for _, r := range setKeys(d.regions) {
		n, err := s.execN(ctx, tx, sqlInsertRegion, sweepID, r)
		if err != nil {
			return err
		}
		newRegions += n
	}
	if newAccounts > 0 || newRegions > 0 {
		if err := s.exec(ctx, tx, sqlAddSweepScope, newAccounts, newRegions, sweepID); err != nil {
			return err
		}
	}
	return nil
}

// scopeTallies adds a call's counts to sweep_scope_tallies, many buckets per
// statement.
func (s *SQLite) scopeTallies(ctx context.Context, tx *sql.Tx, sweepID string, d *delta) error {
	keys, ns := d.sortedScopeTallies()
	for len(keys) > 0 {
		n := chunk(len(keys), sqliteTallyChunks)
		args := make([]any, 0, 7*n)
		for i, k := range keys[:n] {
			sup := int64(0)
			if k.suppressed {
				sup = 1
			}
			args = append(args, sweepID, k.region, k.control, int64(k.status), int64(k.severity), sup, ns[i])
		}
		if err := s.exec(ctx, tx, sqliteScopeTallySQL(n), args...); err != nil {
			return err
		}
		keys, ns = keys[n:], ns[n:]
	}
	return nil
}

func sqliteScopeTallySQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO sweep_scope_tallies (sweep_id, region, control_id, status, severity, suppressed, n) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(` ON CONFLICT (sweep_id, region, control_id, status, severity, suppressed) DO UPDATE SET n = n + excluded.n`)
	return b.String()
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
	// The page's keys first, from the index alone (it holds every column
	// the filter and the order need), then the bodies of those rows only:
	// SQLite would otherwise read the table row of every index entry it
	// tries, matching or not.
	q.w("SELECT f.body FROM (SELECT account_id, region, control_id, resource_arn, field_path FROM findings", sqliteIndexFor(f), " WHERE ")
	q.where("", sweepID, f, after)
	q.w(orderBy(f), " LIMIT ", q.arg(int64(limit)), ") AS k")
	q.w(" JOIN findings AS f ON f.sweep_id = ", q.arg(sweepID), " AND f.account_id = k.account_id AND f.region = k.region",
		" AND f.control_id = k.control_id AND f.resource_arn = k.resource_arn AND f.field_path = k.field_path")
	q.w(" ORDER BY k.account_id, k.region, k.control_id, k.resource_arn, k.field_path")
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

// sqliteIndexFor names the index a listing of findings matching f reads,
// when the planner's statistics cannot tell: they hold averages (sampled,
// see analysis_limit, and missing until the store is first closed), while
// the filters that matter are the sparse ones. One control, or else one
// status, read through the index leading with it: in key order, the filter
// decided inside the index, only the page's rows read from the table, and
// never more entries than that control's or status's findings. A filter
// naming accounts, or none of these, is left to the planner (the table's
// key leads with the account).
func sqliteIndexFor(f filter) string {
	switch {
	case len(f.accounts) > 0:
		return ""
	case len(f.controls) == 1:
		return " INDEXED BY findings_by_control"
	case len(f.statuses) == 1:
		return " INDEXED BY findings_by_status"
	}
	return ""
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

func (s *SQLite) countTallies(ctx context.Context, sweepID string, f filter) (int64, error) {
	q := &sqlBuilder{}
	q.w("SELECT COALESCE(SUM(n), 0) FROM sweep_scope_tallies WHERE ")
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
