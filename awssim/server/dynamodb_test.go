package server

import (
	"bytes"
	"hash/crc32"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// dynamodbWorld: the member has tables with each kind of encryption in eu-west-1.
func dynamodbWorld(t testing.TB) *world.World {
	t.Helper()
	w := &world.World{
		OrganizationID: "o-abcdefghij", ManagementAccount: mgmt, RootID: "r-ab12",
		Regions: []world.RegionInfo{{Name: "us-east-1"}, {Name: "eu-west-1"}, {Name: "ap-east-1", OptIn: true}},
		Accounts: []*world.Account{
			{ID: mgmt, Name: "management", Email: "aws-mgmt@example.com", Created: t0},
			{ID: member, Name: "prod", Email: "aws-prod@example.com", Created: t0,
				Regional: map[string]*world.Regional{"eu-west-1": {Tables: []*world.Table{
					{Name: "orders", SSE: "DEFAULT", Items: 1200},
					{Name: "customers", SSE: "CMK", KMSKeyARN: "arn:aws:kms:eu-west-1:222222222222:key/cmk-1", Items: 42},
					{Name: "audit", SSE: "KMS"},
					{Name: "sessions"},
					{Name: "zeta.table"},
				}}}},
			{ID: optin, Name: "asia", Email: "aws-asia@example.com", Created: t0},
		},
	}
	if err := w.Index(); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestDynamoDB(t *testing.T) {
	t.Parallel()
	_, url := sim(t, dynamodbWorld(t), Options{Faults: Faults{PageSize: 2}})
	c := dynamodb.NewFromConfig(cfg(url, member, "eu-west-1"))
	var names []string
	pages := 0
	p := dynamodb.NewListTablesPaginator(c, &dynamodb.ListTablesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		names = append(names, out.TableNames...)
	}
	if want := []string{"audit", "customers", "orders", "sessions", "zeta.table"}; pages != 3 || !slices.Equal(names, want) {
		t.Fatalf("pages = %d, tables = %v; want 3 and %v", pages, names, want)
	}
	out, err := c.ListTables(ctx(t), &dynamodb.ListTablesInput{ExclusiveStartTableName: aws.String("customers"), Limit: aws.Int32(1)})
	if err != nil || !slices.Equal(out.TableNames, []string{"orders"}) || aws.ToString(out.LastEvaluatedTableName) != "orders" {
		t.Fatalf("ListTables after customers = %+v, %v", out, err)
	}
	if _, err := c.ListTables(ctx(t), &dynamodb.ListTablesInput{Limit: aws.Int32(101)}); apiCode(err) != "ValidationException" {
		t.Fatalf("Limit 101: %v", err)
	}

	desc := func(name string) *ddbtypes.TableDescription {
		t.Helper()
		out, err := c.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeTable(%s): %v", name, err)
		}
		return out.Table
	}
	orders := desc("orders")
	if aws.ToString(orders.TableName) != "orders" || aws.ToString(orders.TableArn) != "arn:aws:dynamodb:eu-west-1:222222222222:table/orders" ||
		orders.TableStatus != ddbtypes.TableStatusActive || aws.ToInt64(orders.ItemCount) != 1200 || !aws.ToTime(orders.CreationDateTime).Equal(t0) ||
		orders.SSEDescription != nil {
		t.Fatalf("orders = %+v", orders)
	}
	if w := orders.WarmThroughput; w == nil || aws.ToInt64(w.ReadUnitsPerSecond) != 12000 || aws.ToInt64(w.WriteUnitsPerSecond) != 4000 || w.Status != ddbtypes.TableStatusActive {
		t.Fatalf("orders warm throughput = %+v", w)
	}
	if s := desc("sessions"); s.SSEDescription != nil {
		t.Fatalf("sessions (no SSE set) SSEDescription = %+v", s.SSEDescription)
	}
	cust := desc("arn:aws:dynamodb:eu-west-1:222222222222:table/customers")
	if sse := cust.SSEDescription; sse == nil || sse.Status != ddbtypes.SSEStatusEnabled || sse.SSEType != ddbtypes.SSETypeKms ||
		aws.ToString(sse.KMSMasterKeyArn) != "arn:aws:kms:eu-west-1:222222222222:key/cmk-1" {
		t.Fatalf("customers SSE = %+v", cust.SSEDescription)
	}
	audit := desc("audit")
	if sse := audit.SSEDescription; sse == nil || sse.SSEType != ddbtypes.SSETypeKms || len(aws.ToString(sse.KMSMasterKeyArn)) < len("arn:aws:kms:eu-west-1:222222222222:key/") {
		t.Fatalf("audit SSE = %+v", audit.SSEDescription)
	}

	if _, err := c.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("missing")}); apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("missing table: %v", err)
	}
	if _, err := dynamodb.NewFromConfig(cfg(url, member, "us-east-1")).DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("orders")}); apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("table of another region: %v", err)
	}
	if _, err := dynamodb.NewFromConfig(cfg(url, member, "ap-east-1")).ListTables(ctx(t), &dynamodb.ListTablesInput{}); apiCode(err) != "OptInRequired" {
		t.Fatalf("disabled region: %v", err)
	}
}

// TestDynamoDBResponseCRC32: DynamoDB signs every response body with
// X-Amz-Crc32, and the SDK checks it; without it the SDK logs a checksum
// mismatch on every call.
func TestDynamoDBResponseCRC32(t *testing.T) {
	t.Parallel()
	_, url := sim(t, dynamodbWorld(t), Options{})
	var headers []http.Header
	c := dynamodb.NewFromConfig(cfg(url, member, "eu-west-1"), func(o *dynamodb.Options) {
		o.HTTPClient = recordingClient{next: http.DefaultClient, headers: &headers}
	})
	if _, err := c.ListTables(ctx(t), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("no-such-table")}); err == nil {
		t.Fatal("DescribeTable of a missing table succeeded")
	}
	if len(headers) != 2 {
		t.Fatalf("%d responses recorded", len(headers))
	}
	for i, h := range headers {
		if h.Get("X-Amz-Crc32") == "" {
			t.Errorf("response %d has no X-Amz-Crc32", i)
		}
	}
}

// recordingClient keeps each response's headers, after checking the body
// against X-Amz-Crc32.
type recordingClient struct {
	next    *http.Client
	headers *[]http.Header
}

func (r recordingClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.next.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if v := resp.Header.Get("X-Amz-Crc32"); v != "" && v != strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10) {
		resp.Header.Set("X-Amz-Crc32", "") // recorded as missing: wrong
	}
	*r.headers = append(*r.headers, resp.Header.Clone())
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
