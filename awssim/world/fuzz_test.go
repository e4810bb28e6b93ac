package world

import (
	"bytes"
	"encoding/json"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParse checks that a world spec in YAML or JSON never panics the
// loader, and that whatever loads writes back as YAML that loads again and
// writes back identically (a fixed point after one round trip).
func FuzzParse(f *testing.F) {
	for _, n := range []int{1, 2} {
		g, err := Generate(genOpts(n))
		if err != nil {
			f.Fatal(err)
		}
		y, err := g.World.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(y)
		// The same world as JSON (JSON is read as YAML).
		var doc any
		if err := yaml.Unmarshal(y, &doc); err != nil {
			f.Fatal(err)
		}
		if j, err := json.Marshal(doc); err == nil {
			f.Add(j)
		}
	}
	f.Add([]byte(""))
	f.Add([]byte("{}"))
	f.Add([]byte(`{"accounts": [{"id": "111111111111"}]}`))
	f.Add([]byte("accounts:\n  - &a {id: '111111111111'}\n  - *a\n"))
	f.Add([]byte("unknown_field: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := Parse(data)
		if err != nil {
			if w != nil {
				t.Fatal("error with a world")
			}
			return
		}
		y1, err := w.Marshal()
		if err != nil {
			return // e.g. values YAML cannot write; an error, not a crash
		}
		w2, err := Parse(y1)
		if err != nil {
			t.Fatalf("a loaded world written back does not load: %v\n%s", err, y1)
		}
		y2, err := w2.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		w3, err := Parse(y2)
		if err != nil {
			t.Fatal(err)
		}
		y3, _ := w3.Marshal()
		if !bytes.Equal(y2, y3) {
			t.Fatalf("round trip is not a fixed point:\n%s\n---\n%s", y2, y3)
		}
	})
}
