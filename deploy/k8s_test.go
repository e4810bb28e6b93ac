package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// k8sTools are the pinned validators, installed by `make deploy-tools`.
type k8sTools struct {
	kustomize, kubeconform, schemas, version string
}

func pinnedK8sTools(t *testing.T) k8sTools {
	t.Helper()
	kc, kz, k8s := makeVar(t, "KUBECONFORM_VERSION"), makeVar(t, "KUSTOMIZE_VERSION"), makeVar(t, "K8S_SCHEMA_VERSION")
	schemas := filepath.Dir(tool(t, filepath.Join("k8s-schemas-"+k8s, ".complete")))
	return k8sTools{
		kustomize:   tool(t, filepath.Join("kustomize-"+kz, "kustomize")),
		kubeconform: tool(t, filepath.Join("kubeconform-"+kc, "kubeconform")),
		schemas:     schemas,
		version:     strings.TrimPrefix(k8s, "v"),
	}
}

// build runs kustomize build on dir.
func (k k8sTools) build(dir string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(k.kustomize, "build", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("kustomize build %s: %v: %s", dir, err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// validate runs kubeconform in strict mode against the generated schemas
// (never the network: the schema location is a local directory, and a kind
// without a schema is an error, not a skip). It returns how many resources
// were valid.
func (k k8sTools) validate(manifests []byte) (int, error) {
	cmd := exec.Command(k.kubeconform, "-strict", "-summary", "-output", "json",
		"-kubernetes-version", k.version,
		"-schema-location", filepath.Join(k.schemas, "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}", "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
		"-")
	cmd.Stdin = bytes.NewReader(manifests)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct {
		Resources []struct {
			Kind, Name, Status, Msg string
		}
		Summary struct{ Valid, Invalid, Errors, Skipped int }
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return 0, fmt.Errorf("kubeconform: %v (%v): %s%s", err, runErr, stdout.String(), stderr.String())
	}
	var errs []error
	for _, r := range out.Resources {
		if r.Status != "statusValid" {
			errs = append(errs, fmt.Errorf("%s %s: %s: %s", r.Kind, r.Name, r.Status, r.Msg))
		}
	}
	if out.Summary.Skipped > 0 {
		errs = append(errs, fmt.Errorf("kubeconform skipped %d resources", out.Summary.Skipped))
	}
	if runErr != nil && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("kubeconform: %v: %s", runErr, stderr.String()))
	}
	return out.Summary.Valid, errors.Join(errs...)
}

// object is one decoded manifest.
type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }
func (o object) name() string { s, _ := get(o, "metadata", "name").(string); return s }

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			if o, isObj := v.(object); isObj {
				m = o
			} else {
				return nil
			}
		}
		v = m[p]
	}
	return v
}

func list(v any) []any { l, _ := v.([]any); return l }

func decodeAll(manifests []byte) ([]object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(manifests))
	var out []object
	for {
		var o map[string]any
		if err := dec.Decode(&o); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		if o != nil {
			out = append(out, o)
		}
	}
}

