// Package world is the simulated AWS Organization: its accounts, their
// enabled regions, and per account and region the resources dpsweep's
// controls look at. A world is loaded from a YAML or JSON spec (spec.go) or
// generated from a seed (generate.go), which also writes the findings it
// expects (expect.go).
package world

import (
	"sync"
	"time"
)

// World is one organization.
type World struct {
	// Partition is "aws" unless set.
	Partition string `json:"partition,omitempty" yaml:"partition,omitempty"`
	// OrganizationID, for example "o-a1b2c3d4e5".
	OrganizationID string `json:"organization_id" yaml:"organization_id"`
	// ManagementAccount is the ID of the account that owns the organization;
	// the simulator's root credentials belong to it.
	ManagementAccount string `json:"management_account" yaml:"management_account"`
	// RootID, for example "r-ab12".
	RootID string `json:"root_id" yaml:"root_id"`
	// OUs are the organizational units, parents first.
	OUs []*OU `json:"ous,omitempty" yaml:"ous,omitempty"`
	// Regions are every region the partition offers; OptIn ones may be
	// disabled per account.
	Regions []RegionInfo `json:"regions" yaml:"regions"`
	// Accounts in the organization.
	Accounts []*Account `json:"accounts" yaml:"accounts"`

	mu    sync.RWMutex
	index map[string]*Account
}

// OU is an organizational unit.
type OU struct {
	ID     string `json:"id" yaml:"id"`
	Name   string `json:"name" yaml:"name"`
	Parent string `json:"parent" yaml:"parent"` // root or OU ID
}

// RegionInfo describes a region of the partition.
type RegionInfo struct {
	Name  string `json:"name" yaml:"name"`
	OptIn bool   `json:"opt_in,omitempty" yaml:"opt_in,omitempty"`
}

// Account is one member (or the management) account.
type Account struct {
	ID     string            `json:"id" yaml:"id"`
	Name   string            `json:"name" yaml:"name"`
	Email  string            `json:"email" yaml:"email"`
	Status string            `json:"status,omitempty" yaml:"status,omitempty"` // ACTIVE (default) or SUSPENDED
	Parent string            `json:"parent,omitempty" yaml:"parent,omitempty"` // root or OU ID; root when empty
	Tags   map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
	// Roles that can be assumed in the account. The scanner's role must be
	// listed here for sts:AssumeRole to succeed.
	Roles []*Role `json:"roles,omitempty" yaml:"roles,omitempty"`
	// EnabledOptInRegions lists the opt-in regions the account has enabled;
	// every region that is not opt-in is always enabled.
	EnabledOptInRegions []string `json:"enabled_opt_in_regions,omitempty" yaml:"enabled_opt_in_regions,omitempty"`
	// IAM is the account's global identity data.
	IAM IAM `json:"iam" yaml:"iam"`
	// Buckets are the account's S3 buckets (a global list; each has a region).
	Buckets []*Bucket `json:"buckets,omitempty" yaml:"buckets,omitempty"`
	// Regional holds the regional resources by region name.
	Regional map[string]*Regional `json:"regional,omitempty" yaml:"regional,omitempty"`
	// Created is when the account joined.
	Created time.Time `json:"created,omitempty" yaml:"created,omitempty"`

	// lazy, when set, fills the account's contents on first use (generated
	// worlds), so a large world costs memory only for accounts touched.
	lazy     func(*Account)
	lazyOnce sync.Once
}

// Role is an IAM role.
type Role struct {
	Name string `json:"name" yaml:"name"`
	// ExternalID, when set, must be passed to sts:AssumeRole.
	ExternalID string `json:"external_id,omitempty" yaml:"external_id,omitempty"`
	// AttachedPolicies are managed policy ARNs, e.g. arn:aws:iam::aws:policy/AdministratorAccess.
	AttachedPolicies []string `json:"attached_policies,omitempty" yaml:"attached_policies,omitempty"`
	// TrustedAccounts may assume the role; the management account when empty.
	TrustedAccounts []string `json:"trusted_accounts,omitempty" yaml:"trusted_accounts,omitempty"`
}

