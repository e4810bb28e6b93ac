package catalog

import (
	"os"
	"strings"
	"testing"
)

const (
	controlsDoc = "../../../docs/CONTROLS.md"
	beginTable  = "<!-- BEGIN CONTROLS TABLE (generated: DPSWEEP_UPDATE_DOCS=1 go test ./catalog/) -->\n"
	endTable    = "<!-- END CONTROLS TABLE -->"
)

// TestControlsDocIsCurrent keeps the table of docs/CONTROLS.md equal to the
// catalogue; DPSWEEP_UPDATE_DOCS=1 rewrites it.
func TestControlsDocIsCurrent(t *testing.T) {
	raw, err := os.ReadFile(controlsDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, beginTable), strings.Index(doc, endTable)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the table markers", controlsDoc)
	}
	want := MarkdownTable()
	if got := doc[i+len(beginTable) : j]; got != want {
		if os.Getenv("DPSWEEP_UPDATE_DOCS") == "1" {
			if err := os.WriteFile(controlsDoc, []byte(doc[:i+len(beginTable)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s is out of date; run DPSWEEP_UPDATE_DOCS=1 go test ./catalog/ in services/evaluation", controlsDoc)
	}
}