// checkManifests reports what a schema cannot: every Deployment runs one of
// our images as non-root with a read-only root filesystem, no privilege
// escalation, no capabilities and bounded memory; passes only flags and
// DPSWEEP_* variables its binary has; probes gRPC health on the port the
// binary listens on; reads ConfigMap keys that exist and Secrets that exist
// or are optional; calls other services by a Service name and port that
// exist; and every Service selects a Deployment's pods.
func checkManifests(objs []object, bins map[string]*binary, external []string) []error {
	var errs []error
	isExternal := func(secret string) bool {
		for _, pattern := range external {
			if ok, _ := filepath.Match(pattern, secret); ok {
				return true
			}
		}
		return false
	}
	// given holds each binary's flags, for the TLS check at the end.
	given := map[string]map[string]string{}
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	byKind := map[string]map[string]object{}
	for _, o := range objs {
		if byKind[o.kind()] == nil {
			byKind[o.kind()] = map[string]object{}
		}
		byKind[o.kind()][o.name()] = o
	}
	servicePorts := map[string]map[string]bool{}
	for name, svc := range byKind["Service"] {
		servicePorts[name] = map[string]bool{}
		for _, p := range list(get(svc, "spec", "ports")) {
			servicePorts[name][fmt.Sprint(get(p, "port"))] = true
		}
	}
	deployed := map[string]bool{}
	for _, name := range sortedKeys(byKind["Deployment"]) {
		d := byKind["Deployment"][name]
		pod := get(d, "spec", "template", "spec")
		if get(pod, "securityContext", "runAsNonRoot") != true {
			bad("%s: pod securityContext.runAsNonRoot is not true", name)
		}
		if get(pod, "automountServiceAccountToken") != false {
			bad("%s: mounts a service account token it does not need", name)
		}
		volumes := map[string]bool{}
		for _, v := range list(get(pod, "volumes")) {
			volumes[fmt.Sprint(get(v, "name"))] = true
			if s := get(v, "secret"); s != nil && get(s, "optional") != true && byKind["Secret"][fmt.Sprint(get(s, "secretName"))] == nil && !isExternal(fmt.Sprint(get(s, "secretName"))) {
				bad("%s: volume %v needs Secret %v, which the overlay neither makes nor marks optional", name, get(v, "name"), get(s, "secretName"))
			}
		}
		for _, c := range list(get(pod, "containers")) {
			cname := fmt.Sprint(get(c, "name"))
			image := fmt.Sprint(get(c, "image"))
			repo, tag, _ := strings.Cut(image[strings.LastIndex(image, "/")+1:], ":")
			short := strings.TrimPrefix(repo, "dpsweep-")
			b := bins[short]
			if b == nil {
				bad("%s/%s: image %s is none of dpsweep's", name, cname, image)
				continue
			}
			deployed[short] = true
			if tag == "" {
				bad("%s/%s: image %s has no tag", name, cname, image)
			}
			sc := get(c, "securityContext")
			if get(sc, "readOnlyRootFilesystem") != true {
				bad("%s/%s: readOnlyRootFilesystem is not true", name, cname)
			}
			if get(sc, "allowPrivilegeEscalation") != false {
				bad("%s/%s: allowPrivilegeEscalation is not false", name, cname)
			}
			if caps := list(get(sc, "capabilities", "drop")); len(caps) != 1 || caps[0] != "ALL" {
				bad("%s/%s: capabilities.drop is %v, want [ALL]", name, cname, caps)
			}
			if get(c, "resources", "limits", "memory") == nil || get(c, "resources", "requests", "cpu") == nil {
				bad("%s/%s: no memory limit or cpu request", name, cname)
			}
			var mounts []string
			for _, m := range list(get(c, "volumeMounts")) {
				if !volumes[fmt.Sprint(get(m, "name"))] {
					bad("%s/%s: mounts volume %v, which the pod does not have", name, cname, get(m, "name"))
				}
				mounts = append(mounts, fmt.Sprint(get(m, "mountPath"))+"/")
			}
			mounted := func(file string) bool {
				for _, m := range mounts {
					if strings.HasPrefix(file, m) {
						return true
					}
				}
				return false
			}
			var args []string
			for _, a := range list(get(c, "args")) {
				args = append(args, fmt.Sprint(a))
			}
			flags, argErrs := b.checkArgs(args)
			errs = append(errs, argErrs...)
			given[short] = flags
			for flag, v := range flags {
				if strings.HasPrefix(v, "/") && !mounted(v) && flag != "report-dir" && flag != "database" {
					bad("%s/%s: --%s=%s is on no mounted volume", name, cname, flag, v)
				}
			}
			var envNames []string
			for _, e := range list(get(c, "env")) {
				en := fmt.Sprint(get(e, "name"))
				envNames = append(envNames, en)
				if ref := get(e, "valueFrom", "configMapKeyRef"); ref != nil {
					cm := byKind["ConfigMap"][fmt.Sprint(get(ref, "name"))]
					if cm == nil || get(cm, "data", fmt.Sprint(get(ref, "key"))) == nil {
						bad("%s/%s: %s reads ConfigMap %v key %v, which does not exist", name, cname, en, get(ref, "name"), get(ref, "key"))
					} else if en == "DPSWEEP_"+strings.ToUpper(short)+"_TEMPORAL_ADDRESS" {
						flags["temporal-address"] = fmt.Sprint(get(cm, "data", fmt.Sprint(get(ref, "key"))))
					}
				}
				if ref := get(e, "valueFrom", "secretKeyRef"); ref != nil && get(ref, "optional") != true && byKind["Secret"][fmt.Sprint(get(ref, "name"))] == nil && !isExternal(fmt.Sprint(get(ref, "name"))) {
					bad("%s/%s: %s needs Secret %v, which the overlay neither makes nor marks optional", name, cname, en, get(ref, "name"))
				}
			}
			errs = append(errs, b.checkEnv(envNames)...)
			for flag, v := range flags {
				if !strings.HasSuffix(flag, "-addr") {
					continue
				}
				host, port, _ := strings.Cut(v, ":")
				if !servicePorts[host][port] {
					bad("%s/%s: --%s=%s is no Service port of the stack", name, cname, flag, v)
				}
			}
			want := b.listenPort()
			var ports []string
			for _, p := range list(get(c, "ports")) {
				ports = append(ports, fmt.Sprint(get(p, "containerPort")))
			}
			// The ports are the gRPC listener and, when served, the metrics endpoint.
			var expected []string
			if want != "" {
				expected = append(expected, want)
			}
			if m := flags["metrics-address"]; m != "" {
				_, mp, _ := strings.Cut(m, ":")
				expected = append(expected, mp)
				if a := get(d, "spec", "template", "metadata", "annotations", "prometheus.io/port"); a != nil && a != mp {
					bad("%s: prometheus.io/port %v, but --metrics-address=%s", name, a, m)
				}
			}
			slices.Sort(expected)
			slices.Sort(ports)
			if !slices.Equal(ports, expected) {
				bad("%s/%s: container ports %v, want %v (--addr's default and --metrics-address)", name, cname, ports, expected)
			}
			if want == "" {
				continue
			}
			for _, probe := range []string{"readinessProbe", "livenessProbe"} {
				got := fmt.Sprint(get(c, probe, "grpc", "port"))
				var command []string
				for _, a := range list(get(c, probe, "exec", "command")) {
					command = append(command, fmt.Sprint(a))
				}
				// Through grpc_health_probe (a TLS server: Kubernetes' own gRPC probe is plaintext).
				viaProbe := len(command) > 0 && command[0] == "/usr/local/bin/grpc_health_probe" && slices.Contains(command, "-addr=localhost:"+want)
				if got != want && !viaProbe {
					bad("%s/%s: %s is no gRPC health probe on port %s (grpc.port %s, exec %v)", name, cname, probe, want, got, command)
				}
				if viaProbe && flags["tls-cert"] != "" && !slices.Contains(command, "-tls") {
					bad("%s/%s: %s probes a TLS server without -tls", name, cname, probe)
				}
				for _, a := range command {
					if _, file, ok := strings.Cut(a, "="); ok && strings.HasPrefix(file, "/") && !mounted(file) {
						bad("%s/%s: %s reads %s, which is on no mounted volume", name, cname, probe, file)
					}
				}
			}
		}
	}
	// A client speaks TLS to a server that serves it, and presents a
	// certificate where the server requires one; the NetworkPolicies let the
	// call through.
	podLabels := func(short string) map[string]any {
		l, _ := get(byKind["Deployment"]["dpsweep-"+short], "spec", "template", "metadata", "labels").(map[string]any)
		return l
	}
	for _, client := range sortedKeys(given) {
		for flag, v := range given[client] {
			target, ok := strings.CutSuffix(flag, "-addr")
			if !ok || target == "" || !strings.HasPrefix(v, "dpsweep-"+target+":") {
				continue
			}
			if !ingressAllowed(byKind["NetworkPolicy"], podLabels(client), podLabels(target), strings.TrimPrefix(v, "dpsweep-"+target+":"), "grpc") {
				bad("no NetworkPolicy lets %s call %s (%s)", client, target, v)
			}
			server := given[target]
			if (server["tls-cert"] != "") != (given[client][target+"-tls-ca"] != "") {
				bad("%s calls %s with --%s-tls-ca=%q, but %s serves with --tls-cert=%q", client, target, target, given[client][target+"-tls-ca"], target, server["tls-cert"])
			}
			if server["tls-client-ca"] != "" && given[client][target+"-tls-cert"] == "" {
				bad("%s calls %s without a client certificate, which %s requires (--tls-client-ca)", client, target, target)
			}
		}
	}
	for short := range bins {
		if !deployed[short] {
			bad("no Deployment runs dpsweep-%s", short)
		}
	}
	for _, name := range sortedKeys(byKind["Service"]) {
		sel, _ := get(byKind["Service"][name], "spec", "selector").(map[string]any)
		matched := false
		for _, d := range byKind["Deployment"] {
			labels, _ := get(d, "spec", "template", "metadata", "labels").(map[string]any)
			ok := len(sel) > 0
			for k, v := range sel {
				ok = ok && labels[k] == v
			}
			matched = matched || ok
		}
		if !matched {
			bad("Service %s selects no Deployment's pods", name)
		}
	}
	return errs
}

