// Command reporting compares the findings store's ListFindings on a
// one-million-finding sweep with what a user without the store would run for
// the same question over the same findings: jq over the sweep's JSON lines
// export, and the sqlite3 command line over a plain table without indexes.
// Each side answers with the page of 100 findings and the total that match.
// bench/reporting/run.sh runs it after the store's go test benchmarks; see
// BENCHMARKS.md for results.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"iter"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	"github.com/dpsweep/dpsweep/services/reporting/export"
	"github.com/dpsweep/dpsweep/services/reporting/store"
	"github.com/dpsweep/dpsweep/services/reporting/store/storetest"
)

const sweepID = "sweep-baseline"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/reporting:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "dpsweep-bench-reporting"), "where the store, the export and the plain table are kept between runs")
	n := flag.Int("findings", 1_000_000, "findings in the sweep")
	pg := flag.String("postgres", "", "DSN of a PostgreSQL database to measure the PostgreSQL engine in too (schema baseline_reporting_*)")
	jq := flag.String("jq", "jq", "jq binary")
	sqlite3 := flag.String("sqlite3", "sqlite3", "sqlite3 binary")
	runs := flag.Int("runs", 3, "runs of each command-line query (the median is kept)")
	flag.Parse()
	ctx := context.Background()
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	name := fmt.Sprintf("%d-v%d%s", *n, storetest.LargeVersion, schemaHash())

	// Files of other versions (schema, generator) of this size go.
	old, _ := filepath.Glob(filepath.Join(*dir, fmt.Sprintf("*-%d-v*", *n)))
	for _, o := range old {
		if !strings.Contains(filepath.Base(o), "-"+name+".") {
			os.Remove(o)
		}
	}
	sq, err := sqliteStore(ctx, filepath.Join(*dir, "store-"+name+".db"), *n)
	if err != nil {
		return err
	}
	defer sq.Close()
	jsonl := filepath.Join(*dir, "findings-"+name+".jsonl")
	if err := exportJSONL(ctx, sq, jsonl); err != nil {
		return err
	}
	naive := filepath.Join(*dir, "plain-"+name+".db")
	if err := plainTable(ctx, sq, naive); err != nil {
		return err
	}
	stores := []struct {
		name string
		s    store.Store
	}{{"sqlite", sq}}
	if *pg != "" {
		p, err := postgresStore(ctx, *pg, name, *n)
		if err != nil {
			return err
		}
		defer p.Close()
		stores = append(stores, struct {
			name string
			s    store.Store
		}{"postgres", p})
	}

	fmt.Printf("%d findings; JSON lines export %s (%s); plain table %s\n", *n, jsonl, size(jsonl), naive)
	fmt.Printf("store: median of 9 ListFindings calls (page of 100 and the total); jq %s, sqlite3 %s: median of %d runs, process start included\n\n",
		version(*jq, "--version"), version(*sqlite3, "--version"), *runs)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "query\tpage\ttotal"
	for _, st := range stores {
		head += "\t" + st.name + " store"
	}
	head += "\tjq\tsqlite3, no index"
	for _, st := range stores {
		head += "\tjq / " + st.name + "\tsqlite3 / " + st.name
	}
	fmt.Fprintln(tw, head+"\t")
	for _, q := range queries {
		for _, deep := range []bool{false, true} {
			var storeTimes []time.Duration
			var total, offset int64
			for _, st := range stores {
				d, tot, off, err := measureStore(ctx, st.s, q.filter, deep)
				if err != nil {
					return fmt.Errorf("%s %s: %w", st.name, q.name, err)
				}
				storeTimes, total, offset = append(storeTimes, d), tot, off
			}
			jqTime, jqTotal, err := median(*runs, func() (int64, error) { return runJQ(*jq, jsonl, q.jq, offset) })
			if err != nil {
				return fmt.Errorf("jq %s: %w", q.name, err)
			}
			sqTime, sqTotal, err := median(*runs, func() (int64, error) { return runSQLite3(*sqlite3, naive, q.sql, offset) })
			if err != nil {
				return fmt.Errorf("sqlite3 %s: %w", q.name, err)
			}
			if jqTotal != total || sqTotal != total {
				return fmt.Errorf("%s: totals differ: store %d, jq %d, sqlite3 %d", q.name, total, jqTotal, sqTotal)
			}
			page := "first"
			if deep {
				page = fmt.Sprintf("at %d", offset)
			}
			row := fmt.Sprintf("%s\t%s\t%d", q.name, page, total)
			for _, d := range storeTimes {
				row += "\t" + ms(d)
			}
			row += "\t" + ms(jqTime) + "\t" + ms(sqTime)
			for _, d := range storeTimes {
				row += fmt.Sprintf("\t%.0fx\t%.0fx", float64(jqTime)/float64(d), float64(sqTime)/float64(d))
			}
			fmt.Fprintln(tw, row+"\t")
		}
	}
	return tw.Flush()
}

