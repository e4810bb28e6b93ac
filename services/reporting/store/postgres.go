package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

// Postgres is the engine for teams: PostgreSQL through a pgx connection
// pool. Writers of one sweep take turns on the sweep's row (SELECT ... FOR
// UPDATE), which also orders them against FinalizeSweep; writers of
// different sweeps run in parallel.
type Postgres struct {
	pool  *pgxpool.Pool
	where string // database and schema, for messages (never the password)
}

var _ Store = (*Postgres)(nil)

// pgInsertRows is how many findings one INSERT ... SELECT FROM unnest(...)
// carries: one statement, eleven array parameters.
const pgInsertRows = 5000

// migrationLock is the first key of the advisory lock that serializes
// migrations of one schema (the second is a hash of the schema's name).
const migrationLock = 0x64707377 // "dpsw"

// OpenPostgres connects to the database at dsn (a postgres:// URL or a
// key=value string, as libpq takes) and brings its schema up to date. Tables
// go to the first schema of the connection's search_path.
func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: PostgreSQL DSN: %w (want postgres://user[:password]@host[:port]/database[?sslmode=...])", err)
	}
	where := fmt.Sprintf("PostgreSQL database %q on %s:%d", cfg.ConnConfig.Database, cfg.ConnConfig.Host, cfg.ConnConfig.Port)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", where, err)
	}
	p := &Postgres{pool: pool, where: where}
	if err := p.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return p, nil
}

