package server

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// CloudTrail, JSON 1.1.
func init() {
	register("cloudtrail", "DescribeTrails", ctDescribeTrails)
	register("cloudtrail", "GetTrailStatus", ctGetTrailStatus)
	register("cloudtrail", "GetEventSelectors", ctGetEventSelectors)
	register("cloudtrail", "LookupEvents", ctLookupEvents)
}

// homedTrail is a trail with the region it lives in.
type homedTrail struct {
	*world.Trail
	home string
}

func (c *Call) trailARN(t homedTrail) string {
	return c.S.w.ARN("cloudtrail", t.home, c.Account.ID, "trail/"+t.Name)
}

// visibleTrails are the trails CloudTrail shows in the call's region: those
// whose home it is, then (with shadows) the multi-region trails homed in
// the account's other enabled regions.
func (c *Call) visibleTrails(shadows bool) []homedTrail {
	var out []homedTrail
	for _, t := range c.Account.In(c.Region).Trails {
		out = append(out, homedTrail{t, c.Region})
	}
	if !shadows {
		return out
	}
	for _, r := range c.S.w.Regions {
		if r.Name == c.Region || !c.S.w.RegionEnabled(c.Account, r.Name) {
			continue
		}
		for _, t := range c.Account.In(r.Name).Trails {
			if t.MultiRegion {
				out = append(out, homedTrail{t, r.Name})
			}
		}
	}
	return out
}

// findTrail resolves a trail name (home trails of the region only, as AWS
// does) or ARN (home or shadow trails).
func (c *Call) findTrail(nameOrARN string) (homedTrail, error) {
	if nameOrARN == "" {
		return homedTrail{}, &APIError{Code: "InvalidTrailNameException", Message: "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).", Status: 400}
	}
	isARN := strings.HasPrefix(nameOrARN, "arn:")
	for _, t := range c.visibleTrails(isARN) {
		if (isARN && c.trailARN(t) == nameOrARN) || (!isARN && t.Name == nameOrARN) {
			return t, nil
		}
	}
	arn := nameOrARN
	if !isARN {
		arn = c.S.w.ARN("cloudtrail", c.Region, c.Account.ID, "trail/"+nameOrARN)
	}
	return homedTrail{}, &APIError{Code: "TrailNotFoundException", Message: fmt.Sprintf("Unknown trail: %s for the user: %s", arn, c.Account.ID), Status: 400}
}

func (c *Call) kmsKeyARN(region, id string) string {
	if id == "" || strings.HasPrefix(id, "arn:") {
		return id
	}
	return c.S.w.ARN("kms", region, c.Account.ID, "key/"+id)
}

