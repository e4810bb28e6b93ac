package server

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// cloudtrailWorld: the member has a multi-region trail homed in us-east-1,
// a single-region trail in eu-west-1, and events in eu-west-1.
func cloudtrailWorld(t testing.TB) *world.World {
	t.Helper()
	w := &world.World{
		OrganizationID: "o-abcdefghij", ManagementAccount: mgmt, RootID: "r-ab12",
		Regions: []world.RegionInfo{{Name: "us-east-1"}, {Name: "eu-west-1"}, {Name: "ap-east-1", OptIn: true}},
		Accounts: []*world.Account{
			{ID: mgmt, Name: "management", Email: "aws-mgmt@example.com", Created: t0,
				Regional: map[string]*world.Regional{"us-east-1": {Trails: []*world.Trail{
					{Name: "org-trail", MultiRegion: true, Logging: true, S3Bucket: "org-logs", ManagementEvents: "All", OrganizationTrail: true},
				}}}},
			{ID: member, Name: "prod", Email: "aws-prod@example.com", Created: t0,
				Regional: map[string]*world.Regional{
					"us-east-1": {Trails: []*world.Trail{
						{Name: "main", MultiRegion: true, Logging: true, LogFileValidation: true, KMSKeyID: "k-trail", S3Bucket: "prod-trail", ManagementEvents: "All"},
						{Name: "local-us", S3Bucket: "prod-trail-us"},
					}},
					"eu-west-1": {
						Trails: []*world.Trail{{Name: "eu-writes", Logging: false, S3Bucket: "prod-trail-eu", ManagementEvents: "WriteOnly",
							KMSKeyID: "arn:aws:kms:eu-west-1:222222222222:key/k-eu"}},
						Events: []*world.Event{
							{ID: "ev-1", Source: "servicecatalog.amazonaws.com", Name: "ListPortfolios", Time: t0.Add(-3 * time.Hour), Username: "alice", TLSVersion: "TLSv1.2", CipherSuite: "ECDHE-RSA-AES128-GCM-SHA256"},
							{ID: "ev-2", Source: "servicecatalog.amazonaws.com", Name: "CreatePortfolio", Time: t0.Add(-2 * time.Hour), CallerARN: "arn:aws:sts::222222222222:assumed-role/Admin/bob", TLSVersion: "TLSv1.3"},
							{ID: "ev-3", Source: "serverlessrepo.amazonaws.com", Name: "ListApplications", Time: t0.Add(-1 * time.Hour), CallerARN: "arn:aws:iam::222222222222:root"},
							{ID: "ev-4", Source: "servicecatalog.amazonaws.com", Name: "DescribeProduct", Time: t0.Add(-30 * time.Minute), Username: "carol"},
						},
					},
				}},
			{ID: optin, Name: "asia", Email: "aws-asia@example.com", Created: t0},
		},
	}
	if err := w.Index(); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestCloudTrailDescribeTrails(t *testing.T) {
	t.Parallel()
	_, url := sim(t, cloudtrailWorld(t), Options{})
	names := func(out *cloudtrail.DescribeTrailsOutput) []string {
		var n []string
		for _, tr := range out.TrailList {
			n = append(n, aws.ToString(tr.Name)+"@"+aws.ToString(tr.HomeRegion))
		}
		return n
	}
	eu := cloudtrail.NewFromConfig(cfg(url, member, "eu-west-1"))
	out, err := eu.DescribeTrails(ctx(t), &cloudtrail.DescribeTrailsInput{})
	if err != nil {
		t.Fatal(err)
	}
	// The home trail, then the multi-region trail homed in us-east-1 as a shadow.
	if got := names(out); !slices.Equal(got, []string{"eu-writes@eu-west-1", "main@us-east-1"}) {
		t.Fatalf("eu-west-1 trails = %v", got)
	}
	euw, main := out.TrailList[0], out.TrailList[1]
	if aws.ToString(main.TrailARN) != "arn:aws:cloudtrail:us-east-1:222222222222:trail/main" || !aws.ToBool(main.IsMultiRegionTrail) ||
		!aws.ToBool(main.LogFileValidationEnabled) || aws.ToString(main.KmsKeyId) != "arn:aws:kms:us-east-1:222222222222:key/k-trail" ||
		aws.ToString(main.S3BucketName) != "prod-trail" || aws.ToBool(main.IsOrganizationTrail) || !aws.ToBool(main.IncludeGlobalServiceEvents) {
		t.Fatalf("main trail = %+v", main)
	}
	if aws.ToBool(euw.IsMultiRegionTrail) || aws.ToBool(euw.LogFileValidationEnabled) || aws.ToString(euw.KmsKeyId) != "arn:aws:kms:eu-west-1:222222222222:key/k-eu" {
		t.Fatalf("eu trail = %+v", euw)
	}
	out, err = eu.DescribeTrails(ctx(t), &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)})
	if err != nil || !slices.Equal(names(out), []string{"eu-writes@eu-west-1"}) {
		t.Fatalf("without shadow trails = %v, %v", out, err)
	}
	out, err = eu.DescribeTrails(ctx(t), &cloudtrail.DescribeTrailsInput{TrailNameList: []string{"arn:aws:cloudtrail:us-east-1:222222222222:trail/main"}})
	if err != nil || !slices.Equal(names(out), []string{"main@us-east-1"}) {
		t.Fatalf("by ARN = %v, %v", out, err)
	}
	us := cloudtrail.NewFromConfig(cfg(url, member, "us-east-1"))
	out, err = us.DescribeTrails(ctx(t), &cloudtrail.DescribeTrailsInput{})
	if err != nil || !slices.Equal(names(out), []string{"main@us-east-1", "local-us@us-east-1"}) {
		t.Fatalf("us-east-1 trails = %v, %v", out, err)
	}
	// Another account's trails are its own.
	out, err = cloudtrail.NewFromConfig(cfg(url, mgmt, "eu-west-1")).DescribeTrails(ctx(t), &cloudtrail.DescribeTrailsInput{})
	if err != nil || !slices.Equal(names(out), []string{"org-trail@us-east-1"}) || !aws.ToBool(out.TrailList[0].IsOrganizationTrail) {
		t.Fatalf("management trails = %v, %v", out, err)
	}
	if _, err := cloudtrail.NewFromConfig(cfg(url, member, "ap-east-1")).DescribeTrails(ctx(t), &cloudtrail.DescribeTrailsInput{}); apiCode(err) != "OptInRequired" {
		t.Fatalf("disabled region: %v", err)
	}
}