func (p *Postgres) migrate(ctx context.Context) error {
	ms, err := migrations("postgres")
	if err != nil {
		return err
	}
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: connect to %s: %w", p.where, err)
	}
	defer tx.Rollback(ctx)
	var schema *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("store: migrate %s: %w", p.where, err)
	}
	if schema == nil {
		return fmt.Errorf("store: migrate %s: no schema in the search_path exists; create one or set search_path in the DSN", p.where)
	}
	p.where += fmt.Sprintf(", schema %q", *schema)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, int32(migrationLock)); err != nil {
		return fmt.Errorf("store: migrate %s: %w", p.where, err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("store: migrate %s: %w", p.where, err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("store: migrate %s: %w", p.where, err)
	}
	todo, err := pending(ms, current, p.where)
	if err != nil {
		return err
	}
	for _, m := range todo {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("store: migrate %s to version %d (%s): %w", p.where, m.version, m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return fmt.Errorf("store: migrate %s: %w", p.where, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store: migrate %s: %w", p.where, err)
	}
	return nil
}

// Close releases the pool.
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}

func (p *Postgres) RecordFindings(ctx context.Context, sweepID string, findings []*evaluationv1.Finding, assessed []Scope) (int, int, error) {
	rows, err := prepareRows(sweepID, findings)
	if err != nil {
		return 0, 0, err
	}
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store: record findings: %w", err)
	}
	defer tx.Rollback(ctx)

	// Statements go in two pipelined batches around the inserts, so a call
	// costs five round trips (begin, sweep, inserts, counts, commit)
	// however many tables it touches.
	var state int16
	lock := &pgx.Batch{}
	lock.Queue(`INSERT INTO sweeps (id, state, started_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		sweepID, int16(reportingv1.SweepState_SWEEP_STATE_RUNNING), micros(time.Now()))
	lock.Queue(`SELECT state FROM sweeps WHERE id = $1 FOR UPDATE`, sweepID).QueryRow(func(r pgx.Row) error { return r.Scan(&state) })
	if err := tx.SendBatch(ctx, lock).Close(); err != nil {
		return 0, 0, fmt.Errorf("store: record findings: %w", err)
	}
	if reportingv1.SweepState(state) != reportingv1.SweepState_SWEEP_STATE_RUNNING {
		return 0, 0, fmt.Errorf("store: record findings for sweep %q (%v): %w", sweepID, reportingv1.SweepState(state), ErrFinalized)
	}

	d := newDelta()
	for len(rows) > 0 {
		n := min(len(rows), pgInsertRows)
		if err := pgInsert(ctx, tx, sweepID, rows[:n], d); err != nil {
			return 0, 0, fmt.Errorf("store: record findings: %w", err)
		}
		rows = rows[n:]
	}
	counts := &pgx.Batch{}
	pgApplyDelta(counts, sweepID, d)
	if scopes := sortScopes(assessed); len(scopes) > 0 {
		accounts, regions := make([]string, len(scopes)), make([]string, len(scopes))
		for i, sc := range scopes {
			accounts[i], regions[i] = sc.Account, sc.Region
		}
		counts.Queue(`INSERT INTO assessed_scopes (sweep_id, account_id, region)
			SELECT $1, a, r FROM unnest($2::text[], $3::text[]) AS u (a, r) ON CONFLICT DO NOTHING`,
			sweepID, accounts, regions)
	}
	if counts.Len() > 0 {
		if err := tx.SendBatch(ctx, counts).Close(); err != nil {
			return 0, 0, fmt.Errorf("store: record findings: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, fmt.Errorf("store: record findings: %w", err)
	}
	return d.inserted, len(findings) - d.inserted, nil
}

// pgInsert inserts rows with one statement over arrays, skipping keys that
// exist, and adds the rows it really inserted to d.
func pgInsert(ctx context.Context, tx pgx.Tx, sweepID string, rows []row, d *delta) error {
	var (
		n                                 = len(rows)
		accounts, regions, controls, arns = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		fields, types                     = make([]string, n), make([]string, n)
		severities, statuses              = make([]int16, n), make([]int16, n)
		suppressed                        = make([]bool, n)
		bodies                            = make([][]byte, n)
	)
	for i, r := range rows {
		accounts[i], regions[i], controls[i], arns[i], fields[i] = r.key[0], r.key[1], r.key[2], r.key[3], r.key[4]
		severities[i], statuses[i], suppressed[i] = int16(r.severity), int16(r.status), r.suppressed
		types[i], bodies[i] = r.resourceType, r.body
	}
	rs, err := tx.Query(ctx, `INSERT INTO findings (sweep_id, account_id, region, control_id, resource_arn, field_path, severity, status, suppressed, resource_type, body)
		SELECT $1, u.* FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int2[], $8::int2[], $9::bool[], $10::text[], $11::bytea[]) AS u
		ON CONFLICT (sweep_id, account_id, region, control_id, resource_arn, field_path) DO NOTHING
		RETURNING account_id, region, control_id, status, severity, suppressed`,
		sweepID, accounts, regions, controls, arns, fields, severities, statuses, suppressed, types, bodies)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var account, region, control string
		var status, severity int16
		var sup bool
		if err := rs.Scan(&account, &region, &control, &status, &severity, &sup); err != nil {
			return err
		}
		d.add(account, region, control, int32(status), int32(severity), sup)
	}
	return rs.Err()
}

// pgApplyDelta queues the statements that add what a call inserted to the
// sweep's tallies and distinct account and region counts.
func pgApplyDelta(b *pgx.Batch, sweepID string, d *delta) {
	if d.inserted == 0 {
		return
	}
	keys, ns := d.sortedTallies()
	statuses, severities, sups := make([]int16, len(keys)), make([]int16, len(keys)), make([]bool, len(keys))
	for i, k := range keys {
		statuses[i], severities[i], sups[i] = int16(k.status), int16(k.severity), k.suppressed
	}
	b.Queue(`INSERT INTO sweep_tallies (sweep_id, status, severity, suppressed, n)
		SELECT $1, * FROM unnest($2::int2[], $3::int2[], $4::bool[], $5::int8[])
		ON CONFLICT (sweep_id, status, severity, suppressed) DO UPDATE SET n = sweep_tallies.n + excluded.n`,
		sweepID, statuses, severities, sups, ns)
	skeys, sns := d.sortedScopeTallies()
	regions, controls := make([]string, len(skeys)), make([]string, len(skeys))
	statuses, severities, sups = make([]int16, len(skeys)), make([]int16, len(skeys)), make([]bool, len(skeys))
	for i, k := range skeys {
		regions[i], controls[i] = k.region, k.control
		statuses[i], severities[i], sups[i] = int16(k.status), int16(k.severity), k.suppressed
	}
	b.Queue(`INSERT INTO sweep_scope_tallies (sweep_id, region, control_id, status, severity, suppressed, n)
		SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int2[], $5::int2[], $6::bool[], $7::int8[])
		ON CONFLICT (sweep_id, region, control_id, status, severity, suppressed) DO UPDATE SET n = sweep_scope_tallies.n + excluded.n`,
		sweepID, regions, controls, statuses, severities, sups, sns)
	b.Queue(`WITH a AS (INSERT INTO sweep_accounts (sweep_id, account_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING 1),
		r AS (INSERT INTO sweep_regions (sweep_id, region) SELECT $1, unnest($3::text[]) ON CONFLICT DO NOTHING RETURNING 1),
		n AS (SELECT (SELECT count(*) FROM a) AS accounts, (SELECT count(*) FROM r) AS regions)
		UPDATE sweeps SET accounts = sweeps.accounts + n.accounts, regions = sweeps.regions + n.regions
		FROM n WHERE sweeps.id = $1 AND (n.accounts > 0 OR n.regions > 0)`,
		sweepID, setKeys(d.accounts), setKeys(d.regions))
}

func (p *Postgres) FinalizeSweep(ctx context.Context, sweepID string, state reportingv1.SweepState, at time.Time) (*reportingv1.Sweep, error) {
	if err := validFinalState(state); err != nil {
		return nil, err
	}
	if at.IsZero() {
		at = time.Now()
	}
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: finalize sweep: %w", err)
	}
	defer tx.Rollback(ctx)
	var cur int16
	switch err := tx.QueryRow(ctx, `SELECT state FROM sweeps WHERE id = $1 FOR UPDATE`, sweepID).Scan(&cur); {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, notFound(sweepID)
	case err != nil:
		return nil, fmt.Errorf("store: finalize sweep: %w", err)
	}
	switch reportingv1.SweepState(cur) {
	case reportingv1.SweepState_SWEEP_STATE_RUNNING:
		if _, err := tx.Exec(ctx, `UPDATE sweeps SET state = $2, finalized_at = $3 WHERE id = $1`,
			sweepID, int16(state), micros(at)); err != nil {
			return nil, fmt.Errorf("store: finalize sweep: %w", err)
		}
	case state:
	default:
		return nil, fmt.Errorf("store: finalize sweep %q as %v: it is %v: %w", sweepID, state, reportingv1.SweepState(cur), ErrFinalized)
	}
	sw, err := pgSweeps(ctx, tx, `WHERE id = $1`, []any{sweepID}, 1)
	if err != nil {
		return nil, fmt.Errorf("store: finalize sweep: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("store: finalize sweep: %w", err)
	}
	return sw[0], nil
}

type pgQueryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pgSweeps reads sweeps, newest first, with their tallies in one statement
// (one snapshot): where and args select them, limit caps them.
func pgSweeps(ctx context.Context, q pgQueryer, where string, args []any, limit int) ([]*reportingv1.Sweep, error) {
	rs, err := q.Query(ctx, fmt.Sprintf(`SELECT s.id, s.state, s.started_at, s.finalized_at, s.accounts, s.regions, t.status, t.severity, t.suppressed, t.n
		FROM (SELECT * FROM sweeps %s ORDER BY started_at DESC, id DESC LIMIT %d) s
		LEFT JOIN sweep_tallies t ON t.sweep_id = s.id
		ORDER BY s.started_at DESC, s.id DESC`, where, limit), args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*reportingv1.Sweep
	var cur *sweepBuilder
	for rs.Next() {
		var (
			id                string
			state             int16
			started           time.Time
			finalized         *time.Time
			accounts, regions int64
			status, sev       *int16
			sup               *bool
			n                 *int64
		)
		if err := rs.Scan(&id, &state, &started, &finalized, &accounts, &regions, &status, &sev, &sup, &n); err != nil {
			return nil, err
		}
		if cur == nil || cur.sweep.SweepId != id {
			if cur != nil {
				out = append(out, cur.build())
			}
			cur = newSweep(id, int32(state), started, finalized, accounts, regions)
		}
		if n != nil {
			cur.addTally(int32(*status), int32(*sev), *sup, *n)
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

func (p *Postgres) GetSweep(ctx context.Context, sweepID string) (*reportingv1.Sweep, error) {
	sw, err := pgSweeps(ctx, p.pool, `WHERE id = $1`, []any{sweepID}, 1)
	if err != nil {
		return nil, fmt.Errorf("store: get sweep: %w", err)
	}
	if len(sw) == 0 {
		return nil, notFound(sweepID)
	}
	return sw[0], nil
}

func (p *Postgres) ListSweeps(ctx context.Context, state reportingv1.SweepState, page Page) ([]*reportingv1.Sweep, string, error) {
	q := sweepsQuery(state)
	after, err := decodeSweepToken(page.Token, q)
	if err != nil {
		return nil, "", err
	}
	size := pageSize(page.Size, defaultSweepsPage, maxSweepsPage)
	b := &sqlBuilder{pg: true}
	b.w("WHERE TRUE")
	if state != reportingv1.SweepState_SWEEP_STATE_UNSPECIFIED {
		b.w(" AND state = ", b.arg(int16(state)))
	}
	if after != nil {
		b.w(" AND (started_at, id) < (", b.arg(time.UnixMicro(after.startedMicros)), ", ", b.arg(after.id), ")")
	}
	sw, err := pgSweeps(ctx, p.pool, b.String(), b.args, size+1)
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

func (p *Postgres) ListFindings(ctx context.Context, sweepID string, f Filter, page Page) ([]*evaluationv1.Finding, string, int64, error) {
	return listFindings(ctx, p, sweepID, f, page)
}

func (p *Postgres) Findings(ctx context.Context, sweepID string, f Filter) iter.Seq2[*evaluationv1.Finding, error] {
	return streamFindings(ctx, p, sweepID, f)
}

func (p *Postgres) Diff(ctx context.Context, base, sweepID string, kinds []reportingv1.DiffKind, f Filter, page Page) ([]*reportingv1.FindingChange, string, *reportingv1.DiffCounts, error) {
	return diff(ctx, p, base, sweepID, kinds, f, page)
}

func (p *Postgres) Assessed(ctx context.Context, sweepID string) ([]Scope, error) {
	if err := p.sweepExists(ctx, sweepID); err != nil {
		return nil, err
	}
	rs, err := p.pool.Query(ctx, `SELECT account_id, region FROM assessed_scopes WHERE sweep_id = $1 ORDER BY account_id, region`, sweepID)
	if err != nil {
		return nil, fmt.Errorf("store: assessed: %w", err)
	}
	out, err := pgx.CollectRows(rs, func(r pgx.CollectableRow) (Scope, error) {
		var sc Scope
		err := r.Scan(&sc.Account, &sc.Region)
		return sc, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: assessed: %w", err)
	}
	return out, nil
}

func (p *Postgres) sweepExists(ctx context.Context, sweepID string) error {
	var one int
	switch err := p.pool.QueryRow(ctx, `SELECT 1 FROM sweeps WHERE id = $1`, sweepID).Scan(&one); {
	case errors.Is(err, pgx.ErrNoRows):
		return notFound(sweepID)
	case err != nil:
		return fmt.Errorf("store: sweep %q: %w", sweepID, err)
	}
	return nil
}

func (p *Postgres) findingsAfter(ctx context.Context, sweepID string, f filter, after *findingKey, limit int) ([]*evaluationv1.Finding, error) {
	q := &sqlBuilder{pg: true}
	q.w("SELECT body FROM findings WHERE ")
	q.where("", sweepID, f, after)
	q.w(orderBy(f), " LIMIT ", q.arg(int64(limit)))
	rs, err := p.pool.Query(ctx, q.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list findings: %w", err)
	}
	defer rs.Close()
	out := make([]*evaluationv1.Finding, 0, min(limit, 256))
	for rs.Next() {
		// RawValues is only valid until Next: unmarshal copies what it keeps.
		fd := &evaluationv1.Finding{}
		if err := proto.Unmarshal(rs.RawValues()[0], fd); err != nil {
			return nil, fmt.Errorf("store: list findings: stored finding: %w", err)
		}
		out = append(out, fd)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("store: list findings: %w", err)
	}
	return out, nil
}

func (p *Postgres) countFindings(ctx context.Context, sweepID string, f filter) (int64, error) {
	q := &sqlBuilder{pg: true}
	q.w("SELECT COUNT(*) FROM findings WHERE ")
	q.where("", sweepID, f, nil)
	var n int64
	if err := p.pool.QueryRow(ctx, q.String(), q.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count findings: %w", err)
	}
	return n, nil
}

func (p *Postgres) countTallies(ctx context.Context, sweepID string, f filter) (int64, error) {
	q := &sqlBuilder{pg: true}
	q.w("SELECT COALESCE(SUM(n), 0)::int8 FROM sweep_scope_tallies WHERE ")
	q.where("", sweepID, f, nil)
	var n int64
	if err := p.pool.QueryRow(ctx, q.String(), q.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count findings: %w", err)
	}
	return n, nil
}

func (p *Postgres) countCommon(ctx context.Context, a, b string, f filter) (int64, error) {
	q := &sqlBuilder{pg: true}
	q.w(`SELECT COUNT(*) FROM findings a JOIN findings b ON b.account_id = a.account_id AND b.region = a.region
		AND b.control_id = a.control_id AND b.resource_arn = a.resource_arn AND b.field_path = a.field_path WHERE `)
	q.where("a", a, f, nil)
	q.w(" AND ")
	q.where("b", b, f, nil)
	var n int64
	if err := p.pool.QueryRow(ctx, q.String(), q.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: diff counts: %w", err)
	}
	return n, nil
}
