package engine

import (
	"context"
	"fmt"
	"strings"

	redactionv1 "github.com/dpsweep/dpsweep/gen/dpsweep/redaction/v1"
	"github.com/dpsweep/dpsweep/services/evaluation/catalog"
)

// Redaction is one scrubbed text with what was found in it.
type Redaction struct {
	Text     string
	Entities []catalog.Entity
}

// Redactor scrubs texts. The engine sends it every free-form value and every
// evidence summary, in batches, and keeps only what it answers.
type Redactor interface {
	// Redact answers one Redaction per text, in order, under a named
	// RedactionService policy (PolicyEvidence or PolicyIdentity).
	Redact(ctx context.Context, texts []string, policy string) ([]Redaction, error)
}

// The RedactionService policies the engine uses.
const (
	// PolicyEvidence scrubs evidence: every detection, at any confidence,
	// replaced by its type tag ("[AWS_ACCOUNT_ID]").
	PolicyEvidence = "default"
	// PolicyIdentity scrubs what identifies a finding (ARNs, field path
	// segments) with keyed pseudonyms ("[AWS_ACCOUNT_ID:3f9c…]"): distinct
	// values stay distinct, and the same value gets the same pseudonym from
	// every call and, with the server's --hash-key-file, across restarts.
	PolicyIdentity = "pseudonymize"
)

// GRPCRedactor is the Redactor of a RedactionService.
type GRPCRedactor struct {
	Client redactionv1.RedactionServiceClient
}

var _ Redactor = GRPCRedactor{}

// Redact calls RedactBatch once.
func (g GRPCRedactor) Redact(ctx context.Context, texts []string, policy string) ([]Redaction, error) {
	resp, err := g.Client.RedactBatch(ctx, &redactionv1.RedactBatchRequest{Texts: texts, PolicyName: policy})
	if err != nil {
		return nil, fmt.Errorf("RedactionService.RedactBatch: %w", err)
	}
	if len(resp.GetResults()) != len(texts) {
		return nil, fmt.Errorf("RedactionService.RedactBatch: %d results for %d texts", len(resp.GetResults()), len(texts))
	}
	out := make([]Redaction, len(texts))
	for i, r := range resp.GetResults() {
		out[i].Text = r.GetRedactedText()
		for _, f := range r.GetFindings() {
			out[i].Entities = append(out[i].Entities, catalog.Entity{Type: f.GetEntityType(), Category: CategoryName(f.GetCategory())})
		}
	}
	return out, nil
}

// CategoryName turns an entity category into the catalogue's name for it.
func CategoryName(c redactionv1.EntityCategory) string {
	return strings.TrimPrefix(c.String(), "ENTITY_CATEGORY_")
}
