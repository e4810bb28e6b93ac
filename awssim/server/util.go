package server

import (
	"slices"
	"time"
)

// epoch is a JSON-protocol timestamp: seconds since the epoch.
func epoch(t time.Time) float64 {
	if t.IsZero() {
		t = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return float64(t.UnixMilli()) / 1000
}

// iso is a REST-JSON timestamp.
func iso(t time.Time) string {
	if t.IsZero() {
		t = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// omitEmpty turns "" into nil so JSON encodes null (the SDK treats both as absent).
func omitEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
