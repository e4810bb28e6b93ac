package catalog

import (
	"fmt"
	"strings"
)

// MarkdownTable renders the built-in catalogue as the table docs/CONTROLS.md carries.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| ID | control | severity | resource types | seeds |\n|---|---|---|---|---|\n")
	for _, c := range Builtin() {
		var seeds []string
		for _, s := range c.Seeds {
			doc := "SC"
			if s.File == sarFile {
				doc = "SAR"
			}
			ref := doc + " › " + s.Section
			if !contains(seeds, ref) {
				seeds = append(seeds, ref)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.ID, c.Title, strings.TrimPrefix(c.Severity.String(), "SEVERITY_"),
			"`"+strings.Join(c.ResourceTypes, "`, `")+"`", strings.Join(seeds, "; "))
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