// IAM is an account's identity data.
type IAM struct {
	Root           Root            `json:"root" yaml:"root"`
	Users          []*User         `json:"users,omitempty" yaml:"users,omitempty"`
	PasswordPolicy *PasswordPolicy `json:"password_policy,omitempty" yaml:"password_policy,omitempty"`
}

// Root is the root user's state.
type Root struct {
	MFA        bool      `json:"mfa" yaml:"mfa"`
	AccessKeys int       `json:"access_keys,omitempty" yaml:"access_keys,omitempty"`
	LastUsed   time.Time `json:"last_used,omitempty" yaml:"last_used,omitempty"`
}

// User is an IAM user.
type User struct {
	Name             string         `json:"name" yaml:"name"`
	Created          time.Time      `json:"created,omitempty" yaml:"created,omitempty"`
	ConsolePassword  bool           `json:"console_password,omitempty" yaml:"console_password,omitempty"`
	PasswordLastUsed time.Time      `json:"password_last_used,omitempty" yaml:"password_last_used,omitempty"`
	MFA              bool           `json:"mfa,omitempty" yaml:"mfa,omitempty"`
	AccessKeys       []AccessKey    `json:"access_keys,omitempty" yaml:"access_keys,omitempty"`
	AttachedPolicies []string       `json:"attached_policies,omitempty" yaml:"attached_policies,omitempty"`
	InlinePolicies   []InlinePolicy `json:"inline_policies,omitempty" yaml:"inline_policies,omitempty"`
}

// AccessKey is a user's access key.
type AccessKey struct {
	ID          string    `json:"id" yaml:"id"`
	Active      bool      `json:"active" yaml:"active"`
	LastRotated time.Time `json:"last_rotated" yaml:"last_rotated"`
}

// InlinePolicy is an inline user policy document (JSON).
type InlinePolicy struct {
	Name     string `json:"name" yaml:"name"`
	Document string `json:"document" yaml:"document"`
}

// PasswordPolicy is the account password policy.
type PasswordPolicy struct {
	MinimumLength    int  `json:"minimum_length" yaml:"minimum_length"`
	RequireSymbols   bool `json:"require_symbols,omitempty" yaml:"require_symbols,omitempty"`
	RequireNumbers   bool `json:"require_numbers,omitempty" yaml:"require_numbers,omitempty"`
	RequireUppercase bool `json:"require_uppercase,omitempty" yaml:"require_uppercase,omitempty"`
	RequireLowercase bool `json:"require_lowercase,omitempty" yaml:"require_lowercase,omitempty"`
	MaxAgeDays       int  `json:"max_age_days,omitempty" yaml:"max_age_days,omitempty"`
	ReusePrevention  int  `json:"reuse_prevention,omitempty" yaml:"reuse_prevention,omitempty"`
}

// Bucket is an S3 bucket.
type Bucket struct {
	Name   string `json:"name" yaml:"name"`
	Region string `json:"region" yaml:"region"`
	// Encryption is "AES256", "aws:kms", "aws:kms:dsse" or "" for none (AWS
	// encrypts every new bucket with AES256 since January 2023; an empty
	// value models an old bucket).
	Encryption string `json:"encryption,omitempty" yaml:"encryption,omitempty"`
	KMSKeyID   string `json:"kms_key_id,omitempty" yaml:"kms_key_id,omitempty"`
	// Policy is the bucket policy document (JSON), or empty for none.
	Policy string `json:"policy,omitempty" yaml:"policy,omitempty"`
	// PublicAccessBlock is nil when none is configured.
	PublicAccessBlock *PublicAccessBlock `json:"public_access_block,omitempty" yaml:"public_access_block,omitempty"`
	Created           time.Time          `json:"created,omitempty" yaml:"created,omitempty"`
	// Objects written to the bucket (report exports), by key.
	Objects map[string]*Object `json:"-" yaml:"-"`
}

