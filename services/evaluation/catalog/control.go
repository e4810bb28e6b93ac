// Package catalog is dpsweep's control catalogue: every check the seeds ask
// for, with its metadata (where in the seeds it comes from, severity,
// rationale, remediation), the resource types it reads, the IAM actions
// whose failure leaves it unassessed, and its own pass and fail fixtures.
//
// A control is either an attribute check (Check reads a resource's
// collected configuration) or a free-form check (Fields says which text
// fields it scans and which detected entities break it); the engine runs
// both kinds and sends free-form text to the RedactionService.
package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
)

// Status is a check's verdict.
type Status int

// Statuses.
const (
	Pass Status = iota + 1
	Fail
	NotAssessed
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "PASS"
	case Fail:
		return "FAIL"
	case NotAssessed:
		return "NOT_ASSESSED"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Proto is the status's API form.
func (s Status) Proto() evaluationv1.FindingStatus {
	switch s {
	case Pass:
		return evaluationv1.FindingStatus_FINDING_STATUS_PASS
	case Fail:
		return evaluationv1.FindingStatus_FINDING_STATUS_FAIL
	case NotAssessed:
		return evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED
	}
	return evaluationv1.FindingStatus_FINDING_STATUS_UNSPECIFIED
}

// Seed traces a control to a sentence of a seed document.
type Seed struct {
	File, Title, Section, Quote string
}

// Field is one free-form text field of a resource.
type Field struct {
	Path  string
	Kind  collectionv1.FieldKind
	Value string
}

// Resource is a collected resource as checks see it.
type Resource struct {
	ARN, Type, Account, Region, Name string
	// Attrs is the collected configuration (the proto Struct as Go values:
	// bool, float64, string, []any, map[string]any, nil).
	Attrs  map[string]any
	Fields []Field
	// bad records attributes of the wrong type, which make the inventory invalid.
	bad []string
}

// NewResource converts a collected resource.
func NewResource(r *collectionv1.Resource) *Resource {
	out := &Resource{ARN: r.GetArn(), Type: r.GetResourceType(), Account: r.GetAccountId(), Region: r.GetRegion(), Name: r.GetName(),
		Attrs: r.GetAttributes().AsMap()}
	for _, f := range r.GetFreeFormFields() {
		out.Fields = append(out.Fields, Field{Path: f.GetPath(), Kind: f.GetKind(), Value: f.GetValue()})
	}
	return out
}

// BadAttributes lists the attributes a check found of the wrong type, as
// "name: want bool, got string".
func (r *Resource) BadAttributes() []string { return r.bad }

func (r *Resource) wrong(key, want string, v any) {
	got := "null"
	switch v.(type) {
	case bool:
		got = "bool"
	case float64:
		got = "number"
	case string:
		got = "string"
	case []any:
		got = "list"
	case map[string]any:
		got = "struct"
	}
	msg := key + ": want " + want + ", got " + got
	if !slices.Contains(r.bad, msg) {
		r.bad = append(r.bad, msg)
	}
}

// Has reports whether the attribute is present (null counts as present).
func (r *Resource) Has(key string) bool {
	_, ok := r.Attrs[key]
	return ok
}

// Bool reads a boolean attribute; ok is false when it is absent or null.
func (r *Resource) Bool(key string) (v, ok bool) {
	raw, present := r.Attrs[key]
	if !present || raw == nil {
		return false, false
	}
	b, isBool := raw.(bool)
	if !isBool {
		r.wrong(key, "bool", raw)
		return false, false
	}
	return b, true
}

// String reads a string attribute; ok is false when it is absent or null.
func (r *Resource) String(key string) (v string, ok bool) {
	raw, present := r.Attrs[key]
	if !present || raw == nil {
		return "", false
	}
	s, isString := raw.(string)
	if !isString {
		r.wrong(key, "string", raw)
		return "", false
	}
	return s, true
}

// Number reads a numeric attribute; ok is false when it is absent or null.
func (r *Resource) Number(key string) (v float64, ok bool) {
	raw, present := r.Attrs[key]
	if !present || raw == nil {
		return 0, false
	}
	n, isNumber := raw.(float64)
	if !isNumber {
		r.wrong(key, "number", raw)
		return 0, false
	}
	return n, true
}

// List reads a list attribute; null reads as an empty list, ok is false when absent.
func (r *Resource) List(key string) (v []any, ok bool) {
	raw, present := r.Attrs[key]
	if !present {
		return nil, false
	}
	if raw == nil {
		return nil, true
	}
	l, isList := raw.([]any)
	if !isList {
		r.wrong(key, "list", raw)
		return nil, false
	}
	return l, true
}

// Strings reads a list of strings; null reads as empty, ok is false when absent.
func (r *Resource) Strings(key string) (v []string, ok bool) {
	l, ok := r.List(key)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, isString := x.(string)
		if !isString {
			r.wrong(key, "list of strings", any(l))
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// Struct reads a struct attribute; ok is false when absent or null.
func (r *Resource) Struct(key string) (v map[string]any, ok bool) {
	raw, present := r.Attrs[key]
	if !present || raw == nil {
		return nil, false
	}
	m, isMap := raw.(map[string]any)
	if !isMap {
		r.wrong(key, "struct", raw)
		return nil, false
	}
	return m, true
}

// Env is what a check may know beyond the resource.
type Env struct {
	// Now is the evaluation time (ages are measured from it).
	Now time.Time
	// OrgAccounts are the organization's account IDs; nil when the caller
	// did not give them.
	OrgAccounts map[string]bool
}

// Outcome is a check's verdict on one resource.
type Outcome struct {
	Status Status
	// Summary says what was observed. It may name attribute values (policy
	// ARNs, counts, account IDs); the engine redacts it before it reaches a
	// finding.
	Summary string
	// Reason is why a NotAssessed outcome could not be decided; MISSING_DATA
	// when zero.
	Reason evaluationv1.NotAssessedReason
}

// Passed, Failed and Missing build outcomes.
func Passed(format string, args ...any) Outcome {
	return Outcome{Status: Pass, Summary: fmt.Sprintf(format, args...)}
}

// Failed is a FAIL outcome.
func Failed(format string, args ...any) Outcome {
	return Outcome{Status: Fail, Summary: fmt.Sprintf(format, args...)}
}

// Missing is a NOT_ASSESSED outcome for data the inventory lacks.
func Missing(format string, args ...any) Outcome {
	return Outcome{Status: NotAssessed, Summary: fmt.Sprintf(format, args...), Reason: evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_MISSING_DATA}
}

// NotApplicable is returned by a check for a resource it does not judge (an
// AWS managed KMS key, a user without access keys): no finding is made.
var NotApplicable = Outcome{}

// Check judges one resource.
type Check func(r *Resource, env *Env) Outcome

// Entity is something the redaction engine found in a field.
type Entity struct {
	Type     string // e.g. "AWS_ACCOUNT_ID"
	Category string // "CREDENTIAL", "PII" or "IDENTIFIER"
}

// FieldRule makes a control a free-form check: one FAIL per offending field,
// or one PASS per resource when no field offends.
type FieldRule struct {
	// Scans picks the fields the control reads.
	Scans func(f Field) bool
	// Offends says whether an entity found in the field breaks the control;
	// nil when the control reads no entities.
	Offends func(f Field, e Entity) bool
	// RequireHTTPS makes a URL field that is not https offend, with entity
	// type "HTTP".
	RequireHTTPS bool
}

// Fixture is a resource with the verdict the control must reach on it.
type Fixture struct {
	Name     string
	Resource Resource
	// Env for the fixture; Now defaults to FixtureNow.
	Env Env
	// Fields: for free-form controls, the paths expected to offend (FAIL
	// fixtures) with, per path, entity types that must be among those found.
	Fields map[string][]string
}

// FixtureNow is the time fixtures are evaluated at.
var FixtureNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// Control is one check of the catalogue.
type Control struct {
	ID, Title, Description string
	Category               string
	Severity               evaluationv1.Severity
	Rationale              string
	Remediation            []string
	ResourceTypes          []string
	Seeds                  []Seed
	// Needs are the IAM actions the control's data comes from: a collection
	// error on one of them leaves the control NOT_ASSESSED where it would
	// otherwise pass.
	Needs []string
	// Exactly one of Check and Fields is set.
	Check  Check
	Fields *FieldRule
	// Pass and Fail are the control's own fixtures.
	Pass, Fail []Fixture
	// Source and SourceFile: built-in, or a custom rule and its file.
	Source     evaluationv1.ControlSource
	SourceFile string
}

// AppliesTo reports whether the control reads resources of the type.
func (c *Control) AppliesTo(typ string) bool { return slices.Contains(c.ResourceTypes, typ) }

// Proto is the control's API form.
func (c *Control) Proto() *evaluationv1.Control {
	out := &evaluationv1.Control{Id: c.ID, Title: c.Title, Description: c.Description, Severity: c.Severity, Rationale: c.Rationale,
		Remediation: slices.Clone(c.Remediation), ResourceTypes: slices.Clone(c.ResourceTypes), Source: c.Source, Category: c.Category,
		SourceFile: c.SourceFile}
	for _, s := range c.Seeds {
		out.Seeds = append(out.Seeds, &evaluationv1.SeedReference{File: s.File, Title: s.Title, Section: s.Section, Quote: s.Quote})
	}
	return out
}

// Validate checks that a control is complete: every piece of metadata, a
// verdict function, and at least one fixture of each kind.
func (c *Control) Validate() error {
	var missing []string
	for name, empty := range map[string]bool{
		"id": c.ID == "", "title": c.Title == "", "description": c.Description == "", "category": c.Category == "",
		"severity": c.Severity == evaluationv1.Severity_SEVERITY_UNSPECIFIED, "rationale": c.Rationale == "",
		"remediation": len(c.Remediation) == 0, "resource types": len(c.ResourceTypes) == 0,
		"pass fixtures": len(c.Pass) == 0, "fail fixtures": len(c.Fail) == 0,
	} {
		if empty {
			missing = append(missing, name)
		}
	}
	if c.Source == evaluationv1.ControlSource_CONTROL_SOURCE_BUILTIN {
		if len(c.Seeds) == 0 {
			missing = append(missing, "seeds")
		}
		if len(c.Needs) == 0 {
			missing = append(missing, "needs")
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		return fmt.Errorf("control %s: missing %s", c.ID, strings.Join(missing, ", "))
	}
	if (c.Check == nil) == (c.Fields == nil) {
		return fmt.Errorf("control %s: needs exactly one of a check and a field rule", c.ID)
	}
	return nil
}

var builtin []*Control

func register(cs ...*Control) {
	for _, c := range cs {
		c.Source = evaluationv1.ControlSource_CONTROL_SOURCE_BUILTIN
		builtin = append(builtin, c)
	}
}

// Builtin returns the built-in controls, by ID.
func Builtin() []*Control {
	out := slices.Clone(builtin)
	slices.SortFunc(out, func(a, b *Control) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// globalTypes are the resource types collected once per account (SCOPE_GLOBAL).
var globalTypes = []string{"AWS::IAM::Root", "AWS::IAM::User", "AWS::IAM::PasswordPolicy", "AWS::S3::Bucket", "AWS::Macie::Session",
	"AWS::CloudTrail::AccountTrails", "AWS::Organizations::Account"}

// GlobalType reports whether resources of the type are collected in the
// global scope (region "global" in an evaluation context).
func GlobalType(typ string) bool { return slices.Contains(globalTypes, typ) }
