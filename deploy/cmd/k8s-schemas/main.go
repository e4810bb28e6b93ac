// Command k8s-schemas turns the Kubernetes OpenAPI v2 document
// (api/openapi-spec/swagger.json of the k8s.io/kubernetes module) into the
// per-kind JSON schemas kubeconform reads, laid out as its default registry
// does: DIR/v<version>-standalone-strict/<kind>[-<group>]-<version>.json.
//
// It exists because the usual source of those schemas is a download that
// machines without internet access cannot make, while the OpenAPI document
// comes through the Go module proxy. Each schema is standalone (the
// definitions it reaches travel with it) and strict (objects with declared
// properties refuse any other), like openapi2jsonschema's --strict output.
//
//	k8s-schemas -spec swagger.json -version v1.35.4 -out DIR
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	spec := flag.String("spec", "", "Kubernetes OpenAPI v2 document (swagger.json)")
	version := flag.String("version", "", "Kubernetes version the document belongs to, e.g. v1.35.4")
	out := flag.String("out", "", "output directory")
	flag.Parse()
	if err := run(*spec, *version, *out); err != nil {
		fmt.Fprintln(os.Stderr, "k8s-schemas:", err)
		os.Exit(1)
	}
}

const refPrefix = "#/definitions/"

// Definitions whose wire form is not what the OpenAPI document says.
var special = map[string]any{
	"io.k8s.apimachinery.pkg.util.intstr.IntOrString": map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}},
	"io.k8s.apimachinery.pkg.api.resource.Quantity":   map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}},
}

func run(spec, version, out string) error {
	if spec == "" || out == "" || !strings.HasPrefix(version, "v") {
		return errors.New("-spec, -out and -version (v1.x.y) are required")
	}
	raw, err := os.ReadFile(spec)
	if err != nil {
		return err
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %w", spec, err)
	}
	if len(doc.Definitions) == 0 {
		return fmt.Errorf("%s: no definitions", spec)
	}
	defs := map[string]any{}
	for name, d := range doc.Definitions {
		if s, ok := special[name]; ok {
			defs[name] = s
			continue
		}
		defs[name] = strict(d)
	}
	dir := filepath.Join(out, version+"-standalone-strict")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(doc.Definitions))
	for name := range doc.Definitions {
		names = append(names, name)
	}
	sort.Strings(names)
	written := 0
	for _, name := range names {
		gvks, _ := doc.Definitions[name]["x-kubernetes-group-version-kind"].([]any)
		if len(gvks) != 1 {
			continue // not a top-level kind, or a shared one such as DeleteOptions
		}
		gvk, _ := gvks[0].(map[string]any)
		group, _ := gvk["group"].(string)
		ver, _ := gvk["version"].(string)
		kind, _ := gvk["kind"].(string)
		file := strings.ToLower(kind)
		if group != "" {
			file += "-" + strings.Split(group, ".")[0]
		}
		file += "-" + ver + ".json"
		schema := map[string]any{}
		for k, v := range defs[name].(map[string]any) {
			schema[k] = v
		}
		reach := map[string]any{}
		collect(defs[name], defs, reach)
		if len(reach) > 0 {
			schema["definitions"] = reach
		}
		b, err := json.Marshal(schema)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
			return err
		}
		written++
	}
	if written == 0 {
		return fmt.Errorf("%s: no kinds found", spec)
	}
	fmt.Fprintf(os.Stderr, "k8s-schemas: %d schemas in %s\n", written, dir)
	return nil
}

// strict copies a schema without descriptions and extensions, closing every
// object that declares its properties.
func strict(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if k == "description" || strings.HasPrefix(k, "x-") {
				continue
			}
			if k == "properties" {
				props := map[string]any{}
				for p, s := range x.(map[string]any) {
					props[p] = strict(s)
				}
				out[k] = props
				continue
			}
			out[k] = strict(x)
		}
		if _, ok := out["$ref"]; ok {
			return map[string]any{"$ref": out["$ref"]}
		}
		if out["format"] == "int-or-string" {
			return special["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
		}
		if _, ok := out["properties"]; ok {
			if _, set := out["additionalProperties"]; !set {
				out["additionalProperties"] = false
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = strict(x)
		}
		return out
	}
	return v
}

// collect adds to reach every definition v refers to, transitively.
func collect(v any, defs, reach map[string]any) {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, refPrefix)
			if _, seen := reach[name]; !seen {
				if d, ok := defs[name]; ok {
					reach[name] = d
					collect(d, defs, reach)
				}
			}
		}
		for _, x := range v {
			collect(x, defs, reach)
		}
	case []any:
		for _, x := range v {
			collect(x, defs, reach)
		}
	}
}
