// Package engine evaluates an inventory into findings with the control
// catalogue: it runs attribute checks, turns collection errors into
// NOT_ASSESSED findings (never PASS), sends free-form text and evidence to a
// Redactor in batches and keeps only what comes back redacted, and applies
// suppressions.
package engine

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	collectionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/collection/v1"
	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	"github.com/dpsweep/dpsweep/services/evaluation/catalog"
)

// Defaults for batching texts to the Redactor.
const (
	DefaultBatchTexts = 1000
	DefaultBatchBytes = 4 << 20
)

// Options configure an Engine.
type Options struct {
	// Controls to run: the built-in catalogue and any custom controls.
	Controls []*catalog.Control
	Redactor Redactor
	// Suppressions apply to every evaluation, on top of each request's own.
	Suppressions []*evaluationv1.Suppression
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// BatchTexts and BatchBytes bound one Redactor call.
	BatchTexts, BatchBytes int
}

// Engine evaluates inventories. It is safe for concurrent use.
type Engine struct {
	controls []*catalog.Control
	byID     map[string]*catalog.Control
	o        Options
}

// New builds an engine; control IDs must be unique.
func New(o Options) (*Engine, error) {
	if o.Redactor == nil {
		return nil, fmt.Errorf("engine: a Redactor is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BatchTexts <= 0 {
		o.BatchTexts = DefaultBatchTexts
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	e := &Engine{byID: map[string]*catalog.Control{}, o: o}
	for _, c := range o.Controls {
		if _, dup := e.byID[c.ID]; dup {
			return nil, fmt.Errorf("engine: control %s defined twice", c.ID)
		}
		e.byID[c.ID] = c
		e.controls = append(e.controls, c)
	}
	slices.SortFunc(e.controls, func(a, b *catalog.Control) int { return strings.Compare(a.ID, b.ID) })
	return e, nil
}

// Controls returns the engine's controls, by ID.
func (e *Engine) Controls() []*catalog.Control { return slices.Clone(e.controls) }

// Control returns one control.
func (e *Engine) Control(id string) (*catalog.Control, bool) {
	c, ok := e.byID[id]
	return c, ok
}

// Input is one inventory to evaluate, with its context.
type Input struct {
	SweepID, Account, Region string
	// ControlIDs to run; every control when empty.
	ControlIDs   []string
	Suppressions []*evaluationv1.Suppression
	FIPS         bool
	// OrgAccounts are the organization's accounts; nil when not given.
	OrgAccounts []string
	Resources   []*collectionv1.Resource
	Errors      []*collectionv1.CollectionError
}

// InputError is a bad inventory or context: the service answers it with
// InvalidArgument naming Field.
type InputError struct {
	Field, Problem string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Problem }

// Result is an evaluation's findings and their counts.
type Result struct {
	Findings []*evaluationv1.Finding
	Summary  *evaluationv1.EvaluationSummary
}

var (
	regionRe  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	accountRe = regexp.MustCompile(`^[0-9]{12}$`)
)

// pending is a finding waiting for its redacted evidence.
type pending struct {
	control   *catalog.Control
	res       *catalog.Resource // nil for findings from collection errors
	arn, typ  string
	region    string
	path      string     // raw field path
	field     int        // index of the field in res.Fields
	pathParts []pathPart // the path with its bracketed segments sent for redaction
	status    catalog.Status
	reason    evaluationv1.NotAssessedReason
	summary   int // text index of the summary
	evidence  int // text index of the field value, or -1
	entities  []string
	arnText   int // identity text index of the ARN's resource part, or -1
	arnPrefix string
}

// texts collects what must go through the Redactor, each distinct text once.
type texts struct {
	list  []string
	index map[string]int
}

func (t *texts) add(s string) int {
	if i, ok := t.index[s]; ok {
		return i
	}
	t.index[s] = len(t.list)
	t.list = append(t.list, s)
	return len(t.list) - 1
}

// Evaluate runs the controls over an inventory.
func (e *Engine) Evaluate(ctx context.Context, in *Input) (*Result, error) {
	controls, err := e.selectControls(in.ControlIDs)
	if err != nil {
		return nil, err
	}
	if err := validate(in); err != nil {
		return nil, err
	}
	now := e.o.Now().UTC()
	env := &catalog.Env{Now: now}
	if in.OrgAccounts != nil {
		env.OrgAccounts = make(map[string]bool, len(in.OrgAccounts))
		for _, a := range in.OrgAccounts {
			env.OrgAccounts[a] = true
		}
	}
	res := make([]*catalog.Resource, len(in.Resources))
	byARN := map[string][]int{}
	for i, r := range in.Resources {
		res[i] = catalog.NewResource(r)
		byARN[r.GetArn()] = append(byARN[r.GetArn()], i)
	}
	errsByARN := map[string][]*collectionv1.CollectionError{}
	for _, ce := range in.Errors {
		if ce.GetResourceArn() != "" {
			errsByARN[ce.GetResourceArn()] = append(errsByARN[ce.GetResourceArn()], ce)
		}
	}
	// Evidence (summaries, field values) is redacted with type tags; what
	// identifies a finding (the ARN's resource part, bracketed path
	// segments) with keyed pseudonyms, so two resources that differ only
	// in a detected value stay two findings.
	tx := &texts{index: map[string]int{}}
	ids := &texts{index: map[string]int{}}
	var out []*pending
	add := func(p *pending, summary string) {
		p.summary = tx.add(summary)
		p.arnText = -1
		if prefix, rest, ok := splitARN(p.arn); ok && rest != "" {
			p.arnPrefix, p.arnText = prefix, ids.add(rest)
		}
		p.pathParts = splitPath(p.path, ids)
		out = append(out, p)
	}
	// Field values, each sent once however many controls read it.
	fieldText := map[[2]int]int{}
	for _, c := range controls {
		for i, r := range res {
			if !c.AppliesTo(r.Type) {
				continue
			}
			blocking := needed(c, errsByARN[r.ARN])
			if c.Fields != nil {
				e.fieldFindings(c, i, r, blocking, in, tx, fieldText, add)
				continue
			}
			o := c.Check(r, env)
			if bad := r.BadAttributes(); len(bad) > 0 {
				name, problem, _ := strings.Cut(bad[0], ": ")
				return nil, &InputError{Field: fmt.Sprintf("inventory.resources[%d].attributes.%s", i, name), Problem: problem}
			}
			if o.Status == 0 {
				continue // not applicable
			}
			summary := o.Summary
			if o.Status != catalog.Fail && len(blocking) > 0 {
				o = catalog.Outcome{Status: catalog.NotAssessed, Reason: reasonOf(blocking[0], in.FIPS)}
				summary = errorSummary(blocking[0])
			}
			if o.Status == catalog.NotAssessed && o.Reason == 0 {
				o.Reason = evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_MISSING_DATA
			}
			add(&pending{control: c, res: r, arn: r.ARN, typ: r.Type, region: r.Region, evidence: -1, status: o.Status, reason: o.Reason}, summary)
		}
	}
	// Collection errors: what could not be read is NOT_ASSESSED.
	for _, ce := range in.Errors {
		for _, c := range controls {
			typ, ok := affects(ce, c, in.Region)
			if !ok {
				continue
			}
			if arn := ce.GetResourceArn(); arn != "" && slices.ContainsFunc(byARN[arn], func(i int) bool { return c.AppliesTo(res[i].Type) }) {
				continue // judged with the resource above
			}
			region := in.Region
			if r := arnRegion(ce.GetResourceArn()); r != "" {
				region = r
			}
			add(&pending{control: c, arn: ce.GetResourceArn(), typ: typ, region: region, evidence: -1, status: catalog.NotAssessed,
				reason: reasonOf(ce, in.FIPS)}, errorSummary(ce))
		}
	}
	red, err := e.redact(ctx, tx.list, PolicyEvidence)
	if err != nil {
		return nil, err
	}
	idRed, err := e.redact(ctx, ids.list, PolicyIdentity)
	if err != nil {
		return nil, err
	}
	return e.finish(in, now, out, red, idRed), nil
}

// fieldFindings schedules a free-form control's findings on one resource.
func (e *Engine) fieldFindings(c *catalog.Control, i int, r *catalog.Resource, blocking []*collectionv1.CollectionError, in *Input, tx *texts,
	fieldText map[[2]int]int, add func(*pending, string)) {
	var scanned []int
	for j, f := range r.Fields {
		if c.Fields.Scans(f) {
			scanned = append(scanned, j)
			if _, ok := fieldText[[2]int{i, j}]; !ok {
				fieldText[[2]int{i, j}] = tx.add(f.Value)
			}
		}
	}
	// The verdict needs the redacted texts: it is decided in finish. Here
	// each scanned field is one candidate.
	for _, j := range scanned {
		f := r.Fields[j]
		add(&pending{control: c, res: r, arn: r.ARN, typ: r.Type, region: r.Region, path: f.Path, field: j, evidence: fieldText[[2]int{i, j}], status: catalog.Fail}, "")
	}
	// The resource-level candidate: PASS when no field offends.
	p := &pending{control: c, res: r, arn: r.ARN, typ: r.Type, region: r.Region, evidence: -1, status: catalog.Pass}
	summary := fmt.Sprintf("%d fields scanned, none offends", len(scanned))
	if len(blocking) > 0 {
		p.status, p.reason, summary = catalog.NotAssessed, reasonOf(blocking[0], in.FIPS), errorSummary(blocking[0])
	}
	add(p, summary)
}

// pathPart is a literal piece of a field path, or (id >= 0) a bracketed
// segment a person chose — a tag key, a version — sent for redaction.
type pathPart struct {
	lit string
	id  int
}

// splitPath cuts "Versions[1.0.0].SourceCodeUrl" into "Versions[", a
// segment, and "].SourceCodeUrl".
func splitPath(path string, ids *texts) []pathPart {
	var parts []pathPart
	for path != "" {
		i := strings.IndexByte(path, '[')
		j := strings.IndexByte(path[i+1:], ']')
		if i < 0 || j < 0 {
			parts = append(parts, pathPart{lit: path, id: -1})
			break
		}
		j += i + 1
		parts = append(parts, pathPart{lit: path[:i+1], id: -1})
		if seg := path[i+1 : j]; seg != "" {
			parts = append(parts, pathPart{id: ids.add(seg)})
		}
		path = path[j:]
	}
	return parts
}

// renderPath rebuilds a path from its redacted segments.
func renderPath(parts []pathPart, idRed []Redaction) string {
	var b strings.Builder
	for _, p := range parts {
		if p.id >= 0 {
			b.WriteString(idRed[p.id].Text)
		} else {
			b.WriteString(p.lit)
		}
	}
	return b.String()
}

// tagKeyEntities returns what was found in the key of a "Tags[key]" path:
// tag keys are free-form text too.
func tagKeyEntities(p *pending, idRed []Redaction) []catalog.Entity {
	if !strings.HasPrefix(p.path, "Tags[") || len(p.pathParts) < 2 || p.pathParts[1].id < 0 {
		return nil
	}
	return idRed[p.pathParts[1].id].Entities
}

// finish decides free-form verdicts from the redacted texts and builds findings.
func (e *Engine) finish(in *Input, now time.Time, ps []*pending, red, idRed []Redaction) *Result {
	type key struct {
		c   *catalog.Control
		res *catalog.Resource
	}
	failed := map[key]bool{}
	var kept []*pending
	for _, p := range ps {
		if p.control.Fields == nil || p.path == "" {
			kept = append(kept, p)
			continue
		}
		// A field candidate: does it offend?
		f := p.res.Fields[p.field]
		var types []string
		rule := p.control.Fields
		if rule.Offends != nil {
			ents := red[p.evidence].Entities
			if k := tagKeyEntities(p, idRed); len(k) > 0 {
				ents = append(slices.Clone(ents), k...)
			}
			for _, en := range ents {
				if rule.Offends(f, en) && !slices.Contains(types, en.Type) {
					types = append(types, en.Type)
				}
			}
		}
		if rule.RequireHTTPS && !isHTTPS(f.Value) {
			types = append(types, catalog.EntityHTTP)
		}
		if len(types) == 0 {
			continue
		}
		slices.Sort(types)
		p.entities = types
		failed[key{p.control, p.res}] = true
		kept = append(kept, p)
	}
	res := &Result{Summary: &evaluationv1.EvaluationSummary{}}
	seen := map[string]bool{}
	active := activeSuppressions(now, e.o.Suppressions, in.Suppressions)
	resources := map[*catalog.Resource]bool{}
	for _, p := range kept {
		if p.control.Fields != nil && p.path == "" && failed[key{p.control, p.res}] {
			continue // the resource has failing fields: no PASS for it
		}
		path := renderPath(p.pathParts, idRed)
		arn := p.arn
		if p.arnText >= 0 {
			arn = p.arnPrefix + idRed[p.arnText].Text
		}
		region := p.region
		if region == "" {
			region = in.Region
		}
		f := &evaluationv1.Finding{
			Id: FindingID(in.SweepID, in.Account, region, p.control.ID, arn, path), SweepId: in.SweepID, ControlId: p.control.ID, Severity: p.control.Severity,
			Status: p.status.Proto(), AccountId: in.Account, Region: region, ResourceArn: arn, ResourceType: p.typ, FieldPath: path,
			ObservedAt: timestamppb.New(now), Title: p.control.Title,
		}
		if p.status == catalog.NotAssessed {
			f.NotAssessedReason = p.reason
		}
		ev := &evaluationv1.Evidence{Summary: red[p.summary].Text, EntityTypes: p.entities}
		if p.evidence >= 0 {
			ev.RedactedText = red[p.evidence].Text
			ev.Summary = fmt.Sprintf("%s holds %s", path, strings.Join(p.entities, ", "))
			if len(p.entities) == 1 && p.entities[0] == catalog.EntityHTTP {
				ev.Summary = path + " is not an https URL"
			}
		}
		f.Evidence = ev
		if seen[f.Id] {
			continue
		}
		seen[f.Id] = true
		if s := match(active, f); s != nil {
			f.Suppressed, f.Suppression = true, s
		}
		res.Findings = append(res.Findings, f)
		if p.res != nil {
			resources[p.res] = true
		}
	}
	slices.SortStableFunc(res.Findings, func(a, b *evaluationv1.Finding) int {
		return cmp.Or(strings.Compare(a.ControlId, b.ControlId), strings.Compare(a.ResourceArn, b.ResourceArn), strings.Compare(a.FieldPath, b.FieldPath))
	})
	s := res.Summary
	s.ResourcesEvaluated = int64(len(resources))
	for _, f := range res.Findings {
		s.Findings++
		switch f.Status {
		case evaluationv1.FindingStatus_FINDING_STATUS_PASS:
			s.Pass++
		case evaluationv1.FindingStatus_FINDING_STATUS_FAIL:
			s.Fail++
		case evaluationv1.FindingStatus_FINDING_STATUS_NOT_ASSESSED:
			s.NotAssessed++
		}
		if f.Suppressed {
			s.Suppressed++
		}
	}
	return res
}

// isHTTPS reports whether a URL's scheme is https.
func isHTTPS(raw string) bool {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		scheme, _, ok := strings.Cut(strings.TrimSpace(raw), "://")
		return ok && strings.EqualFold(scheme, "https")
	}
	return strings.EqualFold(u.Scheme, "https")
}

// FindingID is a finding's deterministic ID.
func FindingID(sweep, account, region, control, arn, path string) string {
	h := sha256.New()
	for _, s := range []string{sweep, account, region, control, arn, path} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// splitARN splits an ARN after its account field: the resource part may
// hold a name a person chose (a provisioned product's stack/<name>/<id>).
func splitARN(arn string) (prefix, resource string, ok bool) {
	n := 0
	for i := 0; i < len(arn); i++ {
		if arn[i] == ':' {
			n++
			if n == 5 {
				return arn[:i+1], arn[i+1:], strings.HasPrefix(arn, "arn:")
			}
		}
	}
	return "", "", false
}

func arnRegion(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && regionRe.MatchString(parts[3]) {
		return parts[3]
	}
	return ""
}

// needs reports whether a control's data comes from the failed call: one of
// its Needs, or, for a custom control (which names none), any call of a
// collector of its resource types.
func needs(c *catalog.Control, ce *collectionv1.CollectionError) bool {
	if len(c.Needs) == 0 {
		return slices.ContainsFunc(ce.GetResourceTypes(), c.AppliesTo)
	}
	return slices.Contains(c.Needs, ce.GetAction())
}

// needed returns the errors on a resource that the control's data comes from.
func needed(c *catalog.Control, errs []*collectionv1.CollectionError) []*collectionv1.CollectionError {
	var out []*collectionv1.CollectionError
	for _, ce := range errs {
		if needs(c, ce) {
			out = append(out, ce)
		}
	}
	return out
}

// affects reports whether a collection error leaves a control unassessed,
// and for which resource type. A role that cannot be assumed in the global
// scope leaves every control of the account unassessed: no region of it
// can be read either.
func affects(ce *collectionv1.CollectionError, c *catalog.Control, contextRegion string) (string, bool) {
	assume := ce.GetAction() == "sts:AssumeRole"
	if assume && contextRegion == "global" {
		return c.ResourceTypes[0], true
	}
	if !assume && !needs(c, ce) {
		return "", false
	}
	for _, t := range ce.GetResourceTypes() {
		if c.AppliesTo(t) {
			return t, true
		}
	}
	return "", false
}

func reasonOf(ce *collectionv1.CollectionError, fips bool) evaluationv1.NotAssessedReason {
	switch ce.GetReason() {
	case collectionv1.ErrorReason_ERROR_REASON_ACCESS_DENIED:
		return evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ACCESS_DENIED
	case collectionv1.ErrorReason_ERROR_REASON_REGION_DISABLED:
		return evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_REGION_DISABLED
	case collectionv1.ErrorReason_ERROR_REASON_ASSUME_ROLE_FAILED:
		return evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_ASSUME_ROLE_FAILED
	case collectionv1.ErrorReason_ERROR_REASON_ENDPOINT_UNAVAILABLE:
		if fips {
			return evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_FIPS_ENDPOINT_UNAVAILABLE
		}
	}
	return evaluationv1.NotAssessedReason_NOT_ASSESSED_REASON_COLLECTOR_ERROR
}

// errorSummary describes a collection error from its action and code only.
func errorSummary(ce *collectionv1.CollectionError) string {
	return fmt.Sprintf("%s failed (%s): the data this control needs could not be read", ce.GetAction(), cmp.Or(ce.GetErrorCode(), "error"))
}

func (e *Engine) selectControls(ids []string) ([]*catalog.Control, error) {
	if len(ids) == 0 {
		return e.controls, nil
	}
	out := make([]*catalog.Control, 0, len(ids))
	for i, id := range ids {
		c, ok := e.byID[id]
		if !ok {
			return nil, &InputError{Field: fmt.Sprintf("context.control_ids[%d]", i), Problem: fmt.Sprintf("unknown control %q; ListControls lists them", id)}
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *catalog.Control) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// validate checks an inventory against its context.
func validate(in *Input) error {
	if !accountRe.MatchString(in.Account) {
		return &InputError{Field: "context.account_id", Problem: "want a 12-digit account ID"}
	}
	if in.Region != "global" && !regionRe.MatchString(in.Region) {
		return &InputError{Field: "context.region", Problem: `want a region name or "global"`}
	}
	for i, r := range in.Resources {
		at := func(field, problem string, args ...any) error {
			return &InputError{Field: fmt.Sprintf("inventory.resources[%d].%s", i, field), Problem: fmt.Sprintf(problem, args...)}
		}
		switch {
		case !strings.HasPrefix(r.GetArn(), "arn:") || strings.Count(r.GetArn(), ":") < 5:
			return at("arn", "want an ARN (arn:partition:service:region:account:resource)")
		case r.GetResourceType() == "":
			return at("resource_type", "required, for example AWS::S3::Bucket")
		case r.GetAccountId() != in.Account:
			return at("account_id", "the resource belongs to another account than the context's")
		case r.GetRegion() != "global" && !regionRe.MatchString(r.GetRegion()):
			return at("region", `want a region name or "global"`)
		case in.Region != "global" && r.GetRegion() != in.Region:
			return at("region", "a regional inventory holds resources of the context's region only")
		}
		for j, f := range r.GetFreeFormFields() {
			switch {
			case f.GetPath() == "":
				return at(fmt.Sprintf("free_form_fields[%d].path", j), "required")
			case f.GetKind() == collectionv1.FieldKind_FIELD_KIND_UNSPECIFIED:
				return at(fmt.Sprintf("free_form_fields[%d].kind", j), "required")
			}
		}
	}
	for i, ce := range in.Errors {
		if ce.GetAction() == "" {
			return &InputError{Field: fmt.Sprintf("inventory.errors[%d].action", i), Problem: "required: the IAM action of the failed call"}
		}
		if ce.GetReason() == collectionv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
			return &InputError{Field: fmt.Sprintf("inventory.errors[%d].reason", i), Problem: "required"}
		}
	}
	return nil
}

// redact sends texts to the Redactor in batches.
func (e *Engine) redact(ctx context.Context, list []string, policy string) ([]Redaction, error) {
	out := make([]Redaction, len(list))
	// Empty texts have nothing to scrub; the rest go in batches.
	var idx []int
	for i, t := range list {
		if t != "" {
			idx = append(idx, i)
		}
	}
	for start := 0; start < len(idx); {
		end, size := start, 0
		for end < len(idx) && end-start < e.o.BatchTexts && (end == start || size+len(list[idx[end]]) <= e.o.BatchBytes) {
			size += len(list[idx[end]])
			end++
		}
		batch := make([]string, 0, end-start)
		for _, i := range idx[start:end] {
			batch = append(batch, list[i])
		}
		got, err := e.o.Redactor.Redact(ctx, batch, policy)
		if err != nil {
			return nil, err
		}
		if len(got) != len(batch) {
			return nil, fmt.Errorf("redactor answered %d texts for %d", len(got), len(batch))
		}
		for k, i := range idx[start:end] {
			out[i] = got[k]
		}
		start = end
	}
	return out, nil
}
