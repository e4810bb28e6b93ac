// Package flagenv fills flags that were not given on the command line from
// environment variables, so every setting has one name in both places:
// flag --max-recv-bytes is read from <PREFIX>_MAX_RECV_BYTES.
package flagenv

import (
	"flag"
	"fmt"
	"strings"
)

// EnvName is the environment variable that sets a flag under a prefix:
// EnvName("DPSWEEP_REDACTION", "max-text-bytes") is
// "DPSWEEP_REDACTION_MAX_TEXT_BYTES".
func EnvName(prefix, flagName string) string {
	return prefix + "_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flagName))
}

// Apply sets every flag of fs that was not set on the command line from the
// first of the prefixes whose variable is present in the environment.
// Prefixes are tried in order, so a service-specific prefix can come before
// a shared one. The error names the variable and the problem.
func Apply(fs *flag.FlagSet, getenv func(string) string, prefixes ...string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] {
			return
		}
		for _, p := range prefixes {
			name := EnvName(p, f.Name)
			v := getenv(name)
			if v == "" {
				continue
			}
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment variable %s: %w", name, e)
			}
			return
		}
	})
	return err
}
