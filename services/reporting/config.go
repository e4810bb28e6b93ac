package reporting

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/dpsweep/dpsweep/services/reporting/store"
)

// DefaultRegion is where S3 and Security Hub calls go unless a destination
// names a region.
const DefaultRegion = "us-east-1"

// DefaultHistory is how many earlier sweeps the HTML report's trend shows.
const DefaultHistory = 30

// Config is the service's own configuration (flags and DPSWEEP_REPORTING_* variables).
type Config struct {
	// Database is the findings store: a SQLite file path or sqlite:// URL, or
	// a postgres:// URL. Empty means the SQLite file under the user's data
	// directory (store.DefaultSQLitePath).
	Database string
	// ReportDir is where relative LocalFile paths of ExportReport land.
	// Empty means "reports" beside the default SQLite file.
	ReportDir string
	// EndpointURL overrides every AWS endpoint (the simulator).
	EndpointURL string
	// Region is the default region of S3 and Security Hub calls.
	Region string
	// SecurityHubProductARN is the product findings are imported under;
	// empty means the caller's own default product in the destination region
	// (arn:aws:securityhub:<region>:<account>:product/<account>/default).
	SecurityHubProductARN string
	// SecurityHubRole is a role in each member account that Security Hub
	// exports assume to import that account's findings under its default
	// product.
	SecurityHubRole string
	// History is how many earlier sweeps the HTML report's trend shows.
	History int
	// Credentials, when set, are used instead of the standard chain (tests, the demo).
	Credentials aws.CredentialsProvider
	// Store, when set, is used instead of opening Database (tests, embedding);
	// the service does not close it.
	Store store.Store
}

// DefaultConfig is the configuration with every default.
func DefaultConfig() Config {
	return Config{Region: DefaultRegion, History: DefaultHistory}
}

// RegisterFlags defines the service's flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Database, "database", c.Database,
		"findings store: a SQLite file (path or sqlite:///abs/path.db) or postgres://user@host/db; default: findings.db under the user's data directory ($XDG_DATA_HOME/dpsweep or ~/.local/share/dpsweep)")
	fs.StringVar(&c.ReportDir, "report-dir", c.ReportDir, "directory for reports exported to relative file paths; default: reports/ beside the default SQLite file")
	fs.StringVar(&c.EndpointURL, "endpoint-url", c.EndpointURL, "AWS endpoint override for S3, Security Hub and STS (the simulator), e.g. http://127.0.0.1:4566")
	fs.StringVar(&c.Region, "region", c.Region, "region of S3 calls (and STS) when a destination names none")
	fs.StringVar(&c.SecurityHubProductARN, "security-hub-product-arn", c.SecurityHubProductARN,
		"Security Hub product ARN findings are imported under; default: the caller's own default product in the destination region")
	fs.StringVar(&c.SecurityHubRole, "security-hub-role", c.SecurityHubRole,
		"role name in each member account that Security Hub exports assume to import that account's findings (Security Hub takes an account's findings only from that account)")
	fs.IntVar(&c.History, "history", c.History, "earlier sweeps shown in the HTML report's trend")
}

// validate reports the first setting that cannot work, naming its flag.
func (c *Config) validate() error {
	switch {
	case c.History < 0 || c.History > 1000:
		return fmt.Errorf("--history must be between 0 and 1000, got %d", c.History)
	case c.Region == "":
		return errors.New("--region is required")
	case c.SecurityHubProductARN != "" && !strings.HasPrefix(c.SecurityHubProductARN, "arn:"):
		return fmt.Errorf("--security-hub-product-arn: %q is not an ARN (arn:aws:securityhub:REGION:ACCOUNT:product/ACCOUNT/default)", c.SecurityHubProductARN)
	case c.EndpointURL != "" && !strings.HasPrefix(c.EndpointURL, "http://") && !strings.HasPrefix(c.EndpointURL, "https://"):
		return fmt.Errorf("--endpoint-url: %q is not an http:// or https:// URL", c.EndpointURL)
	}
	return nil
}

// resolveReportDir returns the absolute report directory.
func (c *Config) resolveReportDir() (string, error) {
	dir := c.ReportDir
	if dir == "" {
		db, err := store.DefaultSQLitePath()
		if err != nil {
			return "", fmt.Errorf("--report-dir: %w", err)
		}
		dir = filepath.Join(filepath.Dir(db), "reports")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("--report-dir: %w", err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return "", fmt.Errorf("--report-dir: %w", err)
	}
	return abs, nil
}

// version is the module version written into SARIF and OCSF metadata.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
