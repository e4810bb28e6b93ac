package export

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"

	evaluationv1 "github.com/dpsweep/dpsweep/gen/dpsweep/evaluation/v1"
	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

// OCSF Detection Finding constants (schema 1.1.0,
// https://schema.ocsf.io/1.1.0/classes/detection_finding).
const (
	OCSFVersion        = "1.1.0"
	ocsfClassUID       = 2004
	ocsfCategoryUID    = 2
	ocsfActivityCreate = 1
	// ocsfAccountTypeAWS is account.type_id "AWS Account".
	ocsfAccountTypeAWS = 10
	// ocsfAnalyticRule is analytic.type_id "Rule".
	ocsfAnalyticRule = 1
)

// OCSF finding status_id values (finding lifecycle, OCSF 1.1.0).
const (
	ocsfStatusNew        = 1
	ocsfStatusSuppressed = 3
	ocsfStatusResolved   = 4
	ocsfStatusOther      = 99
)

// OCSFExporter writes one OCSF 1.1.0 Detection Finding (class_uid 2004) a
// line, for every finding of the sweep, with the cloud profile. Status:
// suppressed → 3 Suppressed; FAIL → 1 New; PASS → 4 Resolved; NOT_ASSESSED
// → 99 Other with status "Not Assessed". severity_id is the finding's
// severity (INFORMATIONAL 1 … CRITICAL 5, unspecified 0 Unknown). Times are
// milliseconds since the epoch. finding_info.uid is the FindingKey (stable
// across sweeps, so a consumer can follow one problem over time);
// metadata.uid is the finding's ID in this sweep. What OCSF has no place
// for (sweep, dpsweep status, NOT_ASSESSED reason, field path, redacted
// evidence, entity types, suppression) is under unmapped.dpsweep.
type OCSFExporter struct{}

var _ Exporter = (*OCSFExporter)(nil)

// NewOCSFExporter returns the OCSF exporter.
func NewOCSFExporter() *OCSFExporter { return &OCSFExporter{} }

// Format implements Exporter.
func (*OCSFExporter) Format() reportingv1.ReportFormat {
	return reportingv1.ReportFormat_REPORT_FORMAT_OCSF
}

// OCSFRecord is one Detection Finding; field order is the output's.
type OCSFRecord struct {
	ActivityID   int              `json:"activity_id"`
	ActivityName string           `json:"activity_name"`
	CategoryUID  int              `json:"category_uid"`
	CategoryName string           `json:"category_name"`
	ClassUID     int              `json:"class_uid"`
	ClassName    string           `json:"class_name"`
	TypeUID      int              `json:"type_uid"`
	TypeName     string           `json:"type_name"`
	SeverityID   int              `json:"severity_id"`
	Severity     string           `json:"severity"`
	StatusID     int              `json:"status_id"`
	Status       string           `json:"status"`
	Time         int64            `json:"time"`
	Message      string           `json:"message,omitempty"`
	FindingInfo  OCSFFindingInfo  `json:"finding_info"`
	Resources    []OCSFResource   `json:"resources"`
	Cloud        OCSFCloud        `json:"cloud"`
	Metadata     OCSFMetadata     `json:"metadata"`
	Unmapped     OCSFUnmappedRoot `json:"unmapped"`
}

// OCSFFindingInfo is finding_info.
type OCSFFindingInfo struct {
	UID         string       `json:"uid"`
	Title       string       `json:"title"`
	Desc        string       `json:"desc,omitempty"`
	Types       []string     `json:"types"`
	CreatedTime int64        `json:"created_time,omitempty"`
	Analytic    OCSFAnalytic `json:"analytic"`
}

// OCSFAnalytic is the control that produced the finding.
type OCSFAnalytic struct {
	UID    string `json:"uid"`
	Name   string `json:"name,omitempty"`
	Type   string `json:"type"`
	TypeID int    `json:"type_id"`
}

// OCSFAccount is an AWS account.
type OCSFAccount struct {
	UID    string `json:"uid"`
	Type   string `json:"type"`
	TypeID int    `json:"type_id"`
}

// OCSFOwner is a resource's owner.
type OCSFOwner struct {
	Account OCSFAccount `json:"account"`
}

// OCSFResource is one entry of resources.
type OCSFResource struct {
	UID            string    `json:"uid"`
	Type           string    `json:"type,omitempty"`
	Region         string    `json:"region,omitempty"`
	CloudPartition string    `json:"cloud_partition"`
	Owner          OCSFOwner `json:"owner"`
}

// OCSFCloud is the cloud profile's object.
type OCSFCloud struct {
	Provider string      `json:"provider"`
	Region   string      `json:"region,omitempty"`
	Account  OCSFAccount `json:"account"`
}

// OCSFProduct is metadata.product.
type OCSFProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version,omitempty"`
}

// OCSFMetadata is metadata.
type OCSFMetadata struct {
	Version  string      `json:"version"`
	UID      string      `json:"uid,omitempty"`
	Product  OCSFProduct `json:"product"`
	Profiles []string    `json:"profiles"`
}

// OCSFUnmappedRoot holds dpsweep's own fields under "dpsweep".
type OCSFUnmappedRoot struct {
	Dpsweep OCSFUnmapped `json:"dpsweep"`
}

