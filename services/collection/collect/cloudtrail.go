package collect

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
)

const regional = collectionv1.Scope_SCOPE_REGIONAL

func init() {
	register(&Collector{
		Name: "cloudtrail.account", Service: "cloudtrail", Scope: global, Types: []string{"AWS::CloudTrail::AccountTrails"},
		Actions:     []string{"cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus"},
		Description: "the account's multi-region trails and whether they are logging (read once, from the default region)",
		Run:         collectTrailsAccount,
	})
	register(&Collector{
		Name: "cloudtrail.trails", Service: "cloudtrail", Scope: regional, Types: []string{"AWS::CloudTrail::Trail"},
		Actions:     []string{"cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"},
		Description: "trails whose home region this is: logging, log file validation, KMS encryption, management events",
		Run:         collectTrails,
	})
	register(&Collector{
		Name: "cloudtrail.events", Service: "cloudtrail", Scope: regional, Types: []string{"AWS::CloudTrail::EventSource"},
		Actions:     []string{"cloudtrail:LookupEvents"},
		Description: "TLS versions of the callers of the Service Catalog and Serverless Application Repository APIs (LookupEvents, at most 2 requests/s)",
		Run:         collectEvents,
	})
}

func trailStatus(ctx context.Context, c *cloudtrail.Client, arn string) (*cloudtrail.GetTrailStatusOutput, error) {
	return c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
}

func collectTrailsAccount(ctx context.Context, e *Env) error {
	c := e.Clients.CloudTrail()
	arn := e.arn("cloudtrail", "", "account")
	out, err := c.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return e.fail(ctx, "cloudtrail:DescribeTrails", arn, err)
	}
	var trails []any
	for _, t := range out.TrailList {
		if !aws.ToBool(t.IsMultiRegionTrail) {
			continue
		}
		st, err := trailStatus(ctx, c, aws.ToString(t.TrailARN))
		if err != nil {
			// Reported against the account's trails, whose verdict it leaves open.
			if ferr := e.fail(ctx, "cloudtrail:GetTrailStatus", arn, err); ferr != nil {
				return ferr
			}
			trails = append(trails, map[string]any{"arn": aws.ToString(t.TrailARN), "home_region": aws.ToString(t.HomeRegion), "logging": nil})
			continue
		}
		trails = append(trails, map[string]any{"arn": aws.ToString(t.TrailARN), "home_region": aws.ToString(t.HomeRegion), "logging": aws.ToBool(st.IsLogging)})
	}
	return e.emit("AWS::CloudTrail::AccountTrails", arn, "global", "cloudtrail", map[string]any{"multi_region_trails": trails}, nil)
}

func collectTrails(ctx context.Context, e *Env) error {
	c := e.Clients.CloudTrail()
	out, err := c.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)})
	if err != nil {
		return e.fail(ctx, "cloudtrail:DescribeTrails", "", err)
	}
	for _, t := range out.TrailList {
		if aws.ToString(t.HomeRegion) != e.Region {
			continue
		}
		arn := aws.ToString(t.TrailARN)
		attrs := map[string]any{"name": aws.ToString(t.Name), "multi_region": aws.ToBool(t.IsMultiRegionTrail),
			"log_file_validation": aws.ToBool(t.LogFileValidationEnabled), "kms_key_id": aws.ToString(t.KmsKeyId),
			"s3_bucket": aws.ToString(t.S3BucketName), "organization_trail": aws.ToBool(t.IsOrganizationTrail)}
		if st, err := trailStatus(ctx, c, arn); err != nil {
			if ferr := e.fail(ctx, "cloudtrail:GetTrailStatus", arn, err); ferr != nil {
				return ferr
			}
		} else {
			attrs["logging"] = aws.ToBool(st.IsLogging)
		}
		if sel, err := c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(arn)}); err != nil {
			if ferr := e.fail(ctx, "cloudtrail:GetEventSelectors", arn, err); ferr != nil {
				return ferr
			}
		} else {
			attrs["management_events"] = managementEvents(sel)
		}
		if err := e.emit("AWS::CloudTrail::Trail", arn, e.Region, aws.ToString(t.Name), attrs, nil); err != nil {
			return err
		}
	}
	return nil
}

// managementEvents folds a trail's selectors into All, ReadOnly, WriteOnly or "".
func managementEvents(sel *cloudtrail.GetEventSelectorsOutput) string {
	read, write := false, false
	for _, s := range sel.EventSelectors {
		if !aws.ToBool(s.IncludeManagementEvents) {
			continue
		}
		switch s.ReadWriteType {
		case cttypes.ReadWriteTypeAll:
			read, write = true, true
		case cttypes.ReadWriteTypeReadOnly:
			read = true
		case cttypes.ReadWriteTypeWriteOnly:
			write = true
		}
	}
	switch {
	case read && write:
		return "All"
	case read:
		return "ReadOnly"
	case write:
		return "WriteOnly"
	}
	return ""
}

// DefaultLookupWindow is how far back LookupEvents looks by default.
const DefaultLookupWindow = 24 * time.Hour

var eventSources = []string{"servicecatalog.amazonaws.com", "serverlessrepo.amazonaws.com"}

// collectEvents keeps, per event source, only counts of TLS versions and
// the identities of callers below TLS 1.2 — never the events themselves.
func collectEvents(ctx context.Context, e *Env) error {
	c := e.Clients.CloudTrail()
	window := DefaultLookupWindow
	if w, ok := e.shared.Load("cloudtrail.window"); ok {
		window = w.(time.Duration)
	}
	end := time.Now()
	start := end.Add(-window)
	lim := e.Clients.EventsLimiter(e.Region)
	for _, src := range eventSources {
		arn := e.arn("cloudtrail", e.Region, "eventsource/"+src)
		versions := map[string]any{}
		weak := map[string]bool{}
		total := 0
		var token *string
		for {
			if err := lim.Wait(ctx); err != nil {
				return err
			}
			out, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{
				LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String(src)}},
				StartTime:        aws.Time(start), EndTime: aws.Time(end), NextToken: token, MaxResults: aws.Int32(50),
			})
			if err != nil {
				if ferr := e.fail(ctx, "cloudtrail:LookupEvents", arn, err); ferr != nil {
					return ferr
				}
				total = -1
				break
			}
			for _, ev := range out.Events {
				var doc struct {
					UserIdentity struct {
						ARN string `json:"arn"`
					} `json:"userIdentity"`
					TLS *struct {
						Version string `json:"tlsVersion"`
					} `json:"tlsDetails"`
				}
				_ = json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &doc)
				v := "none"
				if doc.TLS != nil && doc.TLS.Version != "" {
					v = doc.TLS.Version
				}
				n, _ := versions[v].(float64)
				versions[v] = n + 1
				total++
				if v == "TLSv1" || v == "TLSv1.1" {
					weak[doc.UserIdentity.ARN] = true
				}
			}
			if token = out.NextToken; token == nil {
				break
			}
		}
		if total <= 0 {
			continue // no events from this source, or unreadable (reported)
		}
		callers := make([]string, 0, len(weak))
		for a := range weak {
			callers = append(callers, a)
		}
		slices.Sort(callers)
		if err := e.emit("AWS::CloudTrail::EventSource", arn, e.Region, src, map[string]any{
			"event_source": src, "events": total, "tls_versions": versions, "callers_below_tls12": callers, "window_hours": window.Hours(),
		}, nil); err != nil {
			return err
		}
	}
	return nil
}