func TestCloudTrailStatusAndSelectors(t *testing.T) {
	t.Parallel()
	_, url := sim(t, cloudtrailWorld(t), Options{})
	eu := cloudtrail.NewFromConfig(cfg(url, member, "eu-west-1"))
	st, err := eu.GetTrailStatus(ctx(t), &cloudtrail.GetTrailStatusInput{Name: aws.String("eu-writes")})
	if err != nil || aws.ToBool(st.IsLogging) {
		t.Fatalf("eu-writes status = %+v, %v", st, err)
	}
	// A stopped trail logged once: it reports when it started, stopped and
	// last delivered, as timestamps and as strings.
	if st.StartLoggingTime == nil || st.StopLoggingTime == nil || !st.StopLoggingTime.After(*st.StartLoggingTime) ||
		st.LatestDeliveryTime == nil || st.LatestDeliveryTime.After(*st.StopLoggingTime) ||
		aws.ToString(st.TimeLoggingStarted) != st.StartLoggingTime.UTC().Format(time.RFC3339) ||
		aws.ToString(st.TimeLoggingStopped) != st.StopLoggingTime.UTC().Format(time.RFC3339) {
		t.Fatalf("eu-writes status times = %+v", st)
	}
	st, err = eu.GetTrailStatus(ctx(t), &cloudtrail.GetTrailStatusInput{Name: aws.String("arn:aws:cloudtrail:us-east-1:222222222222:trail/main")})
	if err != nil || !aws.ToBool(st.IsLogging) || st.LatestDeliveryTime == nil || aws.ToString(st.TimeLoggingStarted) == "" ||
		st.StopLoggingTime != nil || aws.ToString(st.TimeLoggingStopped) != "" {
		t.Fatalf("shadow trail status by ARN = %+v, %v", st, err)
	}
	// A shadow trail is found by ARN only, as in AWS.
	if _, err := eu.GetTrailStatus(ctx(t), &cloudtrail.GetTrailStatusInput{Name: aws.String("main")}); apiCode(err) != "TrailNotFoundException" {
		t.Fatalf("shadow trail by name: %v", err)
	}
	if _, err := eu.GetTrailStatus(ctx(t), &cloudtrail.GetTrailStatusInput{Name: aws.String("nope")}); apiCode(err) != "TrailNotFoundException" {
		t.Fatalf("missing trail: %v", err)
	}
	sel, err := eu.GetEventSelectors(ctx(t), &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("eu-writes")})
	if err != nil || len(sel.EventSelectors) != 1 || sel.EventSelectors[0].ReadWriteType != cttypes.ReadWriteTypeWriteOnly ||
		!aws.ToBool(sel.EventSelectors[0].IncludeManagementEvents) || aws.ToString(sel.TrailARN) != "arn:aws:cloudtrail:eu-west-1:222222222222:trail/eu-writes" {
		t.Fatalf("eu-writes selectors = %+v, %v", sel, err)
	}
	us := cloudtrail.NewFromConfig(cfg(url, member, "us-east-1"))
	sel, err = us.GetEventSelectors(ctx(t), &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("main")})
	if err != nil || len(sel.EventSelectors) != 1 || sel.EventSelectors[0].ReadWriteType != cttypes.ReadWriteTypeAll {
		t.Fatalf("main selectors = %+v, %v", sel, err)
	}
	sel, err = us.GetEventSelectors(ctx(t), &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("local-us")})
	if err != nil || len(sel.EventSelectors) != 0 {
		t.Fatalf("trail without management events = %+v, %v", sel, err)
	}
	if _, err := us.GetEventSelectors(ctx(t), &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("nope")}); apiCode(err) != "TrailNotFoundException" {
		t.Fatalf("missing trail: %v", err)
	}
}

