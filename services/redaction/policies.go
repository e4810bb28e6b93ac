package redaction

import (
	"fmt"
	"os"
	"slices"
	"strconv"

	"google.golang.org/protobuf/encoding/protojson"

	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	"github.com/dpsweep/dpsweep/services/platform/server"
	"github.com/dpsweep/dpsweep/services/redaction/engine"
)

// builtinPolicies are the named policies every server has.
func builtinPolicies() []*redactionv1.NamedPolicy {
	op := func(o redactionv1.Operator) *redactionv1.OperatorConfig {
		return &redactionv1.OperatorConfig{Operator: o}
	}
	return []*redactionv1.NamedPolicy{
		{Name: "default", Description: "replace everything detected, at any confidence, with its type tag, e.g. [EMAIL_ADDRESS]",
			Policy: &redactionv1.Policy{DefaultOperator: op(redactionv1.Operator_OPERATOR_REPLACE)}},
		{Name: "mask", Description: "mask everything detected with '*', keeping the last four characters",
			Policy: &redactionv1.Policy{DefaultOperator: &redactionv1.OperatorConfig{Operator: redactionv1.Operator_OPERATOR_MASK, KeepLast: 4}}},
		{Name: "pseudonymize", Description: "replace everything detected with a keyed hash, stable across calls and services",
			Policy: &redactionv1.Policy{DefaultOperator: op(redactionv1.Operator_OPERATOR_HASH)}},
		{Name: "encrypt", Description: "replace everything detected with an AES-256-GCM token that authorised callers can Decrypt",
			Policy: &redactionv1.Policy{DefaultOperator: op(redactionv1.Operator_OPERATOR_ENCRYPT)}},
		{Name: "credentials", Description: "replace credentials only; leave personal data and identifiers",
			Policy: &redactionv1.Policy{DefaultOperator: op(redactionv1.Operator_OPERATOR_REPLACE), EntityTypes: credentialEntities()}},
	}
}

var credentialEntities = func() func() []string {
	e := engine.New()
	var out []string
	for _, name := range e.Entities() {
		if c, _ := e.EntityCategory(name); c == engine.CategoryCredential {
			out = append(out, name)
		}
	}
	return func() []string { return slices.Clone(out) }
}()

// BuiltinPolicy returns the compiled built-in policy of that name, for
// programs that use the engine directly (the dpsweep redact command).
func BuiltinPolicy(e *engine.Engine, name string) (*engine.Policy, error) {
	var names []string
	for _, np := range builtinPolicies() {
		if np.GetName() == name {
			p, err := toPolicy(e, np.GetPolicy(), "policy.")
			if err != nil {
				return nil, fmt.Errorf("policy %q: %w", name, err)
			}
			return p, nil
		}
		names = append(names, np.GetName())
	}
	return nil, fmt.Errorf("unknown policy %q; want one of %v", name, names)
}

// FindingProto converts an engine finding to its API form.
func FindingProto(f engine.Finding) *redactionv1.Finding { return toFinding(f) }

// loadPolicies reads named policies from a JSON file (a ListPoliciesResponse).
func loadPolicies(file string) ([]*redactionv1.NamedPolicy, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	var list redactionv1.ListPoliciesResponse
	if err := protojson.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("policy file %s: %w", file, err)
	}
	return list.GetPolicies(), nil
}

// toPolicy converts an API policy into the engine's, checking every entity
// type against the engine. Errors name the offending field under prefix.
func toPolicy(e *engine.Engine, p *redactionv1.Policy, prefix string) (*engine.Policy, error) {
	out := &engine.Policy{}
	if p == nil {
		return out, nil
	}
	if p.GetDefaultOperator() != nil {
		out.Default = toOperator(p.GetDefaultOperator())
	}
	keys := make([]string, 0, len(p.GetOperators()))
	for k := range p.GetOperators() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := e.EntityCategory(k); !ok {
			return nil, server.FieldError(fmt.Sprintf("%soperators[%s]", prefix, strconv.Quote(k)), unknownEntity(k))
		}
		if out.Operators == nil {
			out.Operators = map[string]engine.OperatorConfig{}
		}
		out.Operators[k] = toOperator(p.GetOperators()[k])
	}
	for i, k := range p.GetEntityTypes() {
		if _, ok := e.EntityCategory(k); !ok {
			return nil, server.FieldError(fmt.Sprintf("%sentity_types[%d]", prefix, i), unknownEntity(k))
		}
		if out.Entities == nil {
			out.Entities = map[string]bool{}
		}
		out.Entities[k] = true
	}
	out.MinConfidence = engine.Confidence(p.GetMinConfidence())
	return out, nil
}

