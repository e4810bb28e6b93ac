package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"

	"github.com/dpsweep/dpsweep/services/collection/collect"
)

// readOnlyVerbs begin the names of IAM actions that only read.
var readOnlyVerbs = []string{"Describe", "Get", "List", "Lookup", "Search"}

// readOnlyExceptions are actions outside those verbs that change nothing a
// customer owns: GenerateCredentialReport only (re)builds IAM's credential
// report, which GetCredentialReport then reads (AWS's SecurityAudit policy
// grants it too).
var readOnlyExceptions = []string{"iam:GenerateCredentialReport"}

// checkActions reports any difference between a template's actions and the
// collectors', and any action that could write.
func checkActions(what string, got []string) []error {
	var errs []error
	want := collect.Actions()
	got = slices.Clone(got)
	slices.Sort(got)
	for _, a := range got {
		if !slices.Contains(want, a) {
			errs = append(errs, fmt.Errorf("%s grants %s, which no collector calls", what, a))
		}
		_, name, _ := strings.Cut(a, ":")
		if strings.Contains(a, "*") || !(slices.ContainsFunc(readOnlyVerbs, func(v string) bool { return strings.HasPrefix(name, v) }) || slices.Contains(readOnlyExceptions, a)) {
			errs = append(errs, fmt.Errorf("%s grants %s, which is not a read-only action", what, a))
		}
	}
	for _, a := range want {
		if !slices.Contains(got, a) {
			errs = append(errs, fmt.Errorf("%s lacks %s, which the collectors call", what, a))
		}
	}
	if len(slices.Compact(got)) != len(got) {
		errs = append(errs, fmt.Errorf("%s lists an action twice", what))
	}
	return errs
}

// cfnValue decodes a YAML node of a CloudFormation template into plain Go
// values, turning the short-form intrinsic functions (!Ref X, !Sub "...",
// !GetAtt A.B, !If [...]) into their long forms ({"Ref": "X"},
// {"Fn::Sub": "..."}, ...).
func cfnValue(n *yaml.Node) (any, error) {
	if n.Kind == yaml.DocumentNode {
		return cfnValue(n.Content[0])
	}
	if n.Kind == yaml.AliasNode {
		return cfnValue(n.Alias)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		fn := strings.TrimPrefix(n.Tag, "!")
		plain := *n
		plain.Tag = ""
		v, err := cfnValue(&plain)
		if err != nil {
			return nil, err
		}
		switch fn {
		case "Ref", "Condition":
			return map[string]any{fn: v}, nil
		case "GetAtt":
			if s, ok := v.(string); ok {
				res, attr, _ := strings.Cut(s, ".")
				v = []any{res, attr}
			}
		}
		return map[string]any{"Fn::" + fn: v}, nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "<<" {
				return nil, fmt.Errorf("line %d: merge keys are not CloudFormation", n.Content[i].Line)
			}
			v, err := cfnValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := cfnValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

// checkCloudFormation reports what is wrong with the member-role template: it
// must create one role and nothing else, trusted only for sts:AssumeRole by
// the scanner account with the ExternalId parameter as sts:ExternalId, with
// inline Allow statements on exactly the collectors' actions.
func checkCloudFormation(src string) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		return []error{err}
	}
	v, err := cfnValue(&n)
	if err != nil {
		return []error{err}
	}
	ext := get(v, "Parameters", "ExternalId")
	switch {
	case ext == nil:
		bad("no ExternalId parameter")
	case get(ext, "Type") != "String" || get(ext, "Default") != nil:
		bad("ExternalId must be a String parameter without a default")
	}
	if get(v, "Parameters", "ScannerAccountId") == nil {
		bad("no ScannerAccountId parameter")
	}
	resources, _ := get(v, "Resources").(map[string]any)
	var roles []string
	for name, r := range resources {
		if get(r, "Type") != "AWS::IAM::Role" {
			bad("resource %s is a %v: the template makes one role and nothing else", name, get(r, "Type"))
			continue
		}
		roles = append(roles, name)
	}
	if len(roles) != 1 {
		return append(errs, fmt.Errorf("%d roles, want 1", len(roles)))
	}
	props := get(resources[roles[0]], "Properties")
	if get(props, "ManagedPolicyArns") != nil {
		bad("the role attaches managed policies: only the inline least-privilege policy may grant")
	}
	trust := list(get(props, "AssumeRolePolicyDocument", "Statement"))
	if len(trust) != 1 {
		bad("%d trust statements, want 1", len(trust))
	}
	for _, st := range trust {
		if get(st, "Effect") != "Allow" || !slices.Equal(strs(get(st, "Action")), []string{"sts:AssumeRole"}) {
			bad("trust statement allows %v, want only sts:AssumeRole", get(st, "Action"))
		}
		if ref := get(st, "Condition", "StringEquals", "sts:ExternalId"); fmt.Sprint(ref) != fmt.Sprint(map[string]any{"Ref": "ExternalId"}) {
			bad("trust statement's StringEquals sts:ExternalId is %v, want !Ref ExternalId", ref)
		}
		if p := fmt.Sprint(get(st, "Principal")); !strings.Contains(p, "ScannerAccountId") || strings.Contains(p, `"*"`) || strings.Contains(p, "map[AWS:*]") {
			bad("trust principal %s is not the scanner account", p)
		}
	}
	var actions []string
	for _, p := range list(get(props, "Policies")) {
		for _, st := range list(get(p, "PolicyDocument", "Statement")) {
			if get(st, "Effect") != "Allow" {
				continue
			}
			if get(st, "NotAction") != nil {
				bad("a statement uses NotAction")
			}
			actions = append(actions, strs(get(st, "Action"))...)
		}
	}
	errs = append(errs, checkActions("the CloudFormation role", actions)...)
	if get(v, "Outputs", "RoleArn") == nil {
		bad("no RoleArn output")
	}
	return errs
}

