package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/proto"

	"github.com/dpsweep/dpsweep/awssim"
	"github.com/dpsweep/dpsweep/awssim/world"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
	sweepv1 "github.com/dpsweep/dpsweep/gen/dpsweep/sweep/v1"
	"github.com/dpsweep/dpsweep/services/collection"
	"github.com/dpsweep/dpsweep/services/evaluation"
	"github.com/dpsweep/dpsweep/services/platform/telemetry"
	"github.com/dpsweep/dpsweep/services/platform/telemetry/telemetrytest"
	"github.com/dpsweep/dpsweep/services/redaction"
	"github.com/dpsweep/dpsweep/services/reporting"
	"github.com/dpsweep/dpsweep/services/reporting/store/storetest"
	sweepsvc "github.com/dpsweep/dpsweep/services/sweep"
	"github.com/dpsweep/dpsweep/workflows/codec"
	"github.com/dpsweep/dpsweep/workflows/devserver"
	wf "github.com/dpsweep/dpsweep/workflows/sweep"
	"github.com/dpsweep/dpsweep/workflows/worker"
)

// canary is one planted value: where it goes and the finding it must produce.
type canary struct {
	name, value string
	// control, path and entity of the FAIL finding it must produce.
	control, path, entity string
}

// leakCanaries are fresh values, so that a hit can only come from this run.
func leakCanaries(t *testing.T, org []string) []canary {
	t.Helper()
	rnd := func(set string, n int) string {
		b := make([]byte, n)
		for i := range b {
			k, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
			if err != nil {
				t.Fatal(err)
			}
			b[i] = set[k.Int64()]
		}
		return string(b)
	}
	account := ""
	for account == "" || slices.Contains(org, account) {
		account = rnd("3456789", 1) + rnd("0123456789", 11)
	}
	// A Visa-shaped card number with a valid Luhn check digit.
	card := "4" + rnd("0123456789", 14)
	sum := 0
	for i := len(card) - 1; i >= 0; i-- {
		d := int(card[i] - '0')
		if (len(card)-1-i)%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	card += fmt.Sprint((10 - sum%10) % 10)
	card = card[:4] + " " + card[4:8] + " " + card[8:12] + " " + card[12:]
	tag := rnd("abcdefghijkmnpqrstuvwxyz", 8)
	return []canary{
		{"access key ID", "AKIA" + rnd("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), "DPS-FFT-001", "Description", "AWS_ACCESS_KEY_ID"},
		{"secret access key", rnd("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", 6) + "/" + rnd("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", 26) + "+" + rnd("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 6), "DPS-FFT-001", "Description", "AWS_SECRET_ACCESS_KEY"},
		{"foreign account number", account, "DPS-FFT-002", "Description", "AWS_ACCOUNT_ID"},
		{"e-mail address", "leak." + tag + "@example-corp.com", "DPS-FFT-002", "SupportDescription", "EMAIL_ADDRESS"},
		{"phone number", "+44 20 7946 0" + rnd("0123456789", 3), "DPS-FFT-001", "Tags[Contact]", "PHONE_NUMBER"},
		{"card number", card, "DPS-FFT-005", "Description", "CREDIT_CARD_NUMBER"},
	}
}

// plantCanaries adds a portfolio, a product and a SAR application holding
// the canaries to one member account's region of a running simulator.
func plantCanaries(t *testing.T, sim *awssim.Sim, account, region string, cs []canary) {
	t.Helper()
	a, ok := sim.World.Account(account)
	if !ok {
		t.Fatalf("no account %s", account)
	}
	v := map[string]string{}
	for _, c := range cs {
		v[c.entity] = c.value
	}
	sim.World.Lock()
	defer sim.World.Unlock()
	g := a.Regional[region]
	if g == nil {
		g = &world.Regional{}
		a.Regional[region] = g
	}
	now := time.Now().UTC().Add(-24 * time.Hour)
	prod := &world.Product{ID: "prod-leakcanary0001", Name: "Leak Canary", Owner: "Platform Team", Created: now,
		Description:        "Charges go to billing account " + v["AWS_ACCOUNT_ID"] + " each month.",
		SupportDescription: "Questions to " + v["EMAIL_ADDRESS"] + " please.",
		Artifacts:          []*world.Artifact{{ID: "pa-leakcanary0001", Name: "v1", TemplateURL: "https://templates.example.com/leak.yaml", Active: true}}}
	g.Products = append(g.Products, prod)
	g.Portfolios = append(g.Portfolios, &world.Portfolio{ID: "port-leakcanary0001", DisplayName: "Leak Canary Portfolio", ProviderName: "Platform Team", Created: now,
		Description: "Break-glass user key " + v["AWS_ACCESS_KEY_ID"] + " with aws_secret_access_key = " + v["AWS_SECRET_ACCESS_KEY"],
		Tags:        map[string]string{"Contact": "on call " + v["PHONE_NUMBER"]}, Products: []string{prod.ID}})
	g.Applications = append(g.Applications, &world.Application{ID: "leak-canary-app", Name: "leak-canary-app", Author: "Platform Team", SpdxLicenseID: "MIT", Created: now,
		Description: "Refunds are paid to card " + v["CREDIT_CARD_NUMBER"] + " exp 12/29."})
}

// forms are the byte strings whose presence in a sink means the canary
// leaked: the raw value, its JSON-escaped form, its digits alone (for
// numbers written with spaces) and its base64 encodings at each of the
// three alignments (standard and URL alphabets), minus the edge groups
// that depend on the neighbouring bytes.
func (c canary) forms() [][]byte {
	set := map[string]bool{c.value: true}
	j, _ := json.Marshal(c.value)
	set[string(j[1:len(j)-1])] = true
	set[strings.ReplaceAll(c.value, "/", `\/`)] = true
	set[strings.ReplaceAll(c.value, "+", `\u002b`)] = true
	if compact := strings.ReplaceAll(c.value, " ", ""); compact != c.value {
		set[compact] = true
	}
	for shift := range 3 {
		src := append(bytes.Repeat([]byte{0}, shift), c.value...)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			s := enc.EncodeToString(src)
			from := 0
			if shift > 0 {
				from = 4
			}
			if len(s)-4 > from+8 {
				set[s[from:len(s)-4]] = true
			}
		}
	}
	var out [][]byte
	for s := range set {
		out = append(out, []byte(s))
	}
	return out
}

// sink is one place the product writes to, read back whole.
type sink struct {
	name string
	data []byte
	// marker is a value the sink must hold (a sweep ID, a control ID), so
	// that reading nothing cannot pass for holding nothing.
	marker string
}

// leaks returns, for every form of every canary found in data, a line
// naming it with some context.
func leaks(data []byte, cs []canary) []string {
	var out []string
	for _, c := range cs {
		for _, f := range c.forms() {
			if i := bytes.Index(data, f); i >= 0 {
				out = append(out, fmt.Sprintf("%s %q at %d: %q", c.name, f, i, data[max(0, i-80):min(len(data), i+len(f)+40)]))
			}
		}
	}
	return out
}

// leakRun is one sweep's worth of processes and the files they wrote.
type leakRun struct {
	dir, temporalDB, temporalLog, findingsDB, reportDir string
	logs                                                map[string]string // name → file
	pgDSN, pgSchema                                     string
	findings                                            []*evaluationv1.Finding
	history                                             []byte
	reportURIs                                          []string
}

// runLeakSweep starts a Temporal server on a SQLite file, the five services
// and the worker (all logging at debug level to files), reporting on
// database (a SQLite file when empty), and sweeps the simulator's
// organization with every export format requested.
func runLeakSweep(ctx context.Context, t *testing.T, sim *awssim.Sim, sweepID, database string, regions []string, role string) *leakRun {
	t.Helper()
	dir := t.TempDir()
	r := &leakRun{dir: dir, temporalDB: filepath.Join(dir, "temporal.db"), temporalLog: filepath.Join(dir, "temporal.log"),
		reportDir: filepath.Join(dir, "reports"), logs: map[string]string{}}
	srv, err := devserver.Start(ctx, devserver.Options{SearchAttributes: wf.SearchAttributeTypes, DBFile: r.temporalDB, LogFile: r.temporalLog, LogLevel: "debug"})
	if errors.Is(err, devserver.ErrNoBinary) && os.Getenv("DPSWEEP_TEMPORAL_REQUIRED") == "" {
		t.Skipf("no Temporal server: %v (run `make temporal`; set DPSWEEP_TEMPORAL_REQUIRED=1 to fail instead)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = srv.Stop()
		}
	}
	t.Cleanup(stop)
	logFile := func(name string) *os.File {
		f, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		r.logs[name] = f.Name()
		return f
	}
	debug := &slog.HandlerOptions{Level: slog.LevelDebug}
	workerLog := logFile("worker")
	keys, err := codec.ParseKeys("leaks:" + base64.StdEncoding.EncodeToString(randomKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	dc, err := codec.NewDataConverter(keys)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := client.DialContext(ctx, client.Options{HostPort: srv.HostPort(), Namespace: srv.Namespace(), DataConverter: dc,
		FailureConverter: codec.NewFailureConverter(dc), Logger: tlog.NewStructuredLogger(slog.New(slog.NewJSONHandler(workerLog, debug)))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	conv := &codec.Converters{Data: dc, Failure: codec.NewFailureConverter(dc), KeyID: keys[0].ID}

	rcfg := redaction.DefaultConfig()
	redConn := serveOn(t, logFile("redaction"), rcfg.Register)
	ccfg := collection.DefaultConfig()
	ak, sk := sim.Credentials()
	ccfg.EndpointURL, ccfg.RequestsPerSecond, ccfg.MaxConcurrent = sim.URL, 5000, 16
	ccfg.Credentials = credentials.NewStaticCredentialsProvider(ak, sk, "")
	collConn := serveOn(t, logFile("collection"), ccfg.Register)
	ecfg := evaluation.DefaultConfig()
	ecfg.Redaction.Addr = redConn.Target()
	evalConn := serveOn(t, logFile("evaluation"), ecfg.Register)
	pcfg := reporting.DefaultConfig()
	if database == "" {
		r.findingsDB = filepath.Join(dir, "findings.db")
		database = r.findingsDB
	}
	pcfg.Database, pcfg.ReportDir = database, r.reportDir
	repConn := serveOn(t, logFile("reporting"), pcfg.Register)

	wcfg := worker.DefaultConfig()
	wcfg.Client, wcfg.Converters = tc, conv
	wcfg.Collection.Addr, wcfg.Evaluation.Addr, wcfg.Reporting.Addr = collConn.Target(), evalConn.Target(), repConn.Target()
	w, cleanup, err := worker.New(wcfg, slog.New(slog.NewJSONHandler(workerLog, debug)))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	scfg := sweepsvc.DefaultConfig()
	scfg.Client, scfg.ManagementAccount, scfg.Converters = tc, sim.World.ManagementAccount, conv
	s := &stack{sim: sim, temporal: tc, sweeps: sweepv1.NewSweepServiceClient(serveOn(t, logFile("sweep"), scfg.Register)),
		reports: reportingv1.NewReportingServiceClient(repConn)}

	var formats []reportingv1.ReportFormat
	for f := range reportingv1.ReportFormat_name {
		if f != 0 {
			formats = append(formats, reportingv1.ReportFormat(f))
		}
	}
	slices.Sort(formats)
	spec := &sweepv1.SweepSpec{Regions: regions, RoleName: role, ReportFormats: formats}
	if _, err := s.sweeps.StartSweep(ctx, &sweepv1.StartSweepRequest{SweepId: sweepID, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	sw := s.wait(ctx, t, sweepID, nil)
	if sw.GetState() != sweepv1.SweepState_SWEEP_STATE_COMPLETED {
		t.Fatalf("sweep %s ended %s", sweepID, sw.GetState())
	}
	r.reportURIs = sw.GetReportUris()
	if len(r.reportURIs) != len(formats)-1 {
		t.Fatalf("report URIs %v; want one per format %v but ASFF", r.reportURIs, formats)
	}
	// A sweep never writes ASFF (Security Hub's format) unasked: export it
	// to a file as `dpsweep report --format asff --out` does.
	asff, err := s.reports.ExportReport(ctx, &reportingv1.ExportReportRequest{SweepId: sweepID, Format: reportingv1.ReportFormat_REPORT_FORMAT_ASFF,
		Destination: &reportingv1.Destination{Kind: &reportingv1.Destination_File{File: &reportingv1.LocalFile{Path: sweepID + "/" + sweepID + ".asff.json"}}},
		Filter:      &reportingv1.FindingFilter{IncludeSuppressed: true}})
	if err != nil {
		t.Fatal(err)
	}
	r.reportURIs = append(r.reportURIs, asff.GetUri())
	r.findings = s.findings(ctx, t, sweepID)
	// The histories as the server's API returns them, events marshalled.
	ids := []string{wf.SweepWorkflowID(sweepID)}
	for _, a := range sim.World.AccountIDs() {
		ids = append(ids, wf.AccountSweepWorkflowID(sweepID, a))
	}
	for _, id := range ids {
		it := tc.GetWorkflowHistory(ctx, id, "", false, 0)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatalf("history of %s: %v", id, err)
			}
			b, err := proto.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			r.history = append(r.history, b...)
		}
	}
	// The worker and the Temporal server stop, so that their files are
	// complete (the server's WAL as it left it).
	w.Stop()
	cleanup()
	stop()
	return r
}

// TestNoCanaryLeaks plants fresh canaries — an access key ID and its
// secret, an account number from outside the organization, an e-mail
// address, a phone number and a card number — in Service Catalog and SAR
// free-form fields, sweeps the organization with every process logging at
// debug level, metrics served and traces exported, and then reads every
// sink back as raw bytes: every log file, the Temporal server's SQLite
// store (and its WAL), the findings store (SQLite, and PostgreSQL in a
// second sweep when DPSWEEP_TEST_POSTGRES is set), every export, a metrics
// scrape and every span. No raw, JSON-escaped or base64 form of any canary
// may be in any of them, while the findings show each canary detected.
func TestNoCanaryLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Temporal server; skipped with -short")
	}
	begin := time.Now()
	recv := telemetrytest.NewReceiver(t)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tel, err := telemetry.Start(ctx, telemetry.Config{MetricsAddr: "127.0.0.1:0", OTLPEndpoint: recv.Addr()}, "tests", func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	o := world.DefaultGenOptions()
	o.Accounts, o.Seed, o.PlantRate = 3, 91, 0
	sim, err := awssim.Start(ctx, awssim.Config{Gen: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	org := sim.World.AccountIDs()
	member := ""
	for _, id := range org {
		if id != sim.World.ManagementAccount {
			member = id
			break
		}
	}
	const region = "eu-west-1"
	cs := leakCanaries(t, org)
	plantCanaries(t, sim, member, region, cs)

	// The search sees a canary when there is one: the simulator's world holds them all.
	worldBytes, err := sim.World.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	seen := leaks(worldBytes, cs)
	for _, c := range cs {
		if !slices.ContainsFunc(seen, func(s string) bool { return strings.HasPrefix(s, c.name+" ") }) {
			t.Fatalf("the search does not find the %s %q in the simulator's world: it would prove nothing", c.name, c.value)
		}
	}
	control := []byte("Base64 copy: " + base64.StdEncoding.EncodeToString([]byte("x"+cs[1].value+"y")))
	if len(leaks(control, cs[1:2])) == 0 {
		t.Fatal("the search does not find a base64-encoded canary")
	}

	runs := map[string]*leakRun{"sqlite": runLeakSweep(ctx, t, sim, "leaks-sqlite", "", []string{region}, o.RoleName)}
	if _, ok := os.LookupEnv(storetest.PostgresEnv); ok {
		base := storetest.PostgresBaseDSN(t)
		schema := "leaks_" + hex.EncodeToString(randomKey(t)[:4])
		dsn := storetest.PostgresSchemaDSN(t, base, schema, true)
		r := runLeakSweep(ctx, t, sim, "leaks-postgres", dsn, []string{region}, o.RoleName)
		r.pgDSN, r.pgSchema = dsn, schema
		runs["postgres"] = r
	} else {
		t.Logf("%s unset: no PostgreSQL run", storetest.PostgresEnv)
	}

	// Each canary was detected: a FAIL of its control on its field, with
	// its entity type and redacted evidence.
	for name, r := range runs {
		produced := 0
		for _, c := range cs {
			var hit *evaluationv1.Finding
			for _, f := range r.findings {
				if f.GetControlId() == c.control && f.GetAccountId() == member && f.GetRegion() == region && f.GetFieldPath() == c.path &&
					f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_FAIL && slices.Contains(f.GetEvidence().GetEntityTypes(), c.entity) {
					hit = f
				}
			}
			if hit == nil {
				var fails []string
				for _, f := range r.findings {
					if f.GetAccountId() == member && strings.HasPrefix(f.GetControlId(), "DPS-FFT") {
						fails = append(fails, fmt.Sprintf("%s %s %s %s %v", f.GetControlId(), f.GetRegion(), f.GetFieldPath(), f.GetStatus(), f.GetEvidence().GetEntityTypes()))
					}
				}
				t.Errorf("%s: no FAIL of %s on %s with %s for the %s; the member's free-form findings:\n  %s", name, c.control, c.path, c.entity, c.name, strings.Join(fails, "\n  "))
				continue
			}
			if red := hit.GetEvidence().GetRedactedText(); red == "" || strings.Contains(red, c.value) {
				t.Errorf("%s: the %s finding's evidence %q is not redacted", name, c.name, red)
			}
			produced++
		}
		t.Logf("%s: %d findings, %d of %d canaries detected", name, len(r.findings), produced, len(cs))
	}

	// Read every sink.
	var sinks []sink
	readFile := func(name, path, marker string, required bool) {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) && !required {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		sinks = append(sinks, sink{name, b, marker})
	}
	// A SQLite store is its file and its WAL (a store still open may hold
	// everything in the WAL), searched as one.
	readSQLite := func(name, path, marker string) {
		var all []byte
		for _, f := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && (f == path || !errors.Is(err, fs.ErrNotExist)) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		sinks = append(sinks, sink{name + " (file and WAL)", all, marker})
	}
	for _, name := range slices.Sorted(maps.Keys(runs)) {
		r := runs[name]
		id := "leaks-" + name
		for _, proc := range slices.Sorted(maps.Keys(r.logs)) {
			path := r.logs[proc]
			readFile(name+" "+proc+" log", path, `"level":"DEBUG"`, true)
		}
		readFile(name+" Temporal server log", r.temporalLog, "", true)
		readSQLite(name+" Temporal SQLite store", r.temporalDB, "sweep/"+id)
		sinks = append(sinks, sink{name + " Temporal histories (API)", r.history, "binary/encrypted"})
		if r.findingsDB != "" {
			readSQLite(name+" findings SQLite store", r.findingsDB, "DPS-FFT-002")
		}
		if r.pgDSN != "" {
			sinks = append(sinks, sink{name + " PostgreSQL schema " + r.pgSchema, dumpPostgres(ctx, t, r.pgDSN, r.pgSchema), "DPS-FFT-002"})
		}
		err := filepath.WalkDir(r.reportDir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				readFile(name+" export "+filepath.Base(path), path, "DPS-FFT-002", true)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range r.reportURIs {
			if _, err := os.Stat(u); err != nil || !strings.HasPrefix(u, r.reportDir+string(filepath.Separator)) {
				t.Errorf("report %s is not a file under %s: %v", u, r.reportDir, err)
			}
		}
	}
	sinks = append(sinks, sink{"metrics scrape", []byte(telemetrytest.Scrape(t, tel.MetricsAddr())), "dpsweep_redaction_detector_hits_total"})
	_ = tel.Shutdown(context.Background())
	var spans bytes.Buffer
	for _, s := range recv.Spans() {
		fmt.Fprintf(&spans, "%s %s %s\n", s.Service, s.Name, s.SpanID)
		keys := make([]string, 0, len(s.Attributes))
		for k := range s.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&spans, "  %s=%s\n", k, s.Attributes[k])
		}
	}
	sinks = append(sinks, sink{fmt.Sprintf("%d spans' attributes", len(recv.Spans())), spans.Bytes(), "dpsweep.sweep_id=leaks-sqlite"})

	total := 0
	for _, s := range sinks {
		total += len(s.data)
		if len(s.data) == 0 && s.marker != "" {
			t.Errorf("%s is empty: the search would prove nothing", s.name)
		}
		if s.marker != "" && !bytes.Contains(s.data, []byte(s.marker)) {
			t.Errorf("%s (%d bytes) does not hold %q: the search would prove nothing", s.name, len(s.data), s.marker)
		}
		for _, l := range leaks(s.data, cs) {
			t.Errorf("%s leaks the %s", s.name, l)
		}
		t.Logf("searched %-50s %10d bytes", s.name, len(s.data))
	}
	t.Logf("%d canaries × their forms searched in %d sinks, %d bytes, in %v", len(cs), len(sinks), total, time.Since(begin).Round(time.Second))
}

// dumpPostgres reads every row of every table of schema as text.
func dumpPostgres(ctx context.Context, t *testing.T, dsn, schema string) []byte {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, schema)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) == 0 {
		t.Fatalf("schema %s has no tables", schema)
	}
	var out bytes.Buffer
	for _, tbl := range tables {
		ident := pgx.Identifier{schema, tbl}.Sanitize()
		rows, err := conn.Query(ctx, "SELECT t::text FROM "+ident+" AS t")
		if err != nil {
			t.Fatalf("read %s: %v", ident, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("read %s: %v", ident, err)
		}
		fmt.Fprintf(&out, "-- %s: %d rows\n%s\n", ident, len(lines), strings.Join(lines, "\n"))
	}
	return out.Bytes()
}