// PublicAccessBlock is a bucket's public access block configuration.
type PublicAccessBlock struct {
	BlockPublicAcls       bool `json:"block_public_acls" yaml:"block_public_acls"`
	IgnorePublicAcls      bool `json:"ignore_public_acls" yaml:"ignore_public_acls"`
	BlockPublicPolicy     bool `json:"block_public_policy" yaml:"block_public_policy"`
	RestrictPublicBuckets bool `json:"restrict_public_buckets" yaml:"restrict_public_buckets"`
}

// Object is an S3 object written through the simulator.
type Object struct {
	Body                 []byte
	ContentType          string
	ServerSideEncryption string
	KMSKeyID             string
	Modified             time.Time
}

// Regional are an account's resources in one region.
type Regional struct {
	// Macie is whether Macie is enabled (its session status ENABLED).
	Macie        bool                  `json:"macie,omitempty" yaml:"macie,omitempty"`
	Trails       []*Trail              `json:"trails,omitempty" yaml:"trails,omitempty"`
	Tables       []*Table              `json:"tables,omitempty" yaml:"tables,omitempty"`
	Keys         []*Key                `json:"keys,omitempty" yaml:"keys,omitempty"`
	VPCs         []*VPC                `json:"vpcs,omitempty" yaml:"vpcs,omitempty"`
	Portfolios   []*Portfolio          `json:"portfolios,omitempty" yaml:"portfolios,omitempty"`
	Products     []*Product            `json:"products,omitempty" yaml:"products,omitempty"`
	Provisioned  []*ProvisionedProduct `json:"provisioned_products,omitempty" yaml:"provisioned_products,omitempty"`
	TagOptions   []*TagOption          `json:"tag_options,omitempty" yaml:"tag_options,omitempty"`
	Applications []*Application        `json:"applications,omitempty" yaml:"applications,omitempty"`
	Events       []*Event              `json:"events,omitempty" yaml:"events,omitempty"`
	// Findings imported into Security Hub, by finding ID.
	Findings map[string]*Finding `json:"-" yaml:"-"`
}

// Trail is a CloudTrail trail, held in its home region.
type Trail struct {
	Name              string `json:"name" yaml:"name"`
	MultiRegion       bool   `json:"multi_region,omitempty" yaml:"multi_region,omitempty"`
	Logging           bool   `json:"logging,omitempty" yaml:"logging,omitempty"`
	LogFileValidation bool   `json:"log_file_validation,omitempty" yaml:"log_file_validation,omitempty"`
	KMSKeyID          string `json:"kms_key_id,omitempty" yaml:"kms_key_id,omitempty"`
	S3Bucket          string `json:"s3_bucket" yaml:"s3_bucket"`
	// ReadWriteType of the management-event selector: All, ReadOnly,
	// WriteOnly, or "" for no management events.
	ManagementEvents  string `json:"management_events,omitempty" yaml:"management_events,omitempty"`
	OrganizationTrail bool   `json:"organization_trail,omitempty" yaml:"organization_trail,omitempty"`
}

// Table is a DynamoDB table.
type Table struct {
	Name string `json:"name" yaml:"name"`
	// SSE is "DEFAULT" (AWS owned key), "KMS" (AWS managed key) or "CMK"
	// (a customer managed key in KMSKeyARN).
	SSE       string `json:"sse,omitempty" yaml:"sse,omitempty"`
	KMSKeyARN string `json:"kms_key_arn,omitempty" yaml:"kms_key_arn,omitempty"`
	Items     int64  `json:"items,omitempty" yaml:"items,omitempty"`
}

// Key is a KMS key.
type Key struct {
	ID       string `json:"id" yaml:"id"`
	Manager  string `json:"manager,omitempty" yaml:"manager,omitempty"` // CUSTOMER (default) or AWS
	Rotation bool   `json:"rotation,omitempty" yaml:"rotation,omitempty"`
	State    string `json:"state,omitempty" yaml:"state,omitempty"` // Enabled (default)
	Spec     string `json:"spec,omitempty" yaml:"spec,omitempty"`   // SYMMETRIC_DEFAULT (default)
}

