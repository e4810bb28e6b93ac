package evaluation

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"buf.build/go/protovalidate"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	"github.com/dpsweep/dpsweep/services/evaluation/engine"
	"github.com/dpsweep/dpsweep/services/platform/client"
)

// RedactionAddr is where the RedactionService listens by default.
const RedactionAddr = "127.0.0.1:7403"

// DefaultMaxResources bounds one inventory.
const DefaultMaxResources = 1_000_000

// Config is the service's own configuration (flags and DPSWEEP_EVALUATION_* variables).
type Config struct {
	// Redaction is the RedactionService every free-form value and evidence
	// summary goes through.
	Redaction client.Config
	// Controls are files or directories of custom CEL controls.
	Controls []string
	// SuppressionsFile holds suppressions that apply to every evaluation.
	SuppressionsFile string
	// BatchTexts and BatchBytes bound one RedactBatch call.
	BatchTexts, BatchBytes int
	// MaxResources bounds the resources of one inventory.
	MaxResources int
	// Redactor, when set, replaces the RedactionService client (unit tests only).
	Redactor engine.Redactor
}

// DefaultConfig is the configuration with every default.
func DefaultConfig() Config {
	return Config{Redaction: client.Config{Addr: RedactionAddr}, BatchTexts: engine.DefaultBatchTexts, BatchBytes: engine.DefaultBatchBytes,
		MaxResources: DefaultMaxResources}
}

// listFlag is a comma-separated, repeatable list.
type listFlag struct{ dst *[]string }

func (l listFlag) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l.dst = append(*l.dst, p)
		}
	}
	return nil
}

// RegisterFlags defines the service's flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.Redaction.RegisterFlags(fs, "redaction", c.Redaction.Addr)
	fs.Var(listFlag{&c.Controls}, "controls", "files or directories of custom CEL controls (YAML), comma-separated; see docs/CUSTOM_CONTROLS.md")
	fs.StringVar(&c.SuppressionsFile, "suppressions-file", "", "YAML or JSON file of suppressions applied to every evaluation")
	fs.IntVar(&c.BatchTexts, "redaction-batch-texts", c.BatchTexts, "texts per RedactBatch call")
	fs.IntVar(&c.BatchBytes, "redaction-batch-bytes", c.BatchBytes, "bytes of text per RedactBatch call")
	fs.IntVar(&c.MaxResources, "max-resources", c.MaxResources, "largest inventory accepted, in resources")
}

// validate reports the first setting that cannot work, naming its flag.
func (c *Config) validate() error {
	switch {
	case c.BatchTexts <= 0 || c.BatchTexts > 10000:
		return fmt.Errorf("--redaction-batch-texts must be between 1 and 10000, got %d", c.BatchTexts)
	case c.BatchBytes <= 0:
		return fmt.Errorf("--redaction-batch-bytes must be positive, got %d", c.BatchBytes)
	case c.MaxResources <= 0:
		return fmt.Errorf("--max-resources must be positive, got %d", c.MaxResources)
	case c.Redactor == nil && c.Redaction.Addr == "":
		return errors.New("--redaction-addr is required")
	}
	return nil
}

// LoadSuppressions reads a suppressions file:
//
//	suppressions:
//	  - id: public-website
//	    control_id: DPS-TLS-001
//	    resource_pattern: "arn:aws:s3:::www-*"
//	    justification: static website, no personal data
//	    expires_at: 2027-01-31T00:00:00Z
//
// JSON is YAML too. Every suppression needs an id, a justification and an
// expiry; errors name the file and the entry.
func LoadSuppressions(file string) ([]*evaluationv1.Suppression, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("suppressions file: %w", err)
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("suppressions file %s: %w", file, err)
	}
	asJSON, err := json.Marshal(jsonable(doc))
	if err != nil {
		return nil, fmt.Errorf("suppressions file %s: %w", file, err)
	}
	var holder evaluationv1.EvaluationContext
	if err := protojson.Unmarshal(asJSON, &holder); err != nil {
		return nil, fmt.Errorf("suppressions file %s: want a top-level \"suppressions\" list: %w", file, err)
	}
	list := holder.GetSuppressions()
	if holder.GetSweepId() != "" || holder.GetAccountId() != "" || holder.GetRegion() != "" {
		return nil, fmt.Errorf("suppressions file %s: only \"suppressions\" may be set", file)
	}
	seen := map[string]bool{}
	for i, s := range list {
		if err := protovalidate.Validate(s); err != nil {
			return nil, fmt.Errorf("suppressions file %s: suppressions[%d]: %w", file, i, err)
		}
		if s.GetId() == "" {
			return nil, fmt.Errorf("suppressions file %s: suppressions[%d].id: required", file, i)
		}
		if s.GetControlId() == "" {
			return nil, fmt.Errorf("suppressions file %s: suppressions[%d].control_id: required (\"*\" for every control)", file, i)
		}
		if seen[s.GetId()] {
			return nil, fmt.Errorf("suppressions file %s: suppressions[%d].id: %q is used twice", file, i, s.GetId())
		}
		seen[s.GetId()] = true
	}
	return list, nil
}

// jsonable turns YAML's decoded values into what encoding/json accepts
// (timestamps YAML parsed as times become RFC 3339 strings).
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			x[k] = jsonable(vv)
		}
		return x
	case []any:
		for i := range x {
			x[i] = jsonable(x[i])
		}
		return x
	case interface{ Format(string) string }:
		return x.Format("2006-01-02T15:04:05Z07:00")
	}
	return v
}