func unknownEntity(k string) string {
	return fmt.Sprintf("unknown entity type %q; ListDetectors lists the known ones", k)
}

func toOperator(oc *redactionv1.OperatorConfig) engine.OperatorConfig {
	var op engine.Operator
	switch oc.GetOperator() {
	case redactionv1.Operator_OPERATOR_MASK:
		op = engine.OperatorMask
	case redactionv1.Operator_OPERATOR_REPLACE:
		op = engine.OperatorReplace
	case redactionv1.Operator_OPERATOR_HASH:
		op = engine.OperatorHash
	case redactionv1.Operator_OPERATOR_ENCRYPT:
		op = engine.OperatorEncrypt
	case redactionv1.Operator_OPERATOR_REMOVE:
		op = engine.OperatorRemove
	case redactionv1.Operator_OPERATOR_KEEP:
		op = engine.OperatorKeep
	}
	var mc rune
	if r := []rune(oc.GetMaskChar()); len(r) > 0 {
		mc = r[0]
	}
	return engine.OperatorConfig{Operator: op, MaskChar: mc, KeepLast: int(oc.GetKeepLast()), Replacement: oc.GetReplacement()}
}

func fromOperator(op engine.Operator) redactionv1.Operator {
	switch op {
	case engine.OperatorMask:
		return redactionv1.Operator_OPERATOR_MASK
	case engine.OperatorReplace:
		return redactionv1.Operator_OPERATOR_REPLACE
	case engine.OperatorHash:
		return redactionv1.Operator_OPERATOR_HASH
	case engine.OperatorEncrypt:
		return redactionv1.Operator_OPERATOR_ENCRYPT
	case engine.OperatorRemove:
		return redactionv1.Operator_OPERATOR_REMOVE
	case engine.OperatorKeep:
		return redactionv1.Operator_OPERATOR_KEEP
	}
	return redactionv1.Operator_OPERATOR_UNSPECIFIED
}

func fromCategory(c engine.Category) redactionv1.EntityCategory {
	switch c {
	case engine.CategoryCredential:
		return redactionv1.EntityCategory_ENTITY_CATEGORY_CREDENTIAL
	case engine.CategoryPII:
		return redactionv1.EntityCategory_ENTITY_CATEGORY_PII
	case engine.CategoryIdentifier:
		return redactionv1.EntityCategory_ENTITY_CATEGORY_IDENTIFIER
	}
	return redactionv1.EntityCategory_ENTITY_CATEGORY_UNSPECIFIED
}

func toFinding(f engine.Finding) *redactionv1.Finding {
	return toFindings([]engine.Finding{f})[0]
}

// toFindings converts findings with one allocation for the messages and one
// for their spans, not four per finding.
func toFindings(fs []engine.Finding) []*redactionv1.Finding {
	out := make([]*redactionv1.Finding, len(fs))
	msgs := make([]redactionv1.Finding, len(fs))
	spans := make([]redactionv1.Span, 3*len(fs))
	for i, f := range fs {
		u8, cp, u16 := &spans[3*i], &spans[3*i+1], &spans[3*i+2]
		u8.Start, u8.End = uint32(f.UTF8.Start), uint32(f.UTF8.End)
		cp.Start, cp.End = uint32(f.CodePoints.Start), uint32(f.CodePoints.End)
		u16.Start, u16.End = uint32(f.UTF16.Start), uint32(f.UTF16.End)
		m := &msgs[i]
		m.EntityType = f.Entity
		m.Category = fromCategory(f.Category)
		m.Confidence = redactionv1.Confidence(f.Confidence)
		m.Detector = f.Detector
		m.Utf8, m.CodePoints, m.Utf16 = u8, cp, u16
		m.Fingerprint = f.Fingerprint
		m.Operator = fromOperator(f.Operator)
		out[i] = m
	}
	return out
}
