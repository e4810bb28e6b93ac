package collection

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/dpsweep/dpsweep/awssim"
	"github.com/dpsweep/dpsweep/awssim/world"
	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	"github.com/dpsweep/dpsweep/services/platform/server"
)

// serve runs the service, pointed at a simulated organization, over bufconn
// with the real interceptor chain.
func serve(t *testing.T) (collectionv1.CollectionServiceClient, *awssim.Sim) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	o := world.DefaultGenOptions()
	o.Accounts, o.Seed = 3, 5
	sim, err := awssim.Start(ctx, awssim.Config{Gen: o})
	if err != nil {
		t.Fatal(err)
	}
	// Stopped before the test ends, not when the context's goroutine gets
	// to it: goleak checks for the simulator's connections right after.
	t.Cleanup(func() { _ = sim.Close() })
	ak, sk := sim.Credentials()
	cfg := DefaultConfig()
	cfg.EndpointURL, cfg.RequestsPerSecond = sim.URL, 1000
	cfg.Credentials = credentials.NewStaticCredentialsProvider(ak, sk, "")
	lis := bufconn.Listen(1 << 20)
	done := make(chan error, 1)
	scfg := server.Config{Addr: "bufconn", LogFormat: "json", LogLevel: "error", MaxRecvMsgBytes: 16 << 20, MaxSendMsgBytes: 64 << 20, ShutdownTimeout: 5 * time.Second}
	go func() { done <- server.ServeListener(ctx, lis, scfg, slog.New(slog.DiscardHandler), cfg.Register) }()
	t.Cleanup(func() { cancel(); <-done })
	conn, err := grpc.NewClient("passthrough:///bufconn", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.WaitForReady(true)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return collectionv1.NewCollectionServiceClient(conn), sim
}

func TestDescribeTarget(t *testing.T) {
	t.Parallel()
	c, sim := serve(t)
	member := sim.World.Accounts[1]
	resp, err := c.DescribeTarget(context.Background(), &collectionv1.DescribeTargetRequest{Target: &collectionv1.Target{AccountId: member.ID, RoleName: "dpsweep-readonly"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetAccountId() != member.ID || !strings.Contains(resp.GetCallerArn(), ":assumed-role/dpsweep-readonly/") || len(resp.GetRegions()) != len(sim.World.Regions) {
		t.Fatalf("DescribeTarget = %v", resp)
	}
	_, err = c.DescribeTarget(context.Background(), &collectionv1.DescribeTargetRequest{Target: &collectionv1.Target{AccountId: member.ID, RoleName: "no-such-role"}})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("missing role: %v; want PermissionDenied", err)
	}
}

func TestCollectInventoryStreamsInChunks(t *testing.T) {
	t.Parallel()
	c, sim := serve(t)
	member, _ := sim.World.Account(sim.World.Accounts[1].ID)
	var region string
	for r, g := range member.Regional {
		if len(g.Portfolios) > 0 {
			region = r
		}
	}
	stream, err := c.CollectInventory(context.Background(), &collectionv1.CollectInventoryRequest{
		Target: &collectionv1.Target{AccountId: member.ID, RoleName: "dpsweep-readonly"}, Scope: collectionv1.Scope_SCOPE_REGIONAL, Region: region, ChunkSize: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	var msgs, resources int
	var summary *collectionv1.CollectionSummary
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		msgs++
		if len(m.GetResources()) > 3 {
			t.Fatalf("message with %d resources; chunk size is 3", len(m.GetResources()))
		}
		resources += len(m.GetResources())
		if summary != nil {
			t.Fatal("a message after the summary")
		}
		summary = m.GetSummary()
	}
	if summary == nil || summary.GetResourceCount() != int64(resources) || summary.GetApiCalls() == 0 || msgs < 2 {
		t.Fatalf("%d messages, %d resources, summary %v", msgs, resources, summary)
	}
}

func TestCollectInventoryRefusesBadRequests(t *testing.T) {
	t.Parallel()
	c, sim := serve(t)
	tgt := &collectionv1.Target{AccountId: sim.World.Accounts[1].ID, RoleName: "dpsweep-readonly"}
	tests := map[string]struct {
		req   *collectionv1.CollectInventoryRequest
		field string
	}{
		"unknown collector":        {&collectionv1.CollectInventoryRequest{Target: tgt, Scope: collectionv1.Scope_SCOPE_GLOBAL, Collectors: []string{"s3.nothing"}}, "collectors"},
		"collector of other scope": {&collectionv1.CollectInventoryRequest{Target: tgt, Scope: collectionv1.Scope_SCOPE_GLOBAL, Collectors: []string{"ec2.vpcs"}}, "collectors"},
		"regional without region":  {&collectionv1.CollectInventoryRequest{Target: tgt, Scope: collectionv1.Scope_SCOPE_REGIONAL}, "region is required"},
		"no scope":                 {&collectionv1.CollectInventoryRequest{Target: tgt}, "scope"},
		"bad account":              {&collectionv1.CollectInventoryRequest{Target: &collectionv1.Target{AccountId: "12"}, Scope: collectionv1.Scope_SCOPE_GLOBAL}, "target.account_id"},
		"rate over 1000": {&collectionv1.CollectInventoryRequest{Target: &collectionv1.Target{AccountId: tgt.AccountId, RequestsPerSecond: 1001},
			Scope: collectionv1.Scope_SCOPE_GLOBAL}, "target.requests_per_second"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			stream, err := c.CollectInventory(context.Background(), tc.req)
			if err == nil {
				_, err = stream.Recv()
			}
			if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.field) {
				t.Fatalf("error = %v; want InvalidArgument naming %s", err, tc.field)
			}
		})
	}
}

// A target's requests_per_second paces every call to its account: the
// server allows 1,000 a second, the request 4, so N calls take at least
// (N − 4) ÷ 4 seconds (the bucket starts with a second's worth).
func TestTargetRequestsPerSecondPacesTheAccount(t *testing.T) {
	t.Parallel()
	c, sim := serve(t)
	member := sim.World.Accounts[2].ID
	const rps = 4
	started := time.Now()
	stream, err := c.CollectInventory(context.Background(), &collectionv1.CollectInventoryRequest{
		Target: &collectionv1.Target{AccountId: member, RoleName: "dpsweep-readonly", RequestsPerSecond: rps}, Scope: collectionv1.Scope_SCOPE_GLOBAL})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(started)
	var calls int64
	for k, n := range sim.Server.Counts() {
		if k.Account == member && k.Service != "sts" {
			calls += n
		}
	}
	if calls < 3*rps {
		t.Fatalf("only %d calls to %s; the check needs more", calls, member)
	}
	if floor := time.Duration(float64(calls-rps) / rps * float64(time.Second)); elapsed < floor-100*time.Millisecond {
		t.Fatalf("%d calls in %v; at %d requests/s they take at least %v", calls, elapsed, rps, floor)
	}
}

func TestListCollectorsPages(t *testing.T) {
	t.Parallel()
	c, _ := serve(t)
	seen := map[string]bool{}
	token := ""
	for {
		resp, err := c.ListCollectors(context.Background(), &collectionv1.ListCollectorsRequest{PageSize: 4, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, col := range resp.GetCollectors() {
			if seen[col.GetName()] || len(col.GetActions()) == 0 {
				t.Fatalf("collector %v repeated or without actions", col)
			}
			seen[col.GetName()] = true
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(seen) < 15 {
		t.Fatalf("%d collectors", len(seen))
	}
}