// ctRetrying retries throttling long enough for the 2/s bucket to refill.
func ctRetrying(url, account, region string) aws.Config {
	c := cfg(url, account, region)
	c.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 10
			o.MaxBackoff = 600 * time.Millisecond
			o.RateLimiter = noRateLimit{}
		})
	}
	return c
}

type ctRecord struct {
	EventVersion string `json:"eventVersion"`
	UserIdentity struct {
		Type      string `json:"type"`
		ARN       string `json:"arn"`
		AccountID string `json:"accountId"`
	} `json:"userIdentity"`
	EventSource     string `json:"eventSource"`
	EventName       string `json:"eventName"`
	AWSRegion       string `json:"awsRegion"`
	SourceIPAddress string `json:"sourceIPAddress"`
	TLSDetails      *struct {
		TLSVersion               string `json:"tlsVersion"`
		CipherSuite              string `json:"cipherSuite"`
		ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
	} `json:"tlsDetails"`
}

func TestCloudTrailLookupEvents(t *testing.T) {
	t.Parallel()
	_, url := sim(t, cloudtrailWorld(t), Options{Faults: Faults{PageSize: 1}})
	c := cloudtrail.NewFromConfig(ctRetrying(url, member, "eu-west-1"))
	var events []cttypes.Event
	p := cloudtrail.NewLookupEventsPaginator(c, &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String("servicecatalog.amazonaws.com")}},
		StartTime:        aws.Time(t0.Add(-150 * time.Minute)),
		EndTime:          aws.Time(t0),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Events) > 1 {
			t.Fatalf("page of %d events with PageSize 1", len(out.Events))
		}
		events = append(events, out.Events...)
	}
	var ids []string
	for _, e := range events {
		ids = append(ids, aws.ToString(e.EventId))
	}
	// Newest first; ev-1 is before StartTime and ev-3 another source.
	if !slices.Equal(ids, []string{"ev-4", "ev-2"}) {
		t.Fatalf("events = %v", ids)
	}
	ev4, ev2 := events[0], events[1]
	if aws.ToString(ev4.EventName) != "DescribeProduct" || aws.ToString(ev4.EventSource) != "servicecatalog.amazonaws.com" ||
		!aws.ToTime(ev4.EventTime).Equal(t0.Add(-30*time.Minute)) || aws.ToString(ev4.Username) != "carol" {
		t.Fatalf("ev-4 = %+v", ev4)
	}
	var rec ctRecord
	if err := json.Unmarshal([]byte(aws.ToString(ev4.CloudTrailEvent)), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.UserIdentity.Type != "IAMUser" || rec.UserIdentity.ARN != "arn:aws:iam::222222222222:user/carol" || rec.UserIdentity.AccountID != member ||
		rec.EventName != "DescribeProduct" || rec.AWSRegion != "eu-west-1" || rec.EventVersion == "" || rec.SourceIPAddress == "" || rec.TLSDetails != nil {
		t.Fatalf("ev-4 record = %+v", rec)
	}
	rec = ctRecord{}
	if err := json.Unmarshal([]byte(aws.ToString(ev2.CloudTrailEvent)), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.UserIdentity.Type != "AssumedRole" || rec.UserIdentity.ARN != "arn:aws:sts::222222222222:assumed-role/Admin/bob" || aws.ToString(ev2.Username) != "bob" ||
		rec.TLSDetails == nil || rec.TLSDetails.TLSVersion != "TLSv1.3" || rec.TLSDetails.CipherSuite == "" ||
		rec.TLSDetails.ClientProvidedHostHeader != "servicecatalog.eu-west-1.amazonaws.com" {
		t.Fatalf("ev-2 record = %+v", rec)
	}
	// Everything, with the SDK's own MaxResults.
	out, err := c.LookupEvents(ctx(t), &cloudtrail.LookupEventsInput{})
	if err != nil || len(out.Events) != 1 || out.NextToken == nil {
		t.Fatalf("first page of all = %+v, %v", out, err)
	}
	out, err = c.LookupEvents(ctx(t), &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("ListPortfolios")}}})
	if err != nil || len(out.Events) != 1 || aws.ToString(out.Events[0].EventId) != "ev-1" {
		t.Fatalf("by event name = %+v, %v", out, err)
	}
	var r1 ctRecord
	_ = json.Unmarshal([]byte(aws.ToString(out.Events[0].CloudTrailEvent)), &r1)
	if r1.TLSDetails == nil || r1.TLSDetails.CipherSuite != "ECDHE-RSA-AES128-GCM-SHA256" || r1.TLSDetails.TLSVersion != "TLSv1.2" {
		t.Fatalf("ev-1 TLS = %+v", r1.TLSDetails)
	}
	if _, err := c.LookupEvents(ctx(t), &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)}); apiCode(err) != "InvalidMaxResultsException" {
		t.Fatalf("MaxResults 51: %v", err)
	}
	if _, err := c.LookupEvents(ctx(t), &cloudtrail.LookupEventsInput{StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(-time.Hour))}); apiCode(err) != "InvalidTimeRangeException" {
		t.Fatalf("inverted time range: %v", err)
	}
	// Other regions have their own events.
	if out, err := cloudtrail.NewFromConfig(ctRetrying(url, member, "us-east-1")).LookupEvents(ctx(t), &cloudtrail.LookupEventsInput{}); err != nil || len(out.Events) != 0 {
		t.Fatalf("us-east-1 events = %+v, %v", out, err)
	}
}

