package engine

import (
	"context"
	"fmt"

	redaction "github.com/dpsweep/dpsweep/services/redaction/engine"

	"github.com/dpsweep/dpsweep/services/evaluation/catalog"
)

// localRedactor runs the redaction engine in-process, with the policy the
// RedactionService's "default" has: replace everything with its type tag.
type localRedactor struct {
	r     *redaction.Redactor
	calls int
	texts [][]string
}

func newLocalRedactor() *localRedactor {
	keys, err := redaction.NewKeys([]byte("0123456789abcdef0123456789abcdef"), []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		panic(err)
	}
	return &localRedactor{r: &redaction.Redactor{Engine: redaction.New(), Keys: keys}}
}

// policies are the RedactionService's named policies the engine uses.
var policies = map[string]*redaction.Policy{
	PolicyEvidence: {},
	PolicyIdentity: {Default: redaction.OperatorConfig{Operator: redaction.OperatorHash}},
}

func (l *localRedactor) Redact(_ context.Context, texts []string, policy string) ([]Redaction, error) {
	l.calls++
	l.texts = append(l.texts, texts)
	p, ok := policies[policy]
	if !ok {
		return nil, fmt.Errorf("unknown policy %q", policy)
	}
	out := make([]Redaction, len(texts))
	for i, t := range texts {
		red, fs, err := l.r.Redact(t, p)
		if err != nil {
			return nil, err
		}
		out[i].Text = red
		for _, f := range fs {
			out[i].Entities = append(out[i].Entities, catalog.Entity{Type: f.Entity, Category: f.Category.String()})
		}
	}
	return out, nil
}