// schemaHash is a short hash of the store's migrations in this source tree
// (run from the repository's root), so that stores kept between runs are
// rebuilt when the schema changes; "" elsewhere.
func schemaHash() string {
	files, _ := filepath.Glob("services/reporting/store/migrations/*/*.sql")
	if len(files) == 0 {
		return ""
	}
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return ""
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return "-" + hex.EncodeToString(h.Sum(nil))[:8]
}

// A query: the store's filter, and the same question for jq and SQL.
type query struct {
	name   string
	filter store.Filter
	jq     string // select condition
	sql    string // WHERE condition
}

var queries = []query{
	{"status FAIL, severity HIGH", store.Filter{
		Statuses:   []evaluationv1.FindingStatus{evaluationv1.FindingStatus_FINDING_STATUS_FAIL},
		Severities: []evaluationv1.Severity{evaluationv1.Severity_SEVERITY_HIGH},
	}, `.status == "FINDING_STATUS_FAIL" and .severity == "SEVERITY_HIGH" and (.suppressed | not)`,
		`status = 'FINDING_STATUS_FAIL' AND severity = 'SEVERITY_HIGH' AND suppressed = 0`},
	{"one account", store.Filter{AccountIDs: []string{storetest.LargeAccountID(1234)}},
		`.account_id == "` + storetest.LargeAccountID(1234) + `" and (.suppressed | not)`,
		`account_id = '` + storetest.LargeAccountID(1234) + `' AND suppressed = 0`},
	{"one control in one region", store.Filter{ControlIDs: []string{"DPS-TLS-001"}, Regions: []string{"eu-west-1"}},
		`.control_id == "DPS-TLS-001" and .region == "eu-west-1" and (.suppressed | not)`,
		`control_id = 'DPS-TLS-001' AND region = 'eu-west-1' AND suppressed = 0`},
}

// measureStore times ListFindings for the first page, or for the page in
// the middle of the results reached through a token (found first, in pages
// of up to 5,000), and returns the total and how many findings come before
// the page.
func measureStore(ctx context.Context, s store.Store, f store.Filter, deep bool) (time.Duration, int64, int64, error) {
	_, _, total, err := s.ListFindings(ctx, sweepID, f, store.Page{Size: 1})
	if err != nil {
		return 0, 0, 0, err
	}
	token, before := "", int64(0)
	if deep {
		for before < total/2 {
			fs, next, _, err := s.ListFindings(ctx, sweepID, f, store.Page{Size: int(min(5000, total/2-before)), Token: token})
			if err != nil {
				return 0, 0, 0, err
			}
			before += int64(len(fs))
			token = next
		}
	}
	d, _, err := median(9, func() (int64, error) {
		fs, _, n, err := s.ListFindings(ctx, sweepID, f, store.Page{Size: 100, Token: token})
		if err == nil && len(fs) != int(min(100, n-before)) {
			err = fmt.Errorf("page of %d", len(fs))
		}
		return n, err
	})
	return d, total, before, err
}

// median runs f runs times (after one run to warm caches) and returns the
// median duration and f's last result.
func median(runs int, f func() (int64, error)) (time.Duration, int64, error) {
	if _, err := f(); err != nil {
		return 0, 0, err
	}
	var ds []time.Duration
	var v int64
	for range runs {
		t0 := time.Now()
		var err error
		if v, err = f(); err != nil {
			return 0, 0, err
		}
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	return ds[len(ds)/2], v, nil
}

// runJQ answers with jq over the export: skip the header line, keep the
// matches (the export is in the store's order already, so no sort), print
// the total and the page.
func runJQ(jq, file, cond string, offset int64) (int64, error) {
	prog := fmt.Sprintf(`input as $header | [inputs | select(%s)] | length, .[%d:%d]`, cond, offset, offset+100)
	out, err := exec.Command(jq, "-cn", prog, file).Output()
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, stderr(err))
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strconv.ParseInt(first, 10, 64)
}

// runSQLite3 answers with the sqlite3 command line: a count and a page by
// OFFSET, as one would write them for a table without indexes.
func runSQLite3(sqlite3, db, cond string, offset int64) (int64, error) {
	q := fmt.Sprintf(`SELECT COUNT(*) FROM findings WHERE %[1]s;
SELECT body FROM findings WHERE %[1]s ORDER BY account_id, region, control_id, resource_arn, field_path LIMIT 100 OFFSET %[2]d;`, cond, offset)
	out, err := exec.Command(sqlite3, "-readonly", db, q).Output()
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, stderr(err))
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strconv.ParseInt(first, 10, 64)
}

func stderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