// OCSFUnmapped are the finding's fields OCSF has no attribute for.
type OCSFUnmapped struct {
	SweepID           string   `json:"sweep_id"`
	ControlID         string   `json:"control_id"`
	Status            string   `json:"status"`
	NotAssessedReason string   `json:"not_assessed_reason,omitempty"`
	FieldPath         string   `json:"field_path,omitempty"`
	RedactedText      string   `json:"evidence_redacted_text,omitempty"`
	EntityTypes       []string `json:"entity_types,omitempty"`
	Region            string   `json:"region"`
	Suppressed        bool     `json:"suppressed"`
	SuppressionID     string   `json:"suppression_id,omitempty"`
	Justification     string   `json:"suppression_justification,omitempty"`
}

var ocsfSeverityCaptions = map[evaluationv1.Severity]string{
	evaluationv1.Severity_SEVERITY_UNSPECIFIED:   "Unknown",
	evaluationv1.Severity_SEVERITY_INFORMATIONAL: "Informational",
	evaluationv1.Severity_SEVERITY_LOW:           "Low",
	evaluationv1.Severity_SEVERITY_MEDIUM:        "Medium",
	evaluationv1.Severity_SEVERITY_HIGH:          "High",
	evaluationv1.Severity_SEVERITY_CRITICAL:      "Critical",
}

// ocsfSeverity maps a severity to severity_id and its caption; dpsweep's
// scale is OCSF's from 0 Unknown to 5 Critical, value for value.
func ocsfSeverity(s evaluationv1.Severity) (int, string) {
	if c, ok := ocsfSeverityCaptions[s]; ok {
		return int(s), c
	}
	return 0, "Unknown"
}

// ocsfStatus maps a finding's status and suppression to status_id.
func ocsfStatus(f *evaluationv1.Finding) (int, string) {
	switch {
	case f.GetSuppressed():
		return ocsfStatusSuppressed, "Suppressed"
	case f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_FAIL:
		return ocsfStatusNew, "New"
	case f.GetStatus() == evaluationv1.FindingStatus_FINDING_STATUS_PASS:
		return ocsfStatusResolved, "Resolved"
	default:
		return ocsfStatusOther, "Not Assessed"
	}
}

// ToOCSF maps a finding to an OCSF Detection Finding.
func ToOCSF(f *evaluationv1.Finding, in *Input) OCSFRecord {
	ev := evidenceOf(f)
	sevID, sev := ocsfSeverity(f.GetSeverity())
	statusID, status := ocsfStatus(f)
	region := f.GetRegion()
	if region == globalRegion {
		region = "" // account-wide: no region to name
	}
	account := OCSFAccount{UID: f.GetAccountId(), Type: "AWS Account", TypeID: ocsfAccountTypeAWS}
	title := f.GetTitle()
	if title == "" {
		title = f.GetControlId()
	}
	return OCSFRecord{
		ActivityID: ocsfActivityCreate, ActivityName: "Create",
		CategoryUID: ocsfCategoryUID, CategoryName: "Findings",
		ClassUID: ocsfClassUID, ClassName: "Detection Finding",
		TypeUID: ocsfClassUID*100 + ocsfActivityCreate, TypeName: "Detection Finding: Create",
		SeverityID: sevID, Severity: sev,
		StatusID: statusID, Status: status,
		Time:    millis(f.GetObservedAt()),
		Message: ev.GetSummary(),
		FindingInfo: OCSFFindingInfo{
			UID: FindingKey(f), Title: title, Desc: ev.GetSummary(),
			Types:       []string{asffType},
			CreatedTime: millis(f.GetObservedAt()),
			Analytic:    OCSFAnalytic{UID: f.GetControlId(), Name: f.GetTitle(), Type: "Rule", TypeID: ocsfAnalyticRule},
		},
		Resources: []OCSFResource{{
			UID: resourceID(f), Type: f.GetResourceType(), Region: region,
			CloudPartition: partitionOf(f), Owner: OCSFOwner{Account: account},
		}},
		Cloud: OCSFCloud{Provider: "AWS", Region: region, Account: account},
		Metadata: OCSFMetadata{
			Version: OCSFVersion, UID: f.GetId(),
			Product:  OCSFProduct{Name: toolName, VendorName: toolName, Version: in.Version},
			Profiles: []string{"cloud"},
		},
		Unmapped: OCSFUnmappedRoot{Dpsweep: OCSFUnmapped{
			SweepID: f.GetSweepId(), ControlID: f.GetControlId(), Status: statusName(f.GetStatus()),
			NotAssessedReason: reasonName(f.GetNotAssessedReason()), FieldPath: f.GetFieldPath(),
			RedactedText: ev.GetRedactedText(), EntityTypes: ev.GetEntityTypes(), Region: f.GetRegion(),
			Suppressed: f.GetSuppressed(), SuppressionID: f.GetSuppression().GetId(),
			Justification: f.GetSuppression().GetJustification(),
		}},
	}
}

// Export implements Exporter.
func (e *OCSFExporter) Export(ctx context.Context, in *Input, w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	var n int64
	err := forEach(ctx, in, func(f *evaluationv1.Finding) error {
		b, err := json.Marshal(ToOCSF(f, in))
		if err != nil {
			return fmt.Errorf("finding %s: %w", f.GetId(), err)
		}
		if _, err := bw.Write(append(b, '\n')); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}