// VPC is a VPC with its endpoints.
type VPC struct {
	ID        string      `json:"id" yaml:"id"`
	CIDR      string      `json:"cidr,omitempty" yaml:"cidr,omitempty"`
	Default   bool        `json:"default,omitempty" yaml:"default,omitempty"`
	Endpoints []*Endpoint `json:"endpoints,omitempty" yaml:"endpoints,omitempty"`
}

// Endpoint is a VPC endpoint.
type Endpoint struct {
	ID string `json:"id" yaml:"id"`
	// Service is the short service name, e.g. "servicecatalog"; the full
	// name is com.amazonaws.<region>.<service>.
	Service    string `json:"service" yaml:"service"`
	Type       string `json:"type,omitempty" yaml:"type,omitempty"` // Interface (default) or Gateway
	PrivateDNS bool   `json:"private_dns,omitempty" yaml:"private_dns,omitempty"`
}

// Portfolio is a Service Catalog portfolio.
type Portfolio struct {
	ID           string            `json:"id" yaml:"id"`
	DisplayName  string            `json:"display_name" yaml:"display_name"`
	Description  string            `json:"description,omitempty" yaml:"description,omitempty"`
	ProviderName string            `json:"provider_name,omitempty" yaml:"provider_name,omitempty"`
	Tags         map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Created      time.Time         `json:"created,omitempty" yaml:"created,omitempty"`
	Products     []string          `json:"products,omitempty" yaml:"products,omitempty"`
	// Principals with access (IAM ARNs).
	Principals []string `json:"principals,omitempty" yaml:"principals,omitempty"`
	// Shares: to accounts (12-digit IDs), OUs (ou-...) or the organization (o-...).
	Shares      []string      `json:"shares,omitempty" yaml:"shares,omitempty"`
	Constraints []*Constraint `json:"constraints,omitempty" yaml:"constraints,omitempty"`
	TagOptions  []string      `json:"tag_options,omitempty" yaml:"tag_options,omitempty"`
}

// Constraint is a Service Catalog constraint.
type Constraint struct {
	ID        string `json:"id" yaml:"id"`
	Type      string `json:"type" yaml:"type"` // LAUNCH, TEMPLATE, NOTIFICATION, ...
	ProductID string `json:"product_id" yaml:"product_id"`
	// RoleARN is the launch role of a LAUNCH constraint.
	RoleARN     string `json:"role_arn,omitempty" yaml:"role_arn,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// Product is a Service Catalog product.
type Product struct {
	ID                 string            `json:"id" yaml:"id"`
	Name               string            `json:"name" yaml:"name"`
	Owner              string            `json:"owner,omitempty" yaml:"owner,omitempty"`
	Description        string            `json:"description,omitempty" yaml:"description,omitempty"`
	Distributor        string            `json:"distributor,omitempty" yaml:"distributor,omitempty"`
	SupportDescription string            `json:"support_description,omitempty" yaml:"support_description,omitempty"`
	SupportEmail       string            `json:"support_email,omitempty" yaml:"support_email,omitempty"`
	SupportURL         string            `json:"support_url,omitempty" yaml:"support_url,omitempty"`
	Tags               map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Artifacts          []*Artifact       `json:"artifacts,omitempty" yaml:"artifacts,omitempty"`
	Created            time.Time         `json:"created,omitempty" yaml:"created,omitempty"`
}

// Artifact is a provisioning artifact (product version).
type Artifact struct {
	ID          string `json:"id" yaml:"id"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	TemplateURL string `json:"template_url" yaml:"template_url"`
	Active      bool   `json:"active,omitempty" yaml:"active,omitempty"`
}