// overlays maps each kustomization to the Secrets made outside git that it
// may reference (patterns).
// selects reports whether a label selector (matchLabels, matchExpressions
// with In) matches labels; an empty selector matches every pod.
func selects(selector any, labels map[string]any) bool {
	if selector == nil {
		return false
	}
	for k, v := range asMap(get(selector, "matchLabels")) {
		if labels[k] != v {
			return false
		}
	}
	for _, e := range list(get(selector, "matchExpressions")) {
		if get(e, "operator") != "In" || !slices.Contains(list(get(e, "values")), labels[fmt.Sprint(get(e, "key"))]) {
			return false
		}
	}
	return true
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// ingressAllowed evaluates the namespace's NetworkPolicies for a call from
// pods labelled src to pods labelled dst on a port (number or name): allowed
// when no policy selects dst, or one that does has an ingress rule from src
// on that port.
func ingressAllowed(policies map[string]object, src, dst map[string]any, port, portName string) bool {
	isolated := false
	for _, np := range policies {
		if !selects(get(np, "spec", "podSelector"), dst) || !slices.Contains(list(get(np, "spec", "policyTypes")), any("Ingress")) {
			continue
		}
		isolated = true
		for _, rule := range list(get(np, "spec", "ingress")) {
			from := list(get(rule, "from"))
			okFrom := len(from) == 0
			for _, f := range from {
				okFrom = okFrom || (get(f, "namespaceSelector") == nil && selects(get(f, "podSelector"), src))
			}
			ports := list(get(rule, "ports"))
			okPort := len(ports) == 0
			for _, p := range ports {
				pp := fmt.Sprint(get(p, "port"))
				okPort = okPort || pp == port || pp == portName
			}
			if okFrom && okPort {
				return true
			}
		}
	}
	return !isolated
}

var overlays = map[string][]string{
	"base":          nil,
	"overlays/dev":  nil,
	"overlays/prod": {"dpsweep-*-tls", "dpsweep-reporting"},
}

// TestDeployKubernetes: each kustomization builds with the pinned kustomize,
// validates against the Kubernetes schemas with kubeconform in strict mode,
// and passes checkManifests.
func TestDeployKubernetes(t *testing.T) {
	k := pinnedK8sTools(t)
	bins := binaries(t)
	for _, o := range sortedKeys(overlays) {
		t.Run(o, func(t *testing.T) {
			out, err := k.build(filepath.Join(root(t), "deploy", "k8s", o))
			if err != nil {
				t.Fatal(err)
			}
			valid, err := k.validate(out)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := decodeAll(out)
			if err != nil {
				t.Fatal(err)
			}
			if valid != len(objs) || valid == 0 {
				t.Errorf("kubeconform found %d valid resources of %d", valid, len(objs))
			}
			if o == "base" {
				return // Secrets and the management account come from an overlay
			}
			wantNoErrors(t, o, checkManifests(objs, bins, overlays[o]))
			for _, obj := range objs {
				if ns := get(obj, "metadata", "namespace"); obj.kind() != "Namespace" && ns == nil {
					t.Errorf("%s: %s %s has no namespace", o, obj.kind(), obj.name())
				}
			}
		})
	}
}

// TestDeployKubernetesRejects: the validators are not vacuous. kubeconform
// refuses a wrong type, an unknown field and a kind it has no schema for;
// kustomize a missing resource; checkManifests a root container, a flag the
// binary lacks, a probe on the wrong port and a missing Secret.
func TestDeployKubernetesRejects(t *testing.T) {
	k := pinnedK8sTools(t)
	bins := binaries(t)
	out, err := k.build(filepath.Join(root(t), "deploy", "k8s", "overlays", "dev"))
	if err != nil {
		t.Fatal(err)
	}
	good := string(out)
	schemaCases := map[string]struct{ from, to, want string }{
		"wrong type":    {"replicas: 1", `replicas: "one"`, "want integer"},
		"unknown field": {"imagePullPolicy: IfNotPresent", "imagePullPolice: IfNotPresent", "imagePullPolice"},
		"unknown kind":  {"kind: NetworkPolicy", "kind: NetworkPolice", "could not find schema"},
		"bad quantity":  {"memory: 256Mi", "memory: [256Mi]", "memory"},
	}
	for name, tc := range schemaCases {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(good, tc.from) {
				t.Fatalf("no %q to break", tc.from)
			}
			_, err := k.validate([]byte(strings.Replace(good, tc.from, tc.to, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("kubeconform: got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("missing resource", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources:\n  - deployment.yaml\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := k.build(dir); err == nil {
			t.Error("kustomize built a kustomization whose resource is missing")
		}
	})
	checkCases := map[string]struct{ from, to, want string }{
		"root":            {"runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot"},
		"writable root":   {"readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
		"unknown flag":    {"- --redaction-addr=dpsweep-redaction:7403", "- --redactor-addr=dpsweep-redaction:7403", "has no flag --redactor-addr"},
		"wrong address":   {"- --redaction-addr=dpsweep-redaction:7403", "- --redaction-addr=dpsweep-redaction:7402", "no Service port"},
		"probe port":      {"port: 7401\n          periodSeconds: 5", "port: 7402\n          periodSeconds: 5", "readinessProbe is no gRPC health probe on port 7401"},
		"missing secret":  {"name: dpsweep-reporting\n  namespace: dpsweep-dev\ntype: Opaque", "name: dpsweep-reporting-old\n  namespace: dpsweep-dev\ntype: Opaque", "needs Secret dpsweep-reporting"},
		"missing cm key":  {"key: aws-region", "key: region", "key region"},
		"env of another":  {"name: DPSWEEP_REPORTING_REGION", "name: DPSWEEP_COLLECTION_REGION_NAME", "DPSWEEP_COLLECTION_REGION_NAME sets no flag"},
		"foreign image":   {"image: dpsweep-worker:dev", "image: busybox:1.37", "image busybox:1.37 is none of dpsweep's"},
		"metrics port":    {"- --metrics-address=:9464\n", "- --metrics-address=:9465\n", "container ports [7401 9464], want [7401 9465]"},
		"network policy":  {"app.kubernetes.io/name: dpsweep-worker\n    ports:", "app.kubernetes.io/name: dpsweep-sweep\n    ports:", "no NetworkPolicy lets worker call collection"},
		"orphan service":  {"selector:\n    app.kubernetes.io/name: dpsweep-sweep\n", "selector:\n    app.kubernetes.io/name: dpsweep-swept\n", "Service dpsweep-sweep selects no Deployment"},
		"no memory limit": {"        limits:\n            memory: 512Mi\n", "", "no memory limit"},
	}
	for name, tc := range checkCases {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(good, tc.from) {
				t.Fatalf("no %q to break", tc.from)
			}
			objs, err := decodeAll([]byte(strings.Replace(good, tc.from, tc.to, 1)))
			if err != nil {
				t.Fatal(err)
			}
			wantErrorMentioning(t, name, checkManifests(objs, bins, nil), tc.want)
		})
	}
	prod, err := k.build(filepath.Join(root(t), "deploy", "k8s", "overlays", "prod"))
	if err != nil {
		t.Fatal(err)
	}
	tlsCases := map[string]struct{ from, to, want string }{
		"plaintext client": {"- --redaction-tls-ca=/etc/dpsweep/tls/ca.crt\n", "", "evaluation calls redaction with --redaction-tls-ca=\"\""},
		"no client cert":   {"- --reporting-tls-cert=/etc/dpsweep/tls/tls.crt\n", "", "worker calls reporting without a client certificate"},
		"plaintext probe":  {"- -addr=localhost:7405\n            - -tls\n", "- -addr=localhost:7405\n", "probes a TLS server without -tls"},
		"unmounted file":   {"--tls-key=/etc/dpsweep/tls/tls.key", "--tls-key=/etc/ssl/tls.key", "is on no mounted volume"},
		"missing secret":   {"secretName: dpsweep-sweep-tls", "secretName: sweep-tls", "needs Secret sweep-tls"},
	}
	for name, tc := range tlsCases {
		t.Run("prod/"+name, func(t *testing.T) {
			if !strings.Contains(string(prod), tc.from) {
				t.Fatalf("no %q to break", tc.from)
			}
			objs, err := decodeAll([]byte(strings.Replace(string(prod), tc.from, tc.to, 1)))
			if err != nil {
				t.Fatal(err)
			}
			wantErrorMentioning(t, name, checkManifests(objs, bins, overlays["overlays/prod"]), tc.want)
		})
	}
}

// TestDeployKubernetesSchemas: the generated schemas are the strict kind
// (closed objects), so a typo anywhere in a manifest fails.
func TestDeployKubernetesSchemas(t *testing.T) {
	k := pinnedK8sTools(t)
	raw, err := os.ReadFile(filepath.Join(k.schemas, "v"+k.version+"-standalone-strict", "deployment-apps-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if s["additionalProperties"] != false {
		t.Errorf("deployment-apps-v1.json: additionalProperties = %v, want false", s["additionalProperties"])
	}
	if _, err := strconv.Atoi(strings.Split(k.version, ".")[1]); err != nil {
		t.Errorf("K8S_SCHEMA_VERSION %q is not v1.N.N", k.version)
	}
}
