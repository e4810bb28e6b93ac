package store_test

// Benchmarks of the findings store at the size of a large organization's
// sweep, on both engines. They build a store of BenchFindings findings once
// per engine and keep it (SQLite: a file under os.TempDir; PostgreSQL: a
// schema of the test database), keyed by the migrations and the generator's
// version, so later runs start at once. Nothing here runs without -bench.
//
//	go test -run '^$' -bench . -benchtime 20x ./store/
//	DPSWEEP_BENCH_FINDINGS=100000 go test -run '^$' -bench ListFindings ./store/

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	"github.com/dpsweep/dpsweep/services/reporting/store"
	"github.com/dpsweep/dpsweep/services/reporting/store/storetest"
)

// benchSweep is the ID of the large sweep.
const benchSweep = "sweep-bench-large"

// benchSize is how many findings the large store holds:
// DPSWEEP_BENCH_FINDINGS, else one million.
func benchSize(b *testing.B) int {
	if s := os.Getenv("DPSWEEP_BENCH_FINDINGS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < storetest.LargeAccounts {
			b.Fatalf("DPSWEEP_BENCH_FINDINGS=%q: want a number of at least %d", s, storetest.LargeAccounts)
		}
		return n
	}
	return 1_000_000
}

// benchKey names a cached store: its size, the generator's version and a
// hash of the dialect's migrations, so any schema change rebuilds it.
func benchKey(b *testing.B, dialect string, n int) string {
	dir := filepath.Join("migrations", dialect)
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	for _, e := range entries {
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", e.Name(), len(body))
		h.Write(body)
	}
	return fmt.Sprintf("%d_v%d_%s", n, storetest.LargeVersion, hex.EncodeToString(h.Sum(nil))[:12])
}

// fillLarge records the large sweep the way the scan activities would, a
// few accounts' findings per call, and finalizes it.
func fillLarge(b *testing.B, s store.Store, n int) {
	ctx := context.Background()
	l := storetest.Large{SweepID: benchSweep, Findings: n}
	start := time.Now()
	var batch []*evaluationv1.Finding
	var scopes []store.Scope
	for i := range storetest.LargeAccounts {
		fs, sc := l.Account(i)
		batch, scopes = append(batch, fs...), append(scopes, sc...)
		if len(batch) >= 1000 || i == storetest.LargeAccounts-1 {
			if _, _, err := s.RecordFindings(ctx, benchSweep, batch, scopes); err != nil {
				b.Fatal(err)
			}
			batch, scopes = batch[:0], scopes[:0]
		}
		if i%200 == 199 {
			b.Logf("filled %d of %d accounts (%.0f findings/s)", i+1, storetest.LargeAccounts,
				float64(l.PerAccount(0)*(i+1))/time.Since(start).Seconds())
		}
	}
	if _, err := s.FinalizeSweep(ctx, benchSweep, reportingv1.SweepState_SWEEP_STATE_COMPLETED, time.Time{}); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.Logf("recorded %d findings in %v: %.0f findings/s", n, el.Round(time.Millisecond), float64(n)/el.Seconds())
}

// filled reports whether s holds the complete large sweep.
func filled(s store.Store, n int) bool {
	sw, err := s.GetSweep(context.Background(), benchSweep)
	return err == nil && sw.GetState() == reportingv1.SweepState_SWEEP_STATE_COMPLETED && sw.GetCounts().GetFindings() == int64(n)
}

var sqliteLarge struct {
	sync.Mutex
	path string
}

// largeSQLite returns the large store on SQLite, building its file when no
// cached one exists. The file is built under another name and renamed when
// complete, so an interrupted build is never taken for a finished one.
func largeSQLite(b *testing.B) store.Store {
	b.Helper()
	n := benchSize(b)
	sqliteLarge.Lock()
	defer sqliteLarge.Unlock()
	dir := filepath.Join(os.TempDir(), "dpsweep-bench")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "findings-"+benchKey(b, "sqlite", n)+".db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		// Files of older keys (schema or generator) of this size go.
		old, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("findings-%d_*.db*", n)))
		for _, o := range old {
			b.Logf("removing %s of an older benchmark store", o)
			os.Remove(o)
		}
		b.Logf("building %s (once; later runs reuse it)", path)
		tmp := path + ".building"
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(tmp + suffix)
		}
		s, err := store.OpenSQLite(context.Background(), tmp)
		if err != nil {
			b.Fatal(err)
		}
		fillLarge(b, s, n)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if _, err := os.Stat(tmp + "-wal"); err == nil {
			b.Fatalf("%s-wal is left after Close", tmp)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
	}
	s, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if !filled(s, n) {
		b.Fatalf("%s does not hold the complete sweep: delete it and run again", path)
	}
	return s
}

var pgLarge sync.Mutex