// fill records the sweep as the scan activities would, a few accounts'
// findings per call, and finalizes it.
func fill(ctx context.Context, s store.Store, n int) error {
	l := storetest.Large{SweepID: sweepID, Findings: n}
	t0 := time.Now()
	var batch []*evaluationv1.Finding
	var scopes []store.Scope
	for i := range storetest.LargeAccounts {
		fs, sc := l.Account(i)
		batch, scopes = append(batch, fs...), append(scopes, sc...)
		if len(batch) >= 1000 || i == storetest.LargeAccounts-1 {
			if _, _, err := s.RecordFindings(ctx, sweepID, batch, scopes); err != nil {
				return err
			}
			batch, scopes = batch[:0], scopes[:0]
		}
	}
	if _, err := s.FinalizeSweep(ctx, sweepID, reportingv1.SweepState_SWEEP_STATE_COMPLETED, time.Time{}); err != nil {
		return err
	}
	el := time.Since(t0)
	fmt.Fprintf(os.Stderr, "recorded %d findings in %v (%.0f findings/s)\n", n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	return nil
}

func filled(ctx context.Context, s store.Store, n int) bool {
	sw, err := s.GetSweep(ctx, sweepID)
	return err == nil && sw.GetState() == reportingv1.SweepState_SWEEP_STATE_COMPLETED && sw.GetCounts().GetFindings() == int64(n)
}

// sqliteStore opens the SQLite store at path, building it when missing
// (under another name, renamed when complete).
func sqliteStore(ctx context.Context, path string, n int) (store.Store, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "building %s (once)\n", path)
		tmp := path + ".building"
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(tmp + suffix)
		}
		s, err := store.OpenSQLite(ctx, tmp)
		if err != nil {
			return nil, err
		}
		if err := fill(ctx, s, n); err != nil {
			s.Close()
			return nil, err
		}
		if err := s.Close(); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, err
		}
	}
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	if !filled(ctx, s, n) {
		s.Close()
		return nil, fmt.Errorf("%s does not hold the complete sweep: delete it and run again", path)
	}
	return s, nil
}

// postgresStore opens the store in schema baseline_reporting_<name> of the
// database at dsn, filling it when it is not complete, and drops other
// baseline_reporting_ schemas.
func postgresStore(ctx context.Context, dsn, name string, n int) (store.Store, error) {
	schema := "baseline_reporting_" + strings.ReplaceAll(name, "-", "_")
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'baseline\_reporting\_%'`)
	if err != nil {
		return nil, err
	}
	schemas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, old := range schemas {
		if old != schema {
			if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{old}.Sanitize()+" CASCADE"); err != nil {
				return nil, err
			}
		}
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return nil, err
	}
	sdsn, err := withSearchPath(dsn, schema)
	if err != nil {
		return nil, err
	}
	s, err := store.OpenPostgres(ctx, sdsn)
	if err != nil {
		return nil, err
	}
	if filled(ctx, s, n) {
		return s, nil
	}
	s.Close()
	fmt.Fprintf(os.Stderr, "building schema %s (once)\n", schema)
	if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE; CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return nil, err
	}
	if s, err = store.OpenPostgres(ctx, sdsn); err != nil {
		return nil, err
	}
	if err := fill(ctx, s, n); err != nil {
		s.Close()
		return nil, err
	}
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) "+pgx.Identifier{schema, "findings"}.Sanitize()); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// withSearchPath returns dsn (a URL or key=value pairs) with search_path set.
func withSearchPath(dsn, schema string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// exportJSONL writes the sweep as dpsweep's JSON lines export (a header
// line, then one finding a line in the store's order) when missing.
func exportJSONL(ctx context.Context, s store.Store, path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	sw, err := s.GetSweep(ctx, sweepID)
	if err != nil {
		return err
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	in := &export.Input{
		Sweep:       sw,
		GeneratedAt: time.Now(),
		Version:     "bench",
		Findings: func(ctx context.Context) iter.Seq2[*evaluationv1.Finding, error] {
			return s.Findings(ctx, sweepID, store.Filter{IncludeSuppressed: true})
		},
	}
	if _, err := export.NewJSONExporter().Export(ctx, in, w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// plainTable writes the findings into a table without any index, as one
// would load an export to query it with SQL: the filtered columns as text
// (the enum names of the export) and each finding's JSON line.
func plainTable(ctx context.Context, s store.Store, path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	tmp := path + ".tmp"
	os.Remove(tmp)
	db, err := sql.Open("sqlite", tmp)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE findings (account_id TEXT, region TEXT, control_id TEXT, resource_arn TEXT,
		field_path TEXT, severity TEXT, status TEXT, suppressed INTEGER, body TEXT)`); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	mo := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
	for f, err := range s.Findings(ctx, sweepID, store.Filter{IncludeSuppressed: true}) {
		if err != nil {
			return err
		}
		body, err := mo.Marshal(f)
		if err != nil {
			return err
		}
		sup := 0
		if f.GetSuppressed() {
			sup = 1
		}
		if _, err := ins.ExecContext(ctx, f.GetAccountId(), f.GetRegion(), f.GetControlId(), f.GetResourceArn(), f.GetFieldPath(),
			f.GetSeverity().String(), f.GetStatus().String(), sup, string(body)); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func size(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.0f MB", float64(fi.Size())/1e6)
}

func version(bin, flag string) string {
	out, err := exec.Command(bin, flag).Output()
	if err != nil {
		return "(version unknown)"
	}
	v, _, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	return v
}
