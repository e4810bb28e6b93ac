// Package collect reads, with aws-sdk-go-v2, what dpsweep's controls need
// from one AWS account and region. Each collector covers one slice of one
// service, pages every list to the end, and reports what it could not read
// (AccessDenied, a disabled region, a timeout) instead of failing the
// inventory. Resources stream out as they are read, so memory stays bounded
// by a chunk, not by the account's size.
package collect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/smithy-go"
	"google.golang.org/protobuf/types/known/structpb"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
)

// Scope of a collector.
type Scope = collectionv1.Scope

// Collector reads one slice of one service.
type Collector struct {
	// Name is stable: "<service>.<what>", e.g. "s3.buckets".
	Name        string
	Service     string
	Scope       Scope
	Types       []string // resource types it emits
	Actions     []string // IAM actions it calls
	Description string
	// OnRequest collectors run only when named (organizations.accounts,
	// which only the management account answers).
	OnRequest bool
	Run       func(ctx context.Context, e *Env) error
}

var registry []*Collector

func register(c *Collector) { registry = append(registry, c) }

// Collectors lists every collector, by name.
func Collectors() []*Collector {
	out := slices.Clone(registry)
	slices.SortFunc(out, func(a, b *Collector) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Actions is the union of every collector's IAM actions, sorted: the
// least-privilege policy of the scanner's role.
func Actions() []string {
	set := map[string]bool{"sts:GetCallerIdentity": true, "account:ListRegions": true, "ec2:DescribeRegions": true}
	for _, c := range registry {
		for _, a := range c.Actions {
			set[a] = true
		}
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// Sink receives what collectors read. It is safe for concurrent use.
type Sink interface {
	Resource(*collectionv1.Resource) error
	Error(*collectionv1.CollectionError)
}

// Env is what a collector runs with: clients for the target account and
// region, the sink, and a cache shared by the collectors of one inventory.
type Env struct {
	Account, Region, Partition string
	Clients                    *Clients
	Sink                       Sink
	collector                  *Collector
	shared                     *sync.Map
}

// emit sends a resource built from attributes and free-form fields.
func (e *Env) emit(typ, arn, region, name string, attrs map[string]any, fields []*collectionv1.FreeFormField) error {
	s, err := structpb.NewStruct(normalize(attrs).(map[string]any))
	if err != nil {
		return fmt.Errorf("%s: attributes of %s: %w", e.collector.Name, arn, err)
	}
	return e.Sink.Resource(&collectionv1.Resource{Arn: arn, ResourceType: typ, AccountId: e.Account, Region: region, Name: name,
		Attributes: s, FreeFormFields: fields, Collector: e.collector.Name})
}

// normalize turns collector values into what structpb accepts.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			x[k] = normalize(vv)
		}
		return x
	case []map[string]any:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = normalize(m)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	case int:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case *string:
		if x == nil {
			return nil
		}
		return *x
	case *bool:
		if x == nil {
			return nil
		}
		return *x
	}
	return v
}

// fail reports what the collector could not read. It returns nil for the
// errors that are findings (access denied, disabled region, ...) and the
// error itself when the context is done.
func (e *Env) fail(ctx context.Context, action, resourceARN string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	reason, code := Classify(err)
	msg := fmt.Sprintf("%s failed: %s", action, code)
	e.Sink.Error(&collectionv1.CollectionError{Collector: e.collector.Name, Action: action, Reason: reason, ErrorCode: code,
		Message: msg, ResourceTypes: e.collector.Types, ResourceArn: resourceARN, Region: e.Region})
	return nil
}

// Classify maps an SDK error to a reason and the AWS error code. Messages
// are not kept: they can quote request data.
func Classify(err error) (collectionv1.ErrorReason, string) {
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return collectionv1.ErrorReason_ERROR_REASON_TIMEOUT, "Timeout"
	case errors.Is(err, errFIPSUnavailable):
		return collectionv1.ErrorReason_ERROR_REASON_ENDPOINT_UNAVAILABLE, "NoFIPSEndpoint"
	case errors.Is(err, errAssumeRole):
		return collectionv1.ErrorReason_ERROR_REASON_ASSUME_ROLE_FAILED, orDefault(code, "AssumeRoleFailed")
	}
	switch code {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "ForbiddenException", "UnauthorizedException":
		return collectionv1.ErrorReason_ERROR_REASON_ACCESS_DENIED, code
	case "OptInRequired", "AuthFailure", "UnrecognizedClientException", "InvalidClientTokenId":
		return collectionv1.ErrorReason_ERROR_REASON_REGION_DISABLED, code
	case "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown", "ThrottledException":
		return collectionv1.ErrorReason_ERROR_REASON_THROTTLED, code
	case "":
		return collectionv1.ErrorReason_ERROR_REASON_OTHER, "ClientError"
	}
	return collectionv1.ErrorReason_ERROR_REASON_OTHER, code
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// isCode reports whether err is an AWS error with one of the codes.
func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && slices.Contains(codes, ae.ErrorCode())
}

// field builds a free-form field; empty values are left out.
func field(fields []*collectionv1.FreeFormField, path string, kind collectionv1.FieldKind, value string) []*collectionv1.FreeFormField {
	if value == "" {
		return fields
	}
	return append(fields, &collectionv1.FreeFormField{Path: path, Kind: kind, Value: value})
}

const (
	kindName  = collectionv1.FieldKind_FIELD_KIND_NAME
	kindDesc  = collectionv1.FieldKind_FIELD_KIND_DESCRIPTION
	kindOwner = collectionv1.FieldKind_FIELD_KIND_OWNER
	kindURL   = collectionv1.FieldKind_FIELD_KIND_URL
	kindTagV  = collectionv1.FieldKind_FIELD_KIND_TAG_VALUE
	kindLabel = collectionv1.FieldKind_FIELD_KIND_LABEL
	kindOther = collectionv1.FieldKind_FIELD_KIND_OTHER
)

// tagFields adds a tag map's values as "Tags[key]", empty values too: the
// key is free-form text as well.
func tagFields(fields []*collectionv1.FreeFormField, tags map[string]string) []*collectionv1.FreeFormField {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fields = append(fields, &collectionv1.FreeFormField{Path: "Tags[" + k + "]", Kind: kindTagV, Value: tags[k]})
	}
	return fields
}

// arn builds an ARN in the env's partition.
func (e *Env) arn(service, region, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", e.Partition, service, region, e.Account, resource)
}
