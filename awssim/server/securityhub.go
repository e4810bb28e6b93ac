package server

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// AWS Security Hub, REST-JSON with PascalCase members; findings are kept as
// their raw ASFF JSON in the caller account's region.
func init() {
	registerRoute("securityhub", "POST", "/findings/import", "BatchImportFindings", shBatchImportFindings)
	registerRoute("securityhub", "POST", "/findings", "GetFindings", shGetFindings)
	registerRoute("securityhub", "PATCH", "/findings/batchupdate", "BatchUpdateFindings", shBatchUpdateFindings)
}

func shInvalid(format string, args ...any) *APIError {
	return &APIError{Code: "InvalidInputException", Message: fmt.Sprintf(format, args...), Status: 400}
}

// asffRequired are the members BatchImportFindings requires.
var asffRequired = []string{"SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "CreatedAt", "UpdatedAt", "Title", "Description", "Resources"}

func jsonString(m map[string]json.RawMessage, k string) string {
	var s string
	if raw, ok := m[k]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func parseASFFTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

type importError struct {
	ID           string `json:"Id"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

func shBatchImportFindings(c *Call) (any, error) {
	var in struct {
		Findings []json.RawMessage `json:"Findings"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.Findings) == 0 || len(in.Findings) > 100 {
		return nil, shInvalid("Findings must contain between 1 and 100 findings; got %d.", len(in.Findings))
	}
	now := iso(c.S.now())
	failed := []importError{}
	c.S.w.Lock()
	defer c.S.w.Unlock()
	reg := c.Account.RegionalForWrite(c.Region)
	if reg.Findings == nil {
		reg.Findings = map[string]*world.Finding{}
	}
	for _, raw := range in.Findings {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			failed = append(failed, importError{ErrorCode: "InvalidInput", ErrorMessage: "Finding is not a JSON object."})
			continue
		}
		id := jsonString(m, "Id")
		fail := func(code, format string, args ...any) {
			failed = append(failed, importError{ID: id, ErrorCode: code, ErrorMessage: fmt.Sprintf(format, args...)})
		}
		var missing []string
		for _, k := range asffRequired {
			if v, ok := m[k]; !ok || string(v) == "null" || string(v) == `""` {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			fail("InvalidInput", "Finding does not adhere to Amazon Finding Format. Missing required members: %s.", strings.Join(missing, ", "))
			continue
		}
		// Resources holds 1 to 32 resources; AWS words schema violations as
		// its JSON schema validator does.
		var resources []json.RawMessage
		if err := json.Unmarshal(m["Resources"], &resources); err != nil {
			fail("InvalidInput", "Finding does not adhere to Amazon Finding Format. data.Resources should be array.")
			continue
		}
		if len(resources) < 1 || len(resources) > 32 {
			bound := "fewer than 1"
			if len(resources) > 32 {
				bound = "more than 32"
			}
			fail("InvalidInput", "Finding does not adhere to Amazon Finding Format. data.Resources should NOT have %s items.", bound)
			continue
		}
		acct, product := jsonString(m, "AwsAccountId"), jsonString(m, "ProductArn")
		if !strings.HasPrefix(product, "arn:") || !strings.Contains(product, ":product/") {
			fail("InvalidInput", "Finding has an invalid ProductArn %q.", product)
			continue
		}
		if acct != c.Account.ID && !c.S.w.InOrg(acct) {
			fail("AccessDeniedException", "The account %s may not import findings for account %s.", c.Account.ID, acct)
			continue
		}
		state := jsonString(m, "RecordState")
		switch state {
		case "":
			state = "ACTIVE"
			m["RecordState"] = mustJSON(state)
		case "ACTIVE", "ARCHIVED":
		default:
			fail("InvalidInput", "RecordState must be ACTIVE or ARCHIVED, not %q.", state)
			continue
		}
		updated := jsonString(m, "UpdatedAt")
		old, exists := reg.Findings[id]
		if exists {
			if parseASFFTime(updated).Before(parseASFFTime(old.Updated)) {
				continue // an older version of a finding is accepted and ignored, as AWS does
			}
			// BatchUpdateFindings' fields belong to the customer and survive re-imports.
			var prev map[string]json.RawMessage
			_ = json.Unmarshal(old.Raw, &prev)
			for _, k := range []string{"Workflow", "WorkflowState", "Note", "UserDefinedFields", "VerificationType", "Confidence", "Criticality"} {
				if v, ok := prev[k]; ok {
					m[k] = v
				}
			}
		}
		if _, ok := m["Region"]; !ok {
			m["Region"] = mustJSON(c.Region)
		}
		if _, ok := m["Workflow"]; !ok {
			m["Workflow"] = mustJSON(map[string]string{"Status": "NEW"})
			m["WorkflowState"] = mustJSON("NEW")
		}
		m["ProcessedAt"] = mustJSON(now)
		reg.Findings[id] = &world.Finding{
			ID: id, ProductArn: product, AccountID: acct, Region: c.Region,
			RecordState: state, Updated: updated, Raw: mustJSON(m),
		}
	}
	return map[string]any{"FailedCount": len(failed), "SuccessCount": len(in.Findings) - len(failed), "FailedFindings": failed}, nil
}

type stringFilter struct {
	Value      string `json:"Value"`
	Comparison string `json:"Comparison"`
}

// shFilterFields maps GetFindings filter names to their place in the ASFF.
var shFilterFields = map[string][]string{
	"Id": {"Id"}, "ProductArn": {"ProductArn"}, "AwsAccountId": {"AwsAccountId"}, "RecordState": {"RecordState"},
	"GeneratorId": {"GeneratorId"}, "Region": {"Region"}, "Title": {"Title"}, "ProductName": {"ProductName"},
	"CompanyName": {"CompanyName"}, "WorkflowState": {"WorkflowState"}, "WorkflowStatus": {"Workflow", "Status"},
	"ComplianceStatus": {"Compliance", "Status"}, "SeverityLabel": {"Severity", "Label"},
}

// asffValue reads a string at a path of an ASFF document.
func asffValue(doc map[string]any, path []string) string {
	var v any = doc
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// filterMatches applies one field's filters: positive comparisons are
// OR'd, negative ones AND'd, as Security Hub does.
func filterMatches(have string, fs []stringFilter) bool {
	anyPositive, positiveHit := false, false
	for _, f := range fs {
		switch f.Comparison {
		case "EQUALS":
			anyPositive, positiveHit = true, positiveHit || have == f.Value
		case "PREFIX":
			anyPositive, positiveHit = true, positiveHit || strings.HasPrefix(have, f.Value)
		case "CONTAINS":
			anyPositive, positiveHit = true, positiveHit || strings.Contains(have, f.Value)
		case "NOT_EQUALS":
			if have == f.Value {
				return false
			}
		case "PREFIX_NOT_EQUALS":
			if strings.HasPrefix(have, f.Value) {
				return false
			}
		case "NOT_CONTAINS":
			if strings.Contains(have, f.Value) {
				return false
			}
		}
	}
	return !anyPositive || positiveHit
}

func shGetFindings(c *Call) (any, error) {
	var in struct {
		Filters    map[string]json.RawMessage `json:"Filters"`
		MaxResults *int                       `json:"MaxResults"`
		NextToken  string                     `json:"NextToken"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	max := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, shInvalid("MaxResults must be between 1 and 100.")
		}
		max = *in.MaxResults
	}
	filters := map[string][]stringFilter{}
	for name, raw := range in.Filters {
		if _, ok := shFilterFields[name]; !ok {
			return nil, shInvalid("The simulator does not support the GetFindings filter %s.", name)
		}
		var fs []stringFilter
		if err := json.Unmarshal(raw, &fs); err != nil {
			return nil, shInvalid("Filter %s must be a list of string filters.", name)
		}
		for _, f := range fs {
			if !slices.Contains([]string{"EQUALS", "PREFIX", "NOT_EQUALS", "PREFIX_NOT_EQUALS", "CONTAINS", "NOT_CONTAINS"}, f.Comparison) {
				return nil, shInvalid("Invalid Comparison %q in filter %s.", f.Comparison, name)
			}
		}
		if len(fs) > 0 {
			filters[name] = fs
		}
	}
	c.S.w.RLock()
	var sel []json.RawMessage
	if reg, ok := c.Account.Regional[c.Region]; ok {
		ids := make([]string, 0, len(reg.Findings))
		for id := range reg.Findings {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			f := reg.Findings[id]
			var doc map[string]any
			if len(filters) > 0 {
				_ = json.Unmarshal(f.Raw, &doc)
			}
			keep := true
			for name, fs := range filters {
				if !filterMatches(asffValue(doc, shFilterFields[name]), fs) {
					keep = false
					break
				}
			}
			if keep {
				sel = append(sel, f.Raw)
			}
		}
	}
	c.S.w.RUnlock()
	page, next, err := pageOf(c, sel, in.NextToken, max)
	if err != nil {
		return nil, shInvalid("Invalid NextToken.")
	}
	if page == nil {
		page = []json.RawMessage{}
	}
	return map[string]any{"Findings": page, "NextToken": omitEmpty(next)}, nil
}

type findingIdentifier struct {
	ID         string `json:"Id"`
	ProductArn string `json:"ProductArn"`
}

// workflowStates maps Workflow.Status to the older WorkflowState.
var workflowStates = map[string]string{"NEW": "NEW", "NOTIFIED": "ASSIGNED", "RESOLVED": "RESOLVED", "SUPPRESSED": "DEFERRED"}

func shBatchUpdateFindings(c *Call) (any, error) {
	var in struct {
		FindingIdentifiers []findingIdentifier `json:"FindingIdentifiers"`
		Workflow           *struct {
			Status string `json:"Status"`
		} `json:"Workflow"`
		Note *struct {
			Text      string `json:"Text"`
			UpdatedBy string `json:"UpdatedBy"`
		} `json:"Note"`
		Severity          map[string]any    `json:"Severity"`
		UserDefinedFields map[string]string `json:"UserDefinedFields"`
		VerificationType  string            `json:"VerificationType"`
		Confidence        *int              `json:"Confidence"`
		Criticality       *int              `json:"Criticality"`
		Types             []string          `json:"Types"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.FindingIdentifiers) == 0 || len(in.FindingIdentifiers) > 100 {
		return nil, shInvalid("FindingIdentifiers must contain between 1 and 100 identifiers; got %d.", len(in.FindingIdentifiers))
	}
	if in.Workflow == nil && in.Note == nil && in.Severity == nil && in.UserDefinedFields == nil && in.VerificationType == "" &&
		in.Confidence == nil && in.Criticality == nil && in.Types == nil {
		return nil, shInvalid("At least one field to update is required.")
	}
	if in.Workflow != nil {
		if _, ok := workflowStates[in.Workflow.Status]; !ok {
			return nil, shInvalid("Invalid Workflow.Status %q.", in.Workflow.Status)
		}
	}
	if in.Note != nil && (in.Note.Text == "" || in.Note.UpdatedBy == "") {
		return nil, shInvalid("Note requires Text and UpdatedBy.")
	}
	now := iso(c.S.now())
	processed, unprocessed := []findingIdentifier{}, []map[string]any{}
	c.S.w.Lock()
	defer c.S.w.Unlock()
	reg := c.Account.RegionalForWrite(c.Region)
	for _, fi := range in.FindingIdentifiers {
		f, ok := reg.Findings[fi.ID]
		if !ok || f.ProductArn != fi.ProductArn {
			unprocessed = append(unprocessed, map[string]any{"FindingIdentifier": fi, "ErrorCode": "FindingNotFound", "ErrorMessage": "Finding Not Found"})
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(f.Raw, &m); err != nil {
			unprocessed = append(unprocessed, map[string]any{"FindingIdentifier": fi, "ErrorCode": "InternalFailure", "ErrorMessage": err.Error()})
			continue
		}
		if in.Workflow != nil {
			m["Workflow"] = mustJSON(map[string]string{"Status": in.Workflow.Status})
			m["WorkflowState"] = mustJSON(workflowStates[in.Workflow.Status])
		}
		if in.Note != nil {
			m["Note"] = mustJSON(map[string]string{"Text": in.Note.Text, "UpdatedBy": in.Note.UpdatedBy, "UpdatedAt": now})
		}
		if in.Severity != nil {
			sev := map[string]any{}
			_ = json.Unmarshal(m["Severity"], &sev)
			for k, v := range in.Severity {
				sev[k] = v
			}
			m["Severity"] = mustJSON(sev)
		}
		if in.UserDefinedFields != nil {
			udf := map[string]string{}
			_ = json.Unmarshal(m["UserDefinedFields"], &udf)
			for k, v := range in.UserDefinedFields {
				udf[k] = v
			}
			m["UserDefinedFields"] = mustJSON(udf)
		}
		if in.VerificationType != "" {
			m["VerificationType"] = mustJSON(in.VerificationType)
		}
		if in.Confidence != nil {
			m["Confidence"] = mustJSON(*in.Confidence)
		}
		if in.Criticality != nil {
			m["Criticality"] = mustJSON(*in.Criticality)
		}
		if in.Types != nil {
			m["Types"] = mustJSON(in.Types)
		}
		m["ProcessedAt"] = mustJSON(now)
		f.Raw = mustJSON(m)
		processed = append(processed, fi)
	}
	return map[string]any{"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}, nil
}
