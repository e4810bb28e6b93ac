package custom

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"

	"github.com/dpsweep/dpsweep/services/evaluation/catalog"
)

// Limits on a rule.
const (
	// MaxExpressionLength is the longest expression accepted, in characters.
	MaxExpressionLength = 4096
	// CostLimit bounds the work of one evaluation (in CEL cost units,
	// roughly one per operation and per element traversed).
	CostLimit = 1_000_000
	// interruptEvery is how many comprehension iterations run between
	// checks of the deadline.
	interruptEvery = 100
)

// evalTimeout bounds the wall time of one evaluation. cel-go's cost tracking
// is itself quadratic in the iterations of a comprehension (v0.32.0: 100,000
// iterations over a long string take seconds while costing far less than
// CostLimit), so the cost limit alone does not bound time.
var evalTimeout = time.Second

// celEnv declares what a rule sees: resource (arn, type, account_id, region,
// name and attributes; never the free-form fields) and now. Besides the
// standard definitions, rules may use the strings extension and optional
// values (resource.attributes.?key.orValue(default)).
var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("resource", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("now", cel.TimestampType),
		ext.Strings(),
		cel.OptionalTypes(),
	)
})

// program is a compiled expression.
type program struct {
	prg cel.Program
	// names are the field names and string literals of the expression: an
	// evaluation error may name them, as they come from the rule, not from
	// the resource.
	names map[string]bool
}

// compile compiles a boolean expression; problem says why it cannot be.
func compile(src string) (*program, string) {
	if n := utf8.RuneCountInString(src); n > MaxExpressionLength {
		return nil, fmt.Sprintf("expression is %d characters long, over the limit of %d", n, MaxExpressionLength)
	}
	env, err := celEnv()
	if err != nil {
		return nil, "CEL environment: " + err.Error()
	}
	checked, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		var msgs []string
		for _, e := range iss.Errors() {
			msgs = append(msgs, fmt.Sprintf("ERROR: <input>:%d:%d: %s", e.Location.Line(), e.Location.Column()+1, e.Message))
		}
		if len(msgs) == 0 {
			msgs = append(msgs, iss.Err().Error())
		}
		return nil, oneLine(strings.Join(msgs, "; "))
	}
	if t := checked.OutputType(); !t.IsExactType(cel.BoolType) {
		return nil, fmt.Sprintf("want a bool expression, got %s", t)
	}
	prg, err := env.Program(checked, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(interruptEvery))
	if err != nil {
		return nil, oneLine(err.Error())
	}
	names := map[string]bool{}
	ast.PreOrderVisit(checked.NativeRep().Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		switch e.Kind() {
		case ast.SelectKind:
			names[e.AsSelect().FieldName()] = true
		case ast.LiteralKind:
			if s, ok := e.AsLiteral().(types.String); ok {
				names[string(s)] = true
			}
		}
	}))
	return &program{prg: prg, names: names}, ""
}

// eval runs the program; the error is short and names no resource value.
func (p *program) eval(vars map[string]any) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), evalTimeout)
	defer cancel()
	out, _, err := p.prg.ContextEval(ctx, vars)
	if err != nil {
		return false, p.short(err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, "result is not a bool"
	}
	return b, ""
}

// short shortens an evaluation error, keeping no value from the resource:
// a missing key is named only when the rule spells it out, and other
// messages are cut before their first colon or quote, where CEL puts the
// values involved ("index out of bounds: 5", "invalid RFC 3339 timestamp
// \"...\"").
func (p *program) short(err error) string {
	msg := oneLine(err.Error())
	if strings.Contains(msg, "cost limit exceeded") {
		return fmt.Sprintf("cost limit of %d exceeded", CostLimit)
	}
	if strings.Contains(msg, "operation interrupted") {
		return fmt.Sprintf("took longer than %v", evalTimeout)
	}
	if key, ok := strings.CutPrefix(msg, "no such key: "); ok {
		if p.names[key] {
			return "no such key: " + key
		}
		return "no such key"
	}
	if i := strings.IndexAny(msg, ":'\"`"); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.TrimSpace(msg)
	if msg == "" || len(msg) > 100 {
		return "evaluation error"
	}
	return msg
}

// rule is a custom control's check.
type rule struct {
	appliesIf, condition *program
	failMessage          string
}

// check judges a resource: NotApplicable when applies_if is false, PASS or
// FAIL by the condition, NOT_ASSESSED when either cannot be evaluated.
// Summaries hold no attribute value.
func (r *rule) check(res *catalog.Resource, env *catalog.Env) catalog.Outcome {
	attrs := res.Attrs
	if attrs == nil {
		attrs = map[string]any{}
	}
	now := time.Now()
	if env != nil {
		now = env.Now
	}
	vars := map[string]any{
		"resource": map[string]any{"arn": res.ARN, "type": res.Type, "account_id": res.Account, "region": res.Region, "name": res.Name, "attributes": attrs},
		"now":      now,
	}
	if r.appliesIf != nil {
		applies, problem := r.appliesIf.eval(vars)
		if problem != "" {
			return catalog.Missing("custom rule could not be evaluated: applies_if: %s", problem)
		}
		if !applies {
			return catalog.NotApplicable
		}
	}
	ok, problem := r.condition.eval(vars)
	switch {
	case problem != "":
		return catalog.Missing("custom rule could not be evaluated: %s", problem)
	case ok:
		return catalog.Passed("the condition holds")
	}
	return catalog.Failed("%s", r.failMessage)
}
