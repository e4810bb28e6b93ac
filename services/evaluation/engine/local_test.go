package engine

import (
	"context"

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
	return &localRedactor{r: &redaction.Redactor{Engine: redaction.New()}}
}

func (l *localRedactor) Redact(_ context.Context, texts []string) ([]Redaction, error) {
	l.calls++
	l.texts = append(l.texts, texts)
	out := make([]Redaction, len(texts))
	for i, t := range texts {
		red, fs, err := l.r.Redact(t, &redaction.Policy{})
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