func ctDescribeTrails(c *Call) (any, error) {
	var in struct {
		TrailNameList       []string `json:"trailNameList"`
		IncludeShadowTrails *bool    `json:"includeShadowTrails"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	shadows := in.IncludeShadowTrails == nil || *in.IncludeShadowTrails
	out := []map[string]any{}
	for _, t := range c.visibleTrails(shadows) {
		if len(in.TrailNameList) > 0 && !slices.Contains(in.TrailNameList, t.Name) && !slices.Contains(in.TrailNameList, c.trailARN(t)) {
			continue
		}
		tr := map[string]any{
			"Name": t.Name, "TrailARN": c.trailARN(t), "HomeRegion": t.home, "S3BucketName": t.S3Bucket,
			"IsMultiRegionTrail": t.MultiRegion, "IncludeGlobalServiceEvents": true,
			"LogFileValidationEnabled": t.LogFileValidation, "IsOrganizationTrail": t.OrganizationTrail,
			"HasCustomEventSelectors": false, "HasInsightSelectors": false,
		}
		if t.KMSKeyID != "" {
			tr["KmsKeyId"] = c.kmsKeyARN(t.home, t.KMSKeyID)
		}
		out = append(out, tr)
	}
	return map[string]any{"trailList": out}, nil
}

func ctGetTrailStatus(c *Call) (any, error) {
	var in struct {
		Name string `json:"Name"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	t, err := c.findTrail(in.Name)
	if err != nil {
		return nil, err
	}
	// A trail that is not logging logged for a day after the account was
	// created and was then stopped; a logging trail has logged since then.
	// AWS answers the times twice, as timestamps and (TimeLogging*,
	// LatestDeliveryAttempt*) as ISO 8601 strings.
	started := c.Account.Created
	if started.IsZero() {
		started = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	now := c.S.now()
	last := now
	out := map[string]any{"IsLogging": t.Logging, "StartLoggingTime": epoch(started), "TimeLoggingStarted": isoSeconds(started)}
	if !t.Logging {
		last = started.Add(24 * time.Hour)
		if last.After(now) {
			last = now
		}
		out["StopLoggingTime"] = epoch(last)
		out["TimeLoggingStopped"] = isoSeconds(last)
	}
	delivered := last.Add(-5 * time.Minute).Truncate(time.Second)
	if delivered.Before(started) {
		delivered = started
	}
	out["LatestDeliveryTime"] = epoch(delivered)
	out["LatestDeliveryAttemptTime"] = isoSeconds(delivered)
	out["LatestDeliveryAttemptSucceeded"] = isoSeconds(delivered)
	if t.LogFileValidation {
		digest := last.Add(-time.Hour).Truncate(time.Hour)
		if digest.Before(started) {
			digest = started
		}
		out["LatestDigestDeliveryTime"] = epoch(digest)
	}
	return out, nil
}

// isoSeconds is the ISO 8601 form of GetTrailStatus' string times.
func isoSeconds(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func ctGetEventSelectors(c *Call) (any, error) {
	var in struct {
		TrailName string `json:"TrailName"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	t, err := c.findTrail(in.TrailName)
	if err != nil {
		return nil, err
	}
	sel := []map[string]any{}
	if t.ManagementEvents != "" {
		sel = append(sel, map[string]any{
			"ReadWriteType": t.ManagementEvents, "IncludeManagementEvents": true,
			"DataResources": []any{}, "ExcludeManagementEventSources": []any{},
		})
	}
	return map[string]any{"TrailARN": c.trailARN(t), "EventSelectors": sel}, nil
}

// LookupEvents is limited by AWS to 2 requests per second per account and
// region; the simulator enforces that with a token bucket on the wall
// clock (not Options.Now, which may stand still in tests).
const (
	lookupEventsRate  = 2.0 // tokens per second
	lookupEventsBurst = 2.0
)

type tokenBucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func (b *tokenBucket) take(now time.Time, rate, burst float64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

var lookupBuckets sync.Map // "<server>/<account>/<region>" -> *tokenBucket

func (c *Call) allowLookupEvents() bool {
	key := fmt.Sprintf("%p/%s/%s", c.S, c.Account.ID, c.Region)
	now := time.Now()
	v, ok := lookupBuckets.Load(key)
	if !ok {
		v, _ = lookupBuckets.LoadOrStore(key, &tokenBucket{tokens: lookupEventsBurst, last: now})
	}
	return v.(*tokenBucket).take(now, lookupEventsRate, lookupEventsBurst)
}

func eventReadOnly(name string) bool {
	for _, p := range []string{"Get", "List", "Describe", "Search", "Scan", "Query", "Lookup", "BatchGet", "Head"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// eventIdentity is the caller of an event: its userIdentity type and ARN.
func (c *Call) eventIdentity(e *world.Event) (typ, arn, username string) {
	arn = e.CallerARN
	if arn == "" && e.Username != "" {
		arn = fmt.Sprintf("arn:%s:iam::%s:user/%s", c.S.w.Partition, c.Account.ID, e.Username)
	}
	switch {
	case strings.HasSuffix(arn, ":root"):
		typ = "Root"
	case strings.Contains(arn, ":assumed-role/"):
		typ = "AssumedRole"
	case strings.Contains(arn, ":user/"):
		typ = "IAMUser"
	case strings.Contains(arn, ":federated-user/"):
		typ = "FederatedUser"
	default:
		typ = "AWSService"
	}
	username = e.Username
	if username == "" && arn != "" {
		username = arn[strings.LastIndexAny(arn, "/:")+1:]
		if typ == "Root" {
			username = "root"
		}
	}
	return typ, arn, username
}

func (c *Call) cloudTrailEvent(e *world.Event) string {
	typ, arn, _ := c.eventIdentity(e)
	host := e.Source
	if svc, ok := strings.CutSuffix(e.Source, ".amazonaws.com"); ok {
		host = svc + "." + c.Region + "." + dnsSuffix(c.S.w.Partition)
	}
	id := map[string]any{"type": typ, "accountId": c.Account.ID}
	if arn != "" {
		id["arn"] = arn
		id["principalId"] = strings.ToUpper(shortHash(arn, 21))
	}
	rec := map[string]any{
		"eventVersion": "1.08", "userIdentity": id, "eventTime": e.Time.UTC().Format("2006-01-02T15:04:05Z"),
		"eventSource": e.Source, "eventName": e.Name, "awsRegion": c.Region,
		"sourceIPAddress": fmt.Sprintf("203.0.113.%d", 1+int(sha256.Sum256([]byte(e.ID))[0])%254), "userAgent": "aws-cli/2.15.0",
		"requestParameters": nil, "responseElements": nil, "requestID": pseudoUUID("req/" + e.ID), "eventID": e.ID,
		"readOnly": eventReadOnly(e.Name), "eventType": "AwsApiCall", "managementEvent": true,
		"recipientAccountId": c.Account.ID, "eventCategory": "Management",
	}
	if e.TLSVersion != "" {
		cipher := e.CipherSuite
		if cipher == "" {
			cipher = "ECDHE-RSA-AES128-GCM-SHA256"
		}
		rec["tlsDetails"] = map[string]any{"tlsVersion": e.TLSVersion, "cipherSuite": cipher, "clientProvidedHostHeader": host}
	}
	b, _ := json.Marshal(rec)
	return string(b)
}

func ctLookupEvents(c *Call) (any, error) {
	if !c.allowLookupEvents() {
		return nil, &APIError{Code: "ThrottlingException", Message: "Rate exceeded", Status: 400}
	}
	var in struct {
		LookupAttributes []struct {
			AttributeKey   string `json:"AttributeKey"`
			AttributeValue string `json:"AttributeValue"`
		} `json:"LookupAttributes"`
		StartTime     *float64 `json:"StartTime"`
		EndTime       *float64 `json:"EndTime"`
		EventCategory string   `json:"EventCategory"`
		MaxResults    *int     `json:"MaxResults"`
		NextToken     string   `json:"NextToken"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.LookupAttributes) > 1 {
		return nil, &APIError{Code: "InvalidLookupAttributesException", Message: "You can only specify one lookup attribute.", Status: 400}
	}
	max := 50
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			return nil, &APIError{Code: "InvalidMaxResultsException", Message: "MaxResults must be between 1 and 50.", Status: 400}
		}
		max = *in.MaxResults
	}
	toTime := func(f *float64) time.Time {
		if f == nil {
			return time.Time{}
		}
		return time.UnixMilli(int64(*f * 1000)).UTC()
	}
	start, end := toTime(in.StartTime), toTime(in.EndTime)
	if !start.IsZero() && !end.IsZero() && start.After(end) {
		return nil, &APIError{Code: "InvalidTimeRangeException", Message: "Start time must be before end time.", Status: 400}
	}
	if in.EventCategory != "" && in.EventCategory != "insight" {
		return nil, &APIError{Code: "InvalidEventCategoryException", Message: "EventCategory must be insight.", Status: 400}
	}
	var sel []*world.Event
	if in.EventCategory == "" {
		for _, e := range c.Account.In(c.Region).Events {
			if (!start.IsZero() && e.Time.Before(start)) || (!end.IsZero() && e.Time.After(end)) {
				continue
			}
			if len(in.LookupAttributes) == 1 {
				a := in.LookupAttributes[0]
				_, _, user := c.eventIdentity(e)
				var have string
				switch a.AttributeKey {
				case "EventSource":
					have = e.Source
				case "EventName":
					have = e.Name
				case "EventId":
					have = e.ID
				case "Username":
					have = user
				case "ReadOnly":
					have = fmt.Sprint(eventReadOnly(e.Name))
				case "ResourceType", "ResourceName", "AccessKeyId":
					have = "\x00" // the world keeps none of these
				default:
					return nil, &APIError{Code: "InvalidLookupAttributesException", Message: fmt.Sprintf("Invalid AttributeKey: %s", a.AttributeKey), Status: 400}
				}
				if have != a.AttributeValue {
					continue
				}
			}
			sel = append(sel, e)
		}
	}
	// Newest first, as CloudTrail answers.
	slices.SortStableFunc(sel, func(a, b *world.Event) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	page, next, err := pageOf(c, sel, in.NextToken, max)
	if err != nil {
		return nil, &APIError{Code: "InvalidNextTokenException", Message: "Invalid NextToken.", Status: 400}
	}
	events := []map[string]any{}
	for _, e := range page {
		_, _, user := c.eventIdentity(e)
		ev := map[string]any{
			"EventId": e.ID, "EventName": e.Name, "EventSource": e.Source, "EventTime": epoch(e.Time),
			"ReadOnly": fmt.Sprint(eventReadOnly(e.Name)), "Resources": []any{}, "CloudTrailEvent": c.cloudTrailEvent(e),
		}
		if user != "" {
			ev["Username"] = user
		}
		events = append(events, ev)
	}
	return map[string]any{"Events": events, "NextToken": omitEmpty(next)}, nil
}