// ProvisionedProduct is a launched product.
type ProvisionedProduct struct {
	ID         string            `json:"id" yaml:"id"`
	Name       string            `json:"name" yaml:"name"`
	ProductID  string            `json:"product_id" yaml:"product_id"`
	ArtifactID string            `json:"artifact_id" yaml:"artifact_id"`
	Status     string            `json:"status,omitempty" yaml:"status,omitempty"` // AVAILABLE (default)
	Tags       map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Created    time.Time         `json:"created,omitempty" yaml:"created,omitempty"`
}

// TagOption is a Service Catalog tag option.
type TagOption struct {
	ID     string `json:"id" yaml:"id"`
	Key    string `json:"key" yaml:"key"`
	Value  string `json:"value" yaml:"value"`
	Active bool   `json:"active,omitempty" yaml:"active,omitempty"`
}

// Application is a Serverless Application Repository application.
type Application struct {
	ID            string     `json:"id" yaml:"id"` // the application name; the ARN is built from it
	Name          string     `json:"name" yaml:"name"`
	Author        string     `json:"author" yaml:"author"`
	Description   string     `json:"description" yaml:"description"`
	Labels        []string   `json:"labels,omitempty" yaml:"labels,omitempty"`
	HomePageURL   string     `json:"home_page_url,omitempty" yaml:"home_page_url,omitempty"`
	LicenseURL    string     `json:"license_url,omitempty" yaml:"license_url,omitempty"`
	ReadmeURL     string     `json:"readme_url,omitempty" yaml:"readme_url,omitempty"`
	SourceCodeURL string     `json:"source_code_url,omitempty" yaml:"source_code_url,omitempty"`
	SpdxLicenseID string     `json:"spdx_license_id,omitempty" yaml:"spdx_license_id,omitempty"`
	Versions      []*Version `json:"versions,omitempty" yaml:"versions,omitempty"`
	// Policy statements: who may deploy it. A principal "*" makes it public.
	Policy  []*PolicyStatement `json:"policy,omitempty" yaml:"policy,omitempty"`
	Created time.Time          `json:"created,omitempty" yaml:"created,omitempty"`
}

// Version is a SAR application version.
type Version struct {
	SemanticVersion string    `json:"semantic_version" yaml:"semantic_version"`
	SourceCodeURL   string    `json:"source_code_url,omitempty" yaml:"source_code_url,omitempty"`
	TemplateURL     string    `json:"template_url,omitempty" yaml:"template_url,omitempty"`
	Created         time.Time `json:"created,omitempty" yaml:"created,omitempty"`
}

// PolicyStatement is one statement of a SAR application policy.
type PolicyStatement struct {
	ID         string   `json:"id,omitempty" yaml:"id,omitempty"`
	Actions    []string `json:"actions" yaml:"actions"`
	Principals []string `json:"principals" yaml:"principals"`
	// PrincipalOrgIDs limits "*" to these organizations.
	PrincipalOrgIDs []string `json:"principal_org_ids,omitempty" yaml:"principal_org_ids,omitempty"`
}

// Event is a CloudTrail management event kept for LookupEvents.
type Event struct {
	ID        string    `json:"id" yaml:"id"`
	Source    string    `json:"source" yaml:"source"` // servicecatalog.amazonaws.com, serverlessrepo.amazonaws.com
	Name      string    `json:"name" yaml:"name"`
	Time      time.Time `json:"time" yaml:"time"`
	Username  string    `json:"username,omitempty" yaml:"username,omitempty"`
	CallerARN string    `json:"caller_arn,omitempty" yaml:"caller_arn,omitempty"`
	// TLSVersion of the caller, e.g. "TLSv1.2"; empty for none recorded.
	TLSVersion  string `json:"tls_version,omitempty" yaml:"tls_version,omitempty"`
	CipherSuite string `json:"cipher_suite,omitempty" yaml:"cipher_suite,omitempty"`
}

// Finding is a Security Hub finding imported through BatchImportFindings,
// kept as the raw ASFF JSON with the fields the simulator filters on.
type Finding struct {
	ID          string
	ProductArn  string
	AccountID   string
	Region      string
	RecordState string
	Updated     string
	Raw         []byte
}