// largePostgres returns the large store on PostgreSQL in schema
// bench_<key>, filling it when it is not complete; other bench_ schemas
// (older keys) are dropped. It skips without a server.
func largePostgres(b *testing.B) store.Store {
	b.Helper()
	n := benchSize(b)
	base := storetest.PostgresBaseDSN(b)
	pgLarge.Lock()
	defer pgLarge.Unlock()
	ctx := context.Background()
	schema := "bench_" + benchKey(b, "postgres", n)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var schemas []string
	rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench\_%'`)
	if err == nil {
		schemas, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		b.Fatal(err)
	}
	for _, old := range schemas {
		if old != schema {
			b.Logf("dropping schema %s of an older benchmark store", old)
			storetest.DropPostgresSchema(b, base, old)
		}
	}
	dsn := storetest.WithSearchPath(b, base, schema)
	if slices.Contains(schemas, schema) {
		s, err := store.OpenPostgres(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		if filled(s, n) {
			b.Cleanup(func() { s.Close() })
			return s
		}
		s.Close()
	}
	b.Logf("building schema %s (once; later runs reuse it)", schema)
	dsn = storetest.PostgresSchemaDSN(b, base, schema, false)
	s, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	fillLarge(b, s, n)
	// What autovacuum does within a minute or so of a large sweep: planner
	// statistics and the visibility map, which index-only scans rely on.
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) "+pgx.Identifier{schema, "findings"}.Sanitize()); err != nil {
		b.Fatal(err)
	}
	return s
}

// engines are the stores the benchmarks run against, by name.
var engines = []struct {
	name  string
	large func(b *testing.B) store.Store
	empty func(b *testing.B) store.Store
}{
	{"sqlite", largeSQLite, func(b *testing.B) store.Store {
		s, err := store.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "findings.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}},
	{"postgres", largePostgres, func(b *testing.B) store.Store {
		s, err := store.OpenPostgres(context.Background(), storetest.PostgresDSN(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}},
}

// A query shape of the benchmarks.
type benchQuery struct {
	name string
	f    store.Filter
}

// benchQueries are the listings a user of a large sweep's report makes.
var benchQueries = []benchQuery{
	{"fail-high", store.Filter{
		Statuses:   []evaluationv1.FindingStatus{evaluationv1.FindingStatus_FINDING_STATUS_FAIL},
		Severities: []evaluationv1.Severity{evaluationv1.Severity_SEVERITY_HIGH},
	}},
	{"account", store.Filter{AccountIDs: []string{storetest.LargeAccountID(1234)}}},
	{"control-region", store.Filter{ControlIDs: []string{"DPS-TLS-001"}, Regions: []string{"eu-west-1"}}},
	// Sparse: about one finding in 2,000 matches.
	{"control-region-na", store.Filter{ControlIDs: []string{"DPS-TLS-001"}, Regions: []string{"eu-west-1"},
		Statuses: []evaluationv1.FindingStatus{evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED}}},
	{"unfiltered", store.Filter{}},
	{"region-fail", store.Filter{
		Regions:  []string{"us-east-1"},
		Statuses: []evaluationv1.FindingStatus{evaluationv1.FindingStatus_FINDING_STATUS_FAIL},
	}},
}

// expectedTotals counts, from the generator, what each query matches.
var expectedTotals = sync.OnceValue(func() map[string]int64 {
	n := 1_000_000
	if s := os.Getenv("DPSWEEP_BENCH_FINDINGS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	l := storetest.Large{SweepID: benchSweep, Findings: n}
	out := map[string]int64{}
	for i := range storetest.LargeAccounts {
		fs, _ := l.Account(i)
		for _, f := range fs {
			for _, q := range benchQueries {
				if storetest.Matches(q.f, f) {
					out[q.name]++
				}
			}
		}
	}
	return out
})

const benchPage = 100

// deepToken pages to the middle of a query's results (in pages of up to
// 5,000) and returns the token there and how many findings come before it.
func deepToken(b *testing.B, s store.Store, f store.Filter, total int64) (string, int64) {
	ctx := context.Background()
	target := total / 2
	var seen int64
	token := ""
	for seen < target {
		fs, next, _, err := s.ListFindings(ctx, benchSweep, f, store.Page{Size: int(min(5000, target-seen)), Token: token})
		if err != nil {
			b.Fatal(err)
		}
		seen += int64(len(fs))
		token = next
	}
	return token, seen
}

// BenchmarkListFindings lists a page of 100 findings of the large sweep,
// with the total, for each query shape: the first page, and a page in the
// middle of the results reached through a token.
func BenchmarkListFindings(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			s := e.large(b)
			want := expectedTotals()
			for _, q := range benchQueries {
				for _, deep := range []bool{false, true} {
					name := q.name + "/first"
					if deep {
						name = q.name + "/deep"
					}
					b.Run(name, func(b *testing.B) {
						ctx := context.Background()
						token, before := "", int64(0)
						if deep {
							token, before = deepToken(b, s, q.f, want[q.name])
						}
						rest := want[q.name] - before
						var worst time.Duration
						for b.Loop() {
							t0 := time.Now()
							fs, next, total, err := s.ListFindings(ctx, benchSweep, q.f, store.Page{Size: benchPage, Token: token})
							el := time.Since(t0)
							if err != nil {
								b.Fatal(err)
							}
							if total != want[q.name] {
								b.Fatalf("total %d, want %d", total, want[q.name])
							}
							if len(fs) != int(min(benchPage, rest)) || (next == "") != (rest <= benchPage) {
								b.Fatalf("page of %d findings (next %q) where %d remain", len(fs), next, rest)
							}
							for _, f := range fs {
								if !storetest.Matches(q.f, f) {
									b.Fatalf("listed a finding the filter does not match: %v", f)
								}
							}
							worst = max(worst, el)
						}
						b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
						b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
						b.ReportMetric(0, "ns/op")
					})
				}
			}
		})
	}
}

// BenchmarkRecordFindings records new findings into a new store in batches
// of 500, 1,000 and 5,000 (an account's findings are about 500), and a
// retried batch of 1,000 whose findings are all stored already.
func BenchmarkRecordFindings(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			for _, size := range []int{500, 1000, 5000} {
				b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
					s := e.empty(b)
					ctx := context.Background()
					src := newBatches(size)
					var recorded int
					var cpu cpuMeter
					for b.Loop() {
						b.StopTimer()
						sweep, batch, scopes := src.next()
						// Collect the generator's garbage now, not during the call.
						runtime.GC()
						cpu.start(e.name)
						b.StartTimer()
						ins, dups, err := s.RecordFindings(ctx, sweep, batch, scopes)
						b.StopTimer()
						cpu.stop(e.name)
						b.StartTimer()
						if err != nil {
							b.Fatal(err)
						}
						if ins != len(batch) || dups != 0 {
							b.Fatalf("inserted %d, duplicates %d of %d new findings", ins, dups, len(batch))
						}
						recorded += len(batch)
					}
					b.ReportMetric(float64(recorded)/b.Elapsed().Seconds(), "findings/s")
					cpu.report(b, recorded)
				})
			}
			b.Run("retry=1000", func(b *testing.B) {
				s := e.empty(b)
				ctx := context.Background()
				sweep, batch, scopes := newBatches(1000).next()
				if _, _, err := s.RecordFindings(ctx, sweep, batch, scopes); err != nil {
					b.Fatal(err)
				}
				var cpu cpuMeter
				for b.Loop() {
					b.StopTimer()
					cpu.start(e.name)
					b.StartTimer()
					ins, dups, err := s.RecordFindings(ctx, sweep, batch, scopes)
					b.StopTimer()
					cpu.stop(e.name)
					b.StartTimer()
					if err != nil {
						b.Fatal(err)
					}
					if ins != 0 || dups != len(batch) {
						b.Fatalf("retry inserted %d, duplicates %d of %d", ins, dups, len(batch))
					}
				}
				b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "findings/s")
				cpu.report(b, b.N*len(batch))
			})
		})
	}
}

