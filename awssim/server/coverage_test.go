package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryOperationIsCalledThroughTheSDK guards the rule that every
// implemented operation has a test calling it through aws-sdk-go-v2: each
// registered operation must appear as an SDK method call (".Op(") in the
// package's tests.
func TestEveryOperationIsCalledThroughTheSDK(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	all := src.String()
	for _, op := range Operations() {
		name := op[strings.IndexByte(op, ':')+1:]
		if !strings.Contains(all, "."+name+"(") && !strings.Contains(all, "New"+name+"Paginator(") {
			t.Errorf("%s is implemented but no test calls it through the SDK", op)
		}
	}
}