// checkTerraform reports what is wrong with the member-role module (its .tf
// files, by name): the same promises as checkCloudFormation, read from
// aws_iam_policy_document data sources and the local list of actions.
func checkTerraform(files map[string]string) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	p := hclparse.NewParser()
	var blocks []*hclsyntax.Block
	for _, name := range sortedKeys(files) {
		f, diags := p.ParseHCL([]byte(files[name]), name)
		if diags.HasErrors() {
			return []error{diags}
		}
		blocks = append(blocks, f.Body.(*hclsyntax.Body).Blocks...)
	}
	// var.external_id evaluates to a marker, so a condition can be seen to use it.
	const marker = "<var.external_id>"
	vars := map[string]cty.Value{}
	locals := map[string]cty.Value{}
	for _, b := range blocks {
		switch b.Type {
		case "variable":
			if b.Labels[0] == "external_id" {
				if _, ok := b.Body.Attributes["default"]; ok {
					bad("variable external_id has a default")
				}
				vars["external_id"] = cty.StringVal(marker)
			}
		case "locals":
			if a, ok := b.Body.Attributes["actions"]; ok {
				v, diags := a.Expr.Value(nil)
				if diags.HasErrors() {
					bad("local.actions: %v", diags)
				}
				locals["actions"] = v
			}
		}
	}
	if _, ok := vars["external_id"]; !ok {
		bad("no variable external_id")
	}
	if _, ok := locals["actions"]; !ok {
		return append(errs, fmt.Errorf("no local actions"))
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(vars), "local": cty.ObjectVal(locals)}}
	eval := func(b *hclsyntax.Block, attr string) []string {
		a, ok := b.Body.Attributes[attr]
		if !ok {
			return nil
		}
		v, diags := a.Expr.Value(ctx)
		if diags.HasErrors() || !v.Type().IsTupleType() && !v.Type().IsListType() {
			bad("%s: %s is not a list of known strings: %v", b.Type, attr, diags)
			return nil
		}
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, e.AsString())
		}
		return out
	}
	refersTo := func(b *hclsyntax.Block, attr, want string) bool {
		a, ok := b.Body.Attributes[attr]
		if !ok {
			return false
		}
		for _, tr := range a.Expr.Variables() {
			var parts []string
			for _, step := range tr {
				switch s := step.(type) {
				case hcl.TraverseRoot:
					parts = append(parts, s.Name)
				case hcl.TraverseAttr:
					parts = append(parts, s.Name)
				}
			}
			if strings.Join(parts, ".") == want {
				return true
			}
		}
		return false
	}
	docs := map[string]*hclsyntax.Block{}
	var role, rolePolicy *hclsyntax.Block
	for _, b := range blocks {
		switch {
		case b.Type == "data" && b.Labels[0] == "aws_iam_policy_document":
			docs[b.Labels[1]] = b
		case b.Type == "resource" && b.Labels[0] == "aws_iam_role":
			if role != nil {
				bad("more than one aws_iam_role")
			}
			role = b
		case b.Type == "resource" && b.Labels[0] == "aws_iam_role_policy":
			if rolePolicy != nil {
				bad("more than one aws_iam_role_policy")
			}
			rolePolicy = b
		case b.Type == "resource":
			bad("resource %s.%s: the module makes one role and its inline policy, nothing else", b.Labels[0], b.Labels[1])
		}
	}
	if role == nil || rolePolicy == nil {
		return append(errs, fmt.Errorf("no aws_iam_role or aws_iam_role_policy"))
	}
	var trustDoc, policyDoc string
	for name := range docs {
		if refersTo(role, "assume_role_policy", "data.aws_iam_policy_document."+name+".json") {
			trustDoc = name
		}
		if refersTo(rolePolicy, "policy", "data.aws_iam_policy_document."+name+".json") {
			policyDoc = name
		}
	}
	if trustDoc == "" || policyDoc == "" {
		return append(errs, fmt.Errorf("the role's trust policy or inline policy is not an aws_iam_policy_document of the module"))
	}
	if !refersTo(rolePolicy, "role", "aws_iam_role."+role.Labels[1]+".id") && !refersTo(rolePolicy, "role", "aws_iam_role."+role.Labels[1]+".name") {
		bad("the inline policy is not on the module's role")
	}
	statements := func(doc *hclsyntax.Block) (out []*hclsyntax.Block) {
		for _, b := range doc.Body.Blocks {
			if b.Type == "statement" {
				out = append(out, b)
			}
		}
		return out
	}
	effect := func(st *hclsyntax.Block) string {
		a, ok := st.Body.Attributes["effect"]
		if !ok {
			return "Allow"
		}
		v, _ := a.Expr.Value(ctx)
		if v.Type() != cty.String {
			return ""
		}
		return v.AsString()
	}
	trust := statements(docs[trustDoc])
	if len(trust) != 1 {
		bad("%d trust statements, want 1", len(trust))
	}
	for _, st := range trust {
		if effect(st) != "Allow" || !slices.Equal(eval(st, "actions"), []string{"sts:AssumeRole"}) {
			bad("trust statement allows %v, want only sts:AssumeRole", eval(st, "actions"))
		}
		external := false
		for _, c := range st.Body.Blocks {
			if c.Type != "condition" {
				continue
			}
			tv, _ := c.Body.Attributes["test"].Expr.Value(ctx)
			vv, _ := c.Body.Attributes["variable"].Expr.Value(ctx)
			if tv.Type() == cty.String && vv.Type() == cty.String && tv.AsString() == "StringEquals" && vv.AsString() == "sts:ExternalId" &&
				slices.Equal(eval(c, "values"), []string{marker}) {
				external = true
			}
		}
		if !external {
			bad("trust statement has no condition StringEquals sts:ExternalId = [var.external_id]")
		}
	}
	var actions []string
	for _, st := range statements(docs[policyDoc]) {
		if _, ok := st.Body.Attributes["not_actions"]; ok {
			bad("a statement uses not_actions")
		}
		if effect(st) == "Allow" {
			actions = append(actions, eval(st, "actions")...)
		}
	}
	return append(errs, checkActions("the Terraform role", actions)...)
}

