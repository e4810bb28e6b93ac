package world

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// Load reads a world spec in YAML or JSON (JSON is read as YAML) and
// indexes it. Errors name the file and the line or the field.
func Load(path string) (*World, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	w, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// Parse reads a world spec from bytes.
func Parse(b []byte) (*World, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var w World
	if err := dec.Decode(&w); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty world spec")
		}
		return nil, err
	}
	if err := w.Index(); err != nil {
		return nil, err
	}
	return &w, nil
}

// Marshal writes a world as YAML (generated worlds are filled first).
func (w *World) Marshal() ([]byte, error) {
	for _, a := range w.Accounts {
		a.fill()
	}
	return yaml.Marshal(w)
}
