package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// spec is a tiny OpenAPI v2 document in the shape of Kubernetes' own.
const spec = `{"definitions": {
  "io.k8s.api.apps.v1.Widget": {
    "description": "a top-level kind",
    "x-kubernetes-group-version-kind": [{"group": "apps", "version": "v1", "kind": "Widget"}],
    "properties": {
      "apiVersion": {"type": "string"},
      "kind": {"type": "string"},
      "spec": {"$ref": "#/definitions/io.k8s.api.apps.v1.WidgetSpec", "description": "dropped"}
    }
  },
  "io.k8s.api.apps.v1.WidgetSpec": {
    "properties": {
      "port": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
      "memory": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"},
      "target": {"type": "string", "format": "int-or-string"},
      "labels": {"type": "object", "additionalProperties": {"type": "string"}},
      "children": {"type": "array", "items": {"$ref": "#/definitions/io.k8s.api.apps.v1.WidgetSpec"}}
    }
  },
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
  "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
  "io.k8s.api.core.v1.Gadget": {
    "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Gadget"}],
    "properties": {"name": {"type": "string"}}
  },
  "io.k8s.api.networking.v1.Gizmo": {
    "x-kubernetes-group-version-kind": [{"group": "networking.k8s.io", "version": "v1", "kind": "Gizmo"}],
    "properties": {}
  },
  "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions": {
    "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "DeleteOptions"}, {"group": "apps", "version": "v1", "kind": "DeleteOptions"}],
    "properties": {}
  },
  "io.k8s.api.apps.v1.Unused": {"properties": {"x": {"type": "string"}}}
}}`

func TestConvert(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "swagger.json")
	if err := os.WriteFile(in, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := run(in, "v1.2.3", out); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(out, "v1.2.3-standalone-strict", "*.json"))
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	// Kinds only, named <kind>[-<first label of the group>]-<version>; shared kinds skipped.
	if want := []string{"gadget-v1.json", "gizmo-networking-v1.json", "widget-apps-v1.json"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	raw, err := os.ReadFile(filepath.Join(out, "v1.2.3-standalone-strict", "widget-apps-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var w map[string]any
	if err := json.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	oneOf := func(second string) any {
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": second}}}
	}
	defs, _ := w["definitions"].(map[string]any)
	widgetSpec, _ := defs["io.k8s.api.apps.v1.WidgetSpec"].(map[string]any)
	props, _ := widgetSpec["properties"].(map[string]any)
	tests := map[string]struct{ got, want any }{
		"root closed":              {w["additionalProperties"], false},
		"descriptions dropped":     {w["description"], nil},
		"ref siblings dropped":     {get(w, "properties", "spec"), map[string]any{"$ref": "#/definitions/io.k8s.api.apps.v1.WidgetSpec"}},
		"reached definition kept":  {widgetSpec["additionalProperties"], false},
		"unreached definition out": {defs["io.k8s.api.apps.v1.Unused"], nil},
		"IntOrString both forms":   {defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"], oneOf("integer")},
		"Quantity both forms":      {defs["io.k8s.apimachinery.pkg.api.resource.Quantity"], oneOf("number")},
		"inline int-or-string":     {props["target"], oneOf("integer")},
		"maps stay open":           {props["labels"], map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}},
		"recursion terminates":     {get(props, "children", "items"), map[string]any{"$ref": "#/definitions/io.k8s.api.apps.v1.WidgetSpec"}},
	}
	for name, tc := range tests {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s: got %v, want %v", name, tc.got, tc.want)
		}
	}
}

func TestConvertRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]struct{ spec, version string }{
		"no definitions": {`{"definitions": {}}`, "v1.2.3"},
		"no kinds":       {`{"definitions": {"a": {"type": "string"}}}`, "v1.2.3"},
		"not JSON":       {`{`, "v1.2.3"},
		"bad version":    {spec, "1.2.3"},
	}
	for name, tc := range tests {
		in := filepath.Join(dir, name+".json")
		if err := os.WriteFile(in, []byte(tc.spec), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := run(in, tc.version, filepath.Join(dir, "out")); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}
