package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	"github.com/dpsweep/dpsweep/services/reporting/store"
	"github.com/dpsweep/dpsweep/services/reporting/store/storetest"
)

// A database written by the first schema version (findings and tallies,
// no scope tallies) is brought up to date at open: listings then total
// exactly what they list, and findings recorded afterwards count too.

func TestSQLiteMigratesVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	v1 := readMigration(t, "sqlite")
	if _, err := db.ExecContext(ctx, `PRAGMA foreign_keys = ON; CREATE TABLE schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);`+v1+
		`; INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	fillVersion1(t, func(q string, args ...any) error {
		_, err := db.ExecContext(ctx, q, args...)
		return err
	}, false)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkMigrated(t, s)
}

func TestPostgresMigratesVersion1(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.PostgresDSN(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (
		version integer NOT NULL PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());`+
		readMigration(t, "postgres")+`; INSERT INTO schema_migrations (version, name) VALUES (1, '0001_init.sql')`); err != nil {
		t.Fatal(err)
	}
	fillVersion1(t, func(q string, args ...any) error {
		_, err := conn.Exec(ctx, q, args...)
		return err
	}, true)
	s, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkMigrated(t, s)
}

func readMigration(t *testing.T, dialect string) string {
	b, err := os.ReadFile(filepath.Join("migrations", dialect, "0001_init.sql"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fillVersion1 writes sweep "old" with storetest.World's findings into the
// version 1 tables, as that version's RecordFindings did.
func fillVersion1(t *testing.T, exec func(q string, args ...any) error, pg bool) {
	ph := func(i int) string {
		if pg {
			return "$" + strconv.Itoa(i)
		}
		return "?"
	}
	if err := exec(`INSERT INTO sweeps (id, state, started_at) VALUES (`+ph(1)+`, `+ph(2)+`, `+ph(3)+`)`,
		"old", int16(reportingv1.SweepState_SWEEP_STATE_RUNNING), sweepTime(pg)); err != nil {
		t.Fatal(err)
	}
	q := `INSERT INTO findings (sweep_id, account_id, region, control_id, resource_arn, field_path, severity, status, suppressed, resource_type, body) VALUES (`
	for i := 1; i <= 11; i++ {
		if i > 1 {
			q += ", "
		}
		q += ph(i)
	}
	q += ")"
	type bucket struct {
		status, severity int16
		suppressed       bool
	}
	tallies := map[bucket]int64{}
	for _, f := range storetest.World("old") {
		body, err := proto.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var sup any = f.GetSuppressed()
		if !pg {
			sup = map[bool]int{false: 0, true: 1}[f.GetSuppressed()]
		}
		if err := exec(q, "old", f.GetAccountId(), f.GetRegion(), f.GetControlId(), f.GetResourceArn(), f.GetFieldPath(),
			int16(f.GetSeverity()), int16(f.GetStatus()), sup, f.GetResourceType(), body); err != nil {
			t.Fatal(err)
		}
		tallies[bucket{int16(f.GetStatus()), int16(f.GetSeverity()), f.GetSuppressed()}]++
	}
	for k, n := range tallies {
		var sup any = k.suppressed
		if !pg {
			sup = map[bool]int{false: 0, true: 1}[k.suppressed]
		}
		if err := exec(`INSERT INTO sweep_tallies (sweep_id, status, severity, suppressed, n) VALUES (`+ph(1)+`, `+ph(2)+`, `+ph(3)+`, `+ph(4)+`, `+ph(5)+`)`,
			"old", k.status, k.severity, sup, n); err != nil {
			t.Fatal(err)
		}
	}
}

func sweepTime(pg bool) any {
	t := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if pg {
		return t
	}
	return t.UnixMicro()
}

func checkMigrated(t *testing.T, s store.Store) {
	ctx := context.Background()
	all := storetest.World("old")
	// Findings recorded after the migration must count as well.
	extra := []*evaluationv1.Finding{
		storetest.Finding("old", "444444444444", "us-east-1", "DPS-S3-001", "arn:aws:s3:::new-bucket", "",
			evaluationv1.FindingStatus_FINDING_STATUS_FAIL, evaluationv1.Severity_SEVERITY_HIGH, false),
		storetest.Finding("old", "444444444444", "eu-west-1", "DPS-KMS-002", "arn:aws:kms:eu-west-1:444444444444:key/k", "",
			evaluationv1.FindingStatus_FINDING_STATUS_PASS, evaluationv1.Severity_SEVERITY_CRITICAL, false),
	}
	filters := map[string]store.Filter{
		"none":           {},
		"suppressed too": {IncludeSuppressed: true},
		"fail high": {Statuses: []evaluationv1.FindingStatus{evaluationv1.FindingStatus_FINDING_STATUS_FAIL},
			Severities: []evaluationv1.Severity{evaluationv1.Severity_SEVERITY_HIGH}},
		"control and region": {ControlIDs: []string{"DPS-S3-001"}, Regions: []string{"us-east-1"}},
		"one account":        {AccountIDs: []string{"111111111111"}},
	}
	check := func(when string, fs []*evaluationv1.Finding) {
		for name, f := range filters {
			var want int64
			for _, fd := range fs {
				if storetest.Matches(f, fd) {
					want++
				}
			}
			var listed int64
			token := ""
			for {
				page, next, total, err := s.ListFindings(ctx, "old", f, store.Page{Size: 7, Token: token})
				if err != nil {
					t.Fatal(err)
				}
				if total != want {
					t.Errorf("%s, %s: total %d, want %d", when, name, total, want)
				}
				listed += int64(len(page))
				if token = next; token == "" {
					break
				}
			}
			if listed != want {
				t.Errorf("%s, %s: listed %d, want %d", when, name, listed, want)
			}
		}
	}
	check("after the migration", all)
	ins, dups, err := s.RecordFindings(ctx, "old", append(extra, all[0]), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ins != len(extra) || dups != 1 {
		t.Errorf("recorded %d new and %d duplicates, want %d and 1", ins, dups, len(extra))
	}
	check("after recording more", append(all, extra...))
}