func TestCloudTrailLookupEventsRateLimit(t *testing.T) {
	t.Parallel()
	_, url := sim(t, cloudtrailWorld(t), Options{})
	c := cloudtrail.NewFromConfig(cfg(url, member, "eu-west-1")) // no retries
	ok, throttled := 0, 0
	for range 6 {
		_, err := c.LookupEvents(ctx(t), &cloudtrail.LookupEventsInput{})
		switch code := apiCode(err); {
		case err == nil:
			ok++
		case code == "ThrottlingException":
			throttled++
		default:
			t.Fatalf("LookupEvents: %v", err)
		}
	}
	if ok < 2 || ok > 3 || throttled < 3 {
		t.Fatalf("burst of 6: %d succeeded, %d throttled; want 2 (or 3 across a refill) and the rest throttled", ok, throttled)
	}
	// The limit is per account and region: another region and account are unaffected.
	if _, err := cloudtrail.NewFromConfig(cfg(url, member, "us-east-1")).LookupEvents(ctx(t), &cloudtrail.LookupEventsInput{}); err != nil {
		t.Fatalf("another region: %v", err)
	}
	if _, err := cloudtrail.NewFromConfig(cfg(url, mgmt, "eu-west-1")).LookupEvents(ctx(t), &cloudtrail.LookupEventsInput{}); err != nil {
		t.Fatalf("another account: %v", err)
	}
	// Other operations are not limited.
	for range 5 {
		if _, err := c.DescribeTrails(ctx(t), &cloudtrail.DescribeTrailsInput{}); err != nil {
			t.Fatalf("DescribeTrails after the burst: %v", err)
		}
	}
	// The bucket refills at 2 per second.
	time.Sleep(600 * time.Millisecond)
	if _, err := c.LookupEvents(ctx(t), &cloudtrail.LookupEventsInput{}); err != nil {
		t.Fatalf("after 600ms: %v", err)
	}
}