// batches hands out new findings, whole accounts of a one-million-finding
// sweep at a time, moving to another sweep when one is used up.
type batches struct {
	size, sweep, account int
	l                    storetest.Large
}

func newBatches(size int) *batches {
	b := &batches{size: size}
	b.l = storetest.Large{SweepID: "sweep-record-0", Findings: 1_000_000}
	return b
}

func (s *batches) next() (string, []*evaluationv1.Finding, []store.Scope) {
	var fs []*evaluationv1.Finding
	var scopes []store.Scope
	for len(fs) < s.size {
		if s.account == storetest.LargeAccounts {
			s.sweep++
			s.account = 0
			s.l.SweepID = "sweep-record-" + strconv.Itoa(s.sweep)
		}
		f, sc := s.l.Account(s.account)
		s.account++
		fs, scopes = append(fs, f...), append(scopes, sc...)
	}
	return s.l.SweepID, fs, scopes
}

// cpuMeter adds up the CPU time spent inside the timed calls: this
// process's, and for PostgreSQL the local server's. On a machine shared with
// other work, findings per CPU second is what the store would sustain with
// the machine to itself (client and server take turns on a call, so their
// CPU times add up to its duration on an idle machine).
type cpuMeter struct {
	t0, s0     time.Duration
	self, srv  time.Duration
	ok, server bool
}

// start and stop read this process's CPU time nearest the call, so that
// reading /proc is not counted.
func (m *cpuMeter) start(engine string) {
	if engine == "postgres" {
		m.s0, m.server = postgresCPU()
	}
	m.t0, m.ok = processCPU()
}

func (m *cpuMeter) stop(engine string) {
	if t, ok := processCPU(); ok && m.ok {
		m.self += t - m.t0
	}
	if engine == "postgres" && m.server {
		if t, ok := postgresCPU(); ok {
			m.srv += t - m.s0
		}
	}
}

// report adds findings/cpu-s (client and server) and the server's share.
func (m *cpuMeter) report(b *testing.B, findings int) {
	if !m.ok || m.self+m.srv <= 0 {
		return
	}
	b.ReportMetric(float64(findings)/(m.self+m.srv).Seconds(), "findings/cpu-s")
	if m.server {
		b.ReportMetric(100*m.srv.Seconds()/(m.self+m.srv).Seconds(), "server-cpu-%")
	}
}