func readFile(t *testing.T, rel string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

const (
	cfnPath = "deploy/aws/cloudformation/dpsweep-member-role.yaml"
	tfDir   = "deploy/aws/terraform/member-role"
)

func terraformFiles(t *testing.T) map[string]string {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(root(t), filepath.FromSlash(tfDir), "*.tf"))
	files := map[string]string{}
	for _, n := range names {
		files[filepath.Base(n)] = readFile(t, tfDir+"/"+filepath.Base(n))
	}
	if len(files) == 0 {
		t.Fatalf("no .tf files in %s", tfDir)
	}
	return files
}

// TestDeployMemberRole: the CloudFormation template and the Terraform module
// grant exactly collect.Actions(), read-only, behind an ExternalId.
func TestDeployMemberRole(t *testing.T) {
	wantNoErrors(t, cfnPath, checkCloudFormation(readFile(t, cfnPath)))
	wantNoErrors(t, tfDir, checkTerraform(terraformFiles(t)))
}

// TestDeployMemberRoleRejects: both checks catch each way the role can grow
// or lose its guard.
func TestDeployMemberRoleRejects(t *testing.T) {
	cfn := readFile(t, cfnPath)
	cfnCases := map[string]struct{ from, to, want string }{
		"extra write action": {"                  - s3:ListAllMyBuckets\n", "                  - s3:ListAllMyBuckets\n                  - s3:PutObject\n", "s3:PutObject, which no collector calls"},
		"wildcard":           {"                  - kms:ListKeys\n", "                  - kms:*\n", "kms:*, which is not a read-only action"},
		"missing action":     {"                  - kms:ListKeys\n", "", "lacks kms:ListKeys"},
		"no external id":     {"                sts:ExternalId: !Ref ExternalId", "                aws:PrincipalType: AssumedRole", "sts:ExternalId is <nil>"},
		"fixed external id":  {"sts:ExternalId: !Ref ExternalId", "sts:ExternalId: dpsweep", "want !Ref ExternalId"},
		"more trust":         {"            Action: sts:AssumeRole", "            Action: [sts:AssumeRole, sts:TagSession]", "want only sts:AssumeRole"},
		"managed policy":     {"      Policies:\n", "      ManagedPolicyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]\n      Policies:\n", "managed policies"},
		"another resource":   {"\nOutputs:", "  Extra:\n    Type: AWS::IAM::User\n\nOutputs:", "is a AWS::IAM::User"},
		"anyone":             {`- !Sub "arn:${AWS::Partition}:iam::${ScannerAccountId}:root"`, `- "*"`, "is not the scanner account"},
	}
	for name, tc := range cfnCases {
		t.Run("cloudformation/"+name, func(t *testing.T) {
			if !strings.Contains(cfn, tc.from) {
				t.Fatalf("no %q to break", tc.from)
			}
			wantErrorMentioning(t, name, checkCloudFormation(strings.Replace(cfn, tc.from, tc.to, 1)), tc.want)
		})
	}
	tfCases := map[string]struct{ file, from, to, want string }{
		"extra write action": {"main.tf", `    "kms:ListKeys",`, `    "kms:ListKeys", "kms:Decrypt",`, "kms:Decrypt"},
		"missing action":     {"main.tf", "    \"kms:ListKeys\",\n", "", "lacks kms:ListKeys"},
		"fixed external id":  {"main.tf", "values   = [var.external_id]", `values   = ["dpsweep"]`, "no condition StringEquals sts:ExternalId"},
		"no condition":       {"main.tf", `variable = "sts:ExternalId"`, `variable = "aws:PrincipalType"`, "no condition StringEquals sts:ExternalId"},
		"attachment":         {"main.tf", `resource "aws_iam_role_policy" "read_only" {`, "resource \"aws_iam_role_policy_attachment\" \"ro\" {\n  role = aws_iam_role.scanner.name\n  policy_arn = \"arn:aws:iam::aws:policy/ReadOnlyAccess\"\n}\n\n" + `resource "aws_iam_role_policy" "read_only" {`, "aws_iam_role_policy_attachment.ro"},
		"default id":         {"variables.tf", "  description = \"The sweep spec's external_id, required as sts:ExternalId.\"\n", "  description = \"x\"\n  default = \"dpsweep\"\n", "external_id has a default"},
		"more trust":         {"main.tf", `actions = ["sts:AssumeRole"]`, `actions = ["sts:AssumeRole", "sts:TagSession"]`, "want only sts:AssumeRole"},
	}
	for name, tc := range tfCases {
		t.Run("terraform/"+name, func(t *testing.T) {
			files := terraformFiles(t)
			if !strings.Contains(files[tc.file], tc.from) {
				t.Fatalf("%s has no %q to break", tc.file, tc.from)
			}
			files[tc.file] = strings.Replace(files[tc.file], tc.from, tc.to, 1)
			wantErrorMentioning(t, name, checkTerraform(files), tc.want)
		})
	}
}
