package charttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	release   = "egress"
	namespace = "asm-egress-webhook"
	fullname  = "egress-asm-egress-webhook"
	group     = "istio.alibabacloud.com"
	resource  = "asmegresstrafficpolicies"
)

// The server's real endpoints (see the server's router); probes must use them.
var serverEndpoints = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true, "/mutate": true, "/validate": true}

func render(t *testing.T, opts RenderOptions) (Manifests, *Rendered) {
	t.Helper()
	if opts.ReleaseName == "" {
		opts.ReleaseName = release
	}
	if opts.Namespace == "" {
		opts.Namespace = namespace
	}
	r, err := Render(opts)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	m, err := Parse(r.Manifests)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return m, r
}

func one(t *testing.T, m Manifests, kind string) Object {
	t.Helper()
	o, err := m.One(kind)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func kinds(m Manifests) map[string]int {
	out := map[string]int{}
	for _, o := range m {
		out[o.Kind()]++
	}
	return out
}

func TestEngineIsReported(t *testing.T) {
	_, r := render(t, RenderOptions{})
	t.Logf("chart rendered with %s", r.Engine)
}

func TestDefaultsRenderTheExpectedResources(t *testing.T) {
	m, _ := render(t, RenderOptions{})
	want := map[string]int{
		"CustomResourceDefinition": 1, "Secret": 1, "MutatingWebhookConfiguration": 1,
		"ValidatingWebhookConfiguration": 1, "Deployment": 1, "Service": 1,
		"ServiceAccount": 1, "PodDisruptionBudget": 1,
	}
	if got := kinds(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("kinds = %v, want %v", got, want)
	}
	for _, o := range m {
		if ns := Str(o, "metadata", "namespace"); ns != "" && ns != namespace {
			t.Errorf("%s %s in namespace %q, want the release namespace", o.Kind(), o.Name(), ns)
		}
	}
}

func TestNoRBAC(t *testing.T) {
	m, _ := render(t, RenderOptions{})
	for _, k := range []string{"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"} {
		if n := len(m.OfKind(k)); n != 0 {
			t.Errorf("%d %s rendered; the webhook calls no API and needs none", n, k)
		}
	}
	sa := one(t, m, "ServiceAccount")
	if Get(sa, "automountServiceAccountToken") != false {
		t.Errorf("ServiceAccount automountServiceAccountToken = %v, want false", Get(sa, "automountServiceAccountToken"))
	}
	dep := one(t, m, "Deployment")
	if Get(dep, "spec", "template", "spec", "automountServiceAccountToken") != false {
		t.Error("pod mounts a service account token")
	}
	if got := Str(dep, "spec", "template", "spec", "serviceAccountName"); got != sa.Name() {
		t.Errorf("serviceAccountName %q, want %q", got, sa.Name())
	}
}

// webhookExpect is what one webhook entry must say.
type webhookExpect struct {
	failurePolicy   string
	timeout         float64
	policyNamespace string
}

func checkWebhookConfig(t *testing.T, m Manifests, kind string, want webhookExpect) map[string]interface{} {
	t.Helper()
	cfg := one(t, m, kind)
	hooks := List(cfg, "webhooks")
	if len(hooks) != 1 {
		t.Fatalf("%s has %d webhooks, want 1", kind, len(hooks))
	}
	h := hooks[0]
	action := map[string]string{"MutatingWebhookConfiguration": "mutate", "ValidatingWebhookConfiguration": "validate"}[kind]
	if got, wantName := Str(h, "name"), action+"."+resource+"."+group; got != wantName {
		t.Errorf("%s webhook name %q, want %q", kind, got, wantName)
	}
	if got := Strings(h, "admissionReviewVersions"); !reflect.DeepEqual(got, []string{"v1", "v1beta1"}) {
		t.Errorf("%s admissionReviewVersions %v", kind, got)
	}
	if got := Str(h, "sideEffects"); got != "None" {
		t.Errorf("%s sideEffects %q, want None (kubectl --dry-run=server needs it)", kind, got)
	}
	if got := Str(h, "failurePolicy"); got != want.failurePolicy {
		t.Errorf("%s failurePolicy %q, want %q", kind, got, want.failurePolicy)
	}
	if got := Num(h, "timeoutSeconds"); got != want.timeout {
		t.Errorf("%s timeoutSeconds %v, want %v", kind, got, want.timeout)
	}
	if got := Str(h, "matchPolicy"); got != "Equivalent" {
		t.Errorf("%s matchPolicy %q", kind, got)
	}
	reinvocation := Str(h, "reinvocationPolicy")
	if kind == "MutatingWebhookConfiguration" && reinvocation != "IfNeeded" {
		t.Errorf("mutating reinvocationPolicy %q, want IfNeeded", reinvocation)
	}
	if kind == "ValidatingWebhookConfiguration" && reinvocation != "" {
		t.Errorf("validating webhook has reinvocationPolicy %q", reinvocation)
	}
	if Get(h, "objectSelector") != nil {
		t.Errorf("%s has an objectSelector", kind)
	}

	rules := List(h, "rules")
	if len(rules) != 1 {
		t.Fatalf("%s has %d rules, want 1", kind, len(rules))
	}
	r := rules[0]
	for field, want := range map[string][]string{
		"apiGroups": {group}, "apiVersions": {"v1beta1"}, "resources": {resource}, "operations": {"CREATE", "UPDATE"},
	} {
		if got := Strings(r, field); !reflect.DeepEqual(got, want) {
			t.Errorf("%s rules[0].%s = %v, want %v", kind, field, got, want)
		}
	}

	svc := one(t, m, "Service")
	cc := Map(h, "clientConfig")
	if Get(cc, "url") != nil {
		t.Errorf("%s clientConfig has a url; it must call the Service", kind)
	}
	if got := Str(cc, "service", "name"); got != svc.Name() {
		t.Errorf("%s calls service %q, want %q", kind, got, svc.Name())
	}
	if got := Str(cc, "service", "namespace"); got != namespace {
		t.Errorf("%s calls namespace %q", kind, got)
	}
	if got := Str(cc, "service", "path"); got != "/"+action || !serverEndpoints[got] {
		t.Errorf("%s path %q, want /%s", kind, got, action)
	}
	if got := Num(cc, "service", "port"); got != Num(svc, "spec", "ports", 0, "port") {
		t.Errorf("%s port %v is not the Service's port %v", kind, got, Num(svc, "spec", "ports", 0, "port"))
	}

	// The selector must admit the policy namespace and nothing else that
	// matters: kube-system, the webhook's own namespace, default.
	sel := Map(h, "namespaceSelector")
	if sel == nil {
		t.Fatalf("%s has no namespaceSelector: it would intercept every namespace", kind)
	}
	nsLabels := func(name string) map[string]string {
		return map[string]string{"kubernetes.io/metadata.name": name}
	}
	if ok, err := SelectorMatches(sel, nsLabels(want.policyNamespace)); err != nil || !ok {
		t.Errorf("%s does not match the policy namespace %q (err %v)", kind, want.policyNamespace, err)
	}
	for _, ns := range []string{"kube-system", "kube-public", "kube-node-lease", "default", namespace, "istio-system"} {
		if ns == want.policyNamespace {
			continue
		}
		if ok, _ := SelectorMatches(sel, nsLabels(ns)); ok {
			t.Errorf("%s matches namespace %q", kind, ns)
		}
	}
	// A namespace carrying no name label (older clusters) must not match either.
	if ok, _ := SelectorMatches(sel, map[string]string{}); ok {
		t.Errorf("%s matches a namespace without the kubernetes.io/metadata.name label", kind)
	}
	return Map(h)
}

func TestWebhookConfigurationsDefaults(t *testing.T) {
	m, _ := render(t, RenderOptions{})
	want := webhookExpect{failurePolicy: "Fail", timeout: 5, policyNamespace: "istio-egress"}
	checkWebhookConfig(t, m, "MutatingWebhookConfiguration", want)
	checkWebhookConfig(t, m, "ValidatingWebhookConfiguration", want)
}

func TestCustomFailurePolicyTimeoutReplicas(t *testing.T) {
	m, _ := render(t, RenderOptions{Values: map[string]interface{}{
		"webhook":      map[string]interface{}{"failurePolicy": "Ignore", "timeoutSeconds": 12},
		"replicaCount": 3,
	}})
	want := webhookExpect{failurePolicy: "Ignore", timeout: 12, policyNamespace: "istio-egress"}
	checkWebhookConfig(t, m, "MutatingWebhookConfiguration", want)
	checkWebhookConfig(t, m, "ValidatingWebhookConfiguration", want)
	if got := Num(one(t, m, "Deployment"), "spec", "replicas"); got != 3 {
		t.Errorf("replicas %v, want 3", got)
	}
}

func TestSingleReplicaHasNoPDB(t *testing.T) {
	// A PDB with minAvailable 1 over one pod would block every node drain.
	m, _ := render(t, RenderOptions{Values: map[string]interface{}{"replicaCount": 1}})
	if n := len(m.OfKind("PodDisruptionBudget")); n != 0 {
		t.Errorf("%d PodDisruptionBudgets with one replica", n)
	}
}

func TestPolicySettingsBecomeFlagsAndSelector(t *testing.T) {
	m, _ := render(t, RenderOptions{Values: map[string]interface{}{
		"policy": map[string]interface{}{"nameRule": "literal", "namespace": "team-egress", "reservedPorts": []int{15000, 15090, 17000}},
	}})
	args := containerArgs(t, m)
	for _, want := range []string{"--name-rule=literal", "--policy-namespace=team-egress", "--reserved-ports=15000,15090,17000"} {
		if !contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	want := webhookExpect{failurePolicy: "Fail", timeout: 5, policyNamespace: "team-egress"}
	checkWebhookConfig(t, m, "MutatingWebhookConfiguration", want)
	checkWebhookConfig(t, m, "ValidatingWebhookConfiguration", want)
}

func TestDefaultPolicyFlags(t *testing.T) {
	m, _ := render(t, RenderOptions{})
	args := containerArgs(t, m)
	for _, want := range []string{
		"--name-rule=egress-by", "--policy-namespace=istio-egress",
		"--reserved-ports=15000,15001,15002,15004,15006,15008,15009,15010,15012,15014,15017,15020,15021,15053,15090,15443",
		"--secure-port=8443", "--tls-min-version=VersionTLS12", "--validation-actions=Deny",
	} {
		if !contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	for _, a := range args {
		if strings.Contains(a, "e+") {
			t.Errorf("argument %q carries a number in exponent form", a)
		}
	}
}

// The actions reach the server as its flag, from a list or from the string
// `--set policy.validationActions=Warn` gives.
func TestValidationActionsBecomeTheFlag(t *testing.T) {
	cases := []struct {
		given interface{}
		want  string
	}{
		{[]string{"Audit"}, "--validation-actions=Audit"},
		{[]string{"Warn", "Audit"}, "--validation-actions=Warn,Audit"},
		{[]string{"Deny", "Audit"}, "--validation-actions=Deny,Audit"},
		{"Warn", "--validation-actions=Warn"},
		{"Warn, Audit", "--validation-actions=Warn,Audit"},
	}
	for _, c := range cases {
		m, _ := render(t, RenderOptions{Values: map[string]interface{}{
			"policy": map[string]interface{}{"validationActions": c.given},
		}})
		args := containerArgs(t, m)
		if !contains(args, c.want) {
			t.Errorf("validationActions %v: args %v lack %s", c.given, args, c.want)
		}
		if n := countPrefix(args, "--validation-actions="); n != 1 {
			t.Errorf("validationActions %v: %d --validation-actions flags", c.given, n)
		}
	}
}

func countPrefix(args []string, prefix string) int {
	n := 0
	for _, a := range args {
		if strings.HasPrefix(a, prefix) {
			n++
		}
	}
	return n
}

// The notes show the rollout that fits the actions installed: from Deny, how
// to start gently; from Warn or Audit, where the errors are and how to end
// with Deny. Both show how to audit the policies already stored.
func TestNotesShowTheRollout(t *testing.T) {
	if HelmOnPath() {
		t.Skip("helm template does not print NOTES.txt")
	}
	audit := "kubectl get asmegresstrafficpolicies -A -o yaml | asm-egress-webhook check -f -"
	cases := []struct {
		actions interface{}
		want    []string
		not     []string
	}{
		{[]string{"Deny"}, []string{"Validation actions: Deny.", "--set policy.validationActions=Audit", audit}, []string{"--set policy.validationActions=Deny"}},
		{[]string{"Audit"}, []string{"Validation actions: Audit.", "validate.asmegresstrafficpolicies.istio.alibabacloud.com/validation-errors", `grep '"validation audit"'`, "--set policy.validationActions=Deny", audit}, []string{`"Warning:" line`}},
		{[]string{"Warn"}, []string{"Validation actions: Warn.", `"Warning:" line`, "--set policy.validationActions=Deny", audit}, []string{"validation-errors"}},
	}
	for _, c := range cases {
		_, r := render(t, RenderOptions{Values: map[string]interface{}{"policy": map[string]interface{}{"validationActions": c.actions}}})
		for _, w := range c.want {
			if !strings.Contains(r.Notes, w) {
				t.Errorf("%v: NOTES.txt lacks %q:\n%s", c.actions, w, r.Notes)
			}
		}
		for _, w := range c.not {
			if strings.Contains(r.Notes, w) {
				t.Errorf("%v: NOTES.txt says %q:\n%s", c.actions, w, r.Notes)
			}
		}
	}
}

func TestServerTuningFlags(t *testing.T) {
	m, _ := render(t, RenderOptions{Values: map[string]interface{}{"server": map[string]interface{}{
		"verbosity": 2, "threads": 4, "maxRequestBytes": 7340032, "maxRequestBytesInFlight": 33554432,
		"maxConnections": 2048, "extraArgs": []string{"--cert-dir=/var/run/webhook-certs"},
	}}})
	args := containerArgs(t, m)
	for _, want := range []string{"--v=2", "--threads=4", "--max-request-bytes=7340032",
		"--max-request-bytes-in-flight=33554432", "--max-connections=2048", "--cert-dir=/var/run/webhook-certs"} {
		if !contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	for _, flag := range []string{"--v", "--threads", "--max-request-bytes", "--max-request-bytes-in-flight",
		"--max-connections", "--client-ca-file"} {
		if _, ok := flagValue(containerArgs(t, mustRender(t)), flag); ok {
			t.Errorf("%s set by default; the server's own default should apply", flag)
		}
	}
}

func TestBadValuesAreRefused(t *testing.T) {
	cases := map[string]map[string]interface{}{
		"kube-system as policy namespace": {"policy": map[string]interface{}{"namespace": "kube-system"}},
		"release namespace as policy ns":  {"policy": map[string]interface{}{"namespace": namespace}},
		"unknown failurePolicy":           {"webhook": map[string]interface{}{"failurePolicy": "Maybe"}},
		"timeout above 30":                {"webhook": map[string]interface{}{"timeoutSeconds": 31}},
		"timeout zero":                    {"webhook": map[string]interface{}{"timeoutSeconds": 0}},
		"unknown name rule":               {"policy": map[string]interface{}{"nameRule": "prefix"}},
		"unknown certificate mode":        {"certificates": map[string]interface{}{"mode": "magic"}},
		"secret mode without caBundle":    {"certificates": map[string]interface{}{"mode": "secret"}},
		"empty policy namespace":          {"policy": map[string]interface{}{"namespace": ""}},
		"Deny with Warn":                  {"policy": map[string]interface{}{"validationActions": []string{"Deny", "Warn"}}},
		"Deny with Warn as a string":      {"policy": map[string]interface{}{"validationActions": "Warn,Deny"}},
		"unknown validation action":       {"policy": map[string]interface{}{"validationActions": []string{"Enforce"}}},
		"lowercase validation action":     {"policy": map[string]interface{}{"validationActions": []string{"deny"}}},
		"no validation action":            {"policy": map[string]interface{}{"validationActions": []string{}}},
		"validation action twice":         {"policy": map[string]interface{}{"validationActions": []string{"Audit", "Audit"}}},
	}
	for name, values := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Render(RenderOptions{ReleaseName: release, Namespace: namespace, Values: values}); err == nil {
				t.Errorf("rendered without error")
			}
		})
	}
}

func container(t *testing.T, m Manifests) map[string]interface{} {
	t.Helper()
	dep := one(t, m, "Deployment")
	cs := List(dep, "spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	return cs[0].(map[string]interface{})
}

func containerArgs(t *testing.T, m Manifests) []string {
	t.Helper()
	return Strings(container(t, m), "args")
}

func flagValue(args []string, flag string) (string, bool) {
	for _, a := range args {
		if strings.HasPrefix(a, flag+"=") {
			return strings.TrimPrefix(a, flag+"="), true
		}
	}
	return "", false
}

func TestDeploymentShape(t *testing.T) {
	m, _ := render(t, RenderOptions{})
	dep := one(t, m, "Deployment")
	spec := Map(dep, "spec")
	pod := Map(spec, "template", "spec")
	podLabels := map[string]string{}
	for k, v := range Map(spec, "template", "metadata", "labels") {
		podLabels[k], _ = v.(string)
	}

	if got := Num(spec, "replicas"); got != 2 {
		t.Errorf("replicas %v, want 2", got)
	}
	if got := Str(spec, "strategy", "type"); got != "RollingUpdate" {
		t.Errorf("strategy %q", got)
	}
	if got := Get(spec, "strategy", "rollingUpdate", "maxUnavailable"); got != float64(0) {
		t.Errorf("maxUnavailable %v, want 0", got)
	}
	if ok, _ := SelectorMatches(Map(spec, "selector"), podLabels); !ok || len(podLabels) == 0 {
		t.Errorf("Deployment selector does not match its pods' labels %v", podLabels)
	}
	svc := one(t, m, "Service")
	svcSel := map[string]interface{}{"matchLabels": Map(svc, "spec", "selector")}
	if ok, _ := SelectorMatches(svcSel, podLabels); !ok || len(Map(svc, "spec", "selector")) == 0 {
		t.Errorf("Service selector %v does not match the pods", Map(svc, "spec", "selector"))
	}
	pdb := one(t, m, "PodDisruptionBudget")
	if ok, _ := SelectorMatches(Map(pdb, "spec", "selector"), podLabels); !ok {
		t.Error("PodDisruptionBudget selector does not match the pods")
	}
	if got := Get(pdb, "spec", "minAvailable"); got != float64(1) {
		t.Errorf("PDB minAvailable %v", got)
	}

	// Preferred (not required) anti-affinity across nodes, on our own pods.
	terms := List(pod, "affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution")
	if len(terms) != 1 {
		t.Fatalf("want one preferred anti-affinity term, got %v", terms)
	}
	if List(pod, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution") != nil {
		t.Error("required anti-affinity would leave replicas unschedulable on small clusters")
	}
	if got := Str(terms[0], "podAffinityTerm", "topologyKey"); got != "kubernetes.io/hostname" {
		t.Errorf("anti-affinity topologyKey %q", got)
	}
	if ok, _ := SelectorMatches(Map(terms[0], "podAffinityTerm", "labelSelector"), podLabels); !ok {
		t.Error("anti-affinity selector does not match the webhook's own pods")
	}

	c := container(t, m)
	args := Strings(c, "args")

	// Ports and probes: named port → containerPort → --secure-port.
	securePort, ok := flagValue(args, "--secure-port")
	if !ok {
		t.Fatal("no --secure-port flag")
	}
	ports := List(c, "ports")
	if len(ports) != 1 || Str(ports[0], "name") != "https" || strconv.Itoa(int(Num(ports[0], "containerPort"))) != securePort {
		t.Errorf("container ports %v do not expose --secure-port=%s as https", ports, securePort)
	}
	if got := Get(svc, "spec", "ports", 0, "port"); got != float64(443) {
		t.Errorf("Service port %v, want 443", got)
	}
	if got := Get(svc, "spec", "ports", 0, "targetPort"); got != "https" && got != Num(ports[0], "containerPort") {
		t.Errorf("Service targetPort %v is not the container port", got)
	}
	for probe, wantPath := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
		hg := Map(c, probe, "httpGet")
		if hg == nil {
			t.Errorf("%s is not an httpGet probe", probe)
			continue
		}
		if Str(hg, "scheme") != "HTTPS" {
			t.Errorf("%s scheme %q: the only listener is TLS", probe, Str(hg, "scheme"))
		}
		if p := Str(hg, "path"); p != wantPath || !serverEndpoints[p] {
			t.Errorf("%s path %q, want %s", probe, p, wantPath)
		}
		port := Get(hg, "port")
		if port != "https" && port != Num(ports[0], "containerPort") {
			t.Errorf("%s port %v is not the webhook port", probe, port)
		}
	}

	// preStop: the image has no shell; the binary itself sleeps.
	if got := Strings(c, "lifecycle", "preStop", "exec", "command"); !reflect.DeepEqual(got, []string{"asm-egress-webhook", "sleep", "5"}) {
		t.Errorf("preStop command %v", got)
	}
	// The pod must outlive preStop + drain + grace, or in-flight reviews are cut.
	drain, _ := flagValue(args, "--shutdown-drain-period")
	grace, _ := flagValue(args, "--shutdown-grace-period")
	dd, err1 := time.ParseDuration(drain)
	gd, err2 := time.ParseDuration(grace)
	if err1 != nil || err2 != nil {
		t.Fatalf("shutdown flags %q %q: %v %v", drain, grace, err1, err2)
	}
	budget := 5*time.Second + dd + gd
	if tg := time.Duration(Num(pod, "terminationGracePeriodSeconds")) * time.Second; tg <= budget {
		t.Errorf("terminationGracePeriodSeconds %v does not exceed preStop+drain+grace %v", tg, budget)
	}

	// Resources: both requests and limits.
	for _, part := range []string{"requests", "limits"} {
		for _, r := range []string{"cpu", "memory"} {
			if Str(c, "resources", part, r) == "" {
				t.Errorf("resources.%s.%s missing", part, r)
			}
		}
	}

	// Security: non-root 65532, read-only root, no capabilities, seccomp.
	psc := Map(pod, "securityContext")
	csc := Map(c, "securityContext")
	if Get(csc, "runAsNonRoot") != true && Get(psc, "runAsNonRoot") != true {
		t.Error("runAsNonRoot not set")
	}
	if Num(csc, "runAsUser") != 65532 || Num(psc, "runAsUser") != 65532 {
		t.Errorf("runAsUser pod %v container %v, want 65532", Num(psc, "runAsUser"), Num(csc, "runAsUser"))
	}
	if Get(csc, "readOnlyRootFilesystem") != true {
		t.Error("root filesystem is writable")
	}
	if Get(csc, "allowPrivilegeEscalation") != false {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if Get(csc, "privileged") == true {
		t.Error("privileged container")
	}
	if got := Strings(csc, "capabilities", "drop"); !reflect.DeepEqual(got, []string{"ALL"}) {
		t.Errorf("capabilities.drop %v, want [ALL]", got)
	}
	if List(csc, "capabilities", "add") != nil {
		t.Error("capabilities added")
	}
	if Str(psc, "seccompProfile", "type") != "RuntimeDefault" && Str(csc, "seccompProfile", "type") != "RuntimeDefault" {
		t.Error("seccompProfile is not RuntimeDefault")
	}
	if pod["hostNetwork"] == true || pod["hostPID"] == true {
		t.Error("pod shares host namespaces")
	}

	// The TLS files the flags name are the keys of the mounted Secret.
	certFile, _ := flagValue(args, "--tls-cert-file")
	keyFile, _ := flagValue(args, "--tls-private-key-file")
	if path.Dir(certFile) != path.Dir(keyFile) || path.Base(certFile) != "tls.crt" || path.Base(keyFile) != "tls.key" {
		t.Fatalf("--tls-cert-file %q / --tls-private-key-file %q are not tls.crt/tls.key of one folder", certFile, keyFile)
	}
	var volName string
	for _, vm := range List(c, "volumeMounts") {
		if Str(vm, "mountPath") == path.Dir(certFile) {
			volName = Str(vm, "name")
			if Get(vm, "readOnly") != true {
				t.Error("certificate mount is writable")
			}
		}
	}
	if volName == "" {
		t.Fatalf("nothing is mounted at %s", path.Dir(certFile))
	}
	secret := one(t, m, "Secret")
	found := false
	for _, v := range List(pod, "volumes") {
		if Str(v, "name") == volName {
			found = true
			if got := Str(v, "secret", "secretName"); got != secret.Name() {
				t.Errorf("certificate volume uses Secret %q, want %q", got, secret.Name())
			}
		}
	}
	if !found {
		t.Errorf("no volume %q", volName)
	}
}

func decodePEMCert(t *testing.T, what, b64 string) (*x509.Certificate, []byte) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("%s is not base64: %v", what, err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s is not a PEM certificate", what)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return cert, raw
}

func serviceDNSNames(svc string) []string {
	return []string{svc, svc + "." + namespace, svc + "." + namespace + ".svc", svc + "." + namespace + ".svc.cluster.local"}
}

// checkServingPair verifies that caB64 signed the Secret's serving
// certificate, that the certificate is valid for every DNS name the API
// server may use for the Service, and that the key matches it.
func checkServingPair(t *testing.T, caB64, crtB64, keyB64 string, svc string) {
	t.Helper()
	ca, _ := decodePEMCert(t, "caBundle", caB64)
	if !ca.IsCA {
		t.Error("caBundle certificate is not a CA")
	}
	leaf, leafPEM := decodePEMCert(t, "tls.crt", crtB64)
	keyPEM, err := base64.StdEncoding.DecodeString(keyB64)
	if err != nil {
		t.Fatalf("tls.key: %v", err)
	}
	if _, err := tls.X509KeyPair(leafPEM, keyPEM); err != nil {
		t.Errorf("tls.key does not match tls.crt: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, name := range serviceDNSNames(svc) {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("serving certificate not valid for %s under caBundle: %v", name, err)
		}
	}
	// The API server uses <svc>.<ns>.svc; a certificate for some other
	// service must not verify (the check above is not vacuous).
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other." + namespace + ".svc", Roots: roots}); err == nil {
		t.Error("serving certificate verifies for an unrelated name")
	}
	if time.Until(leaf.NotAfter) < 300*24*time.Hour {
		t.Errorf("serving certificate expires too soon: %v", leaf.NotAfter)
	}
}

func TestBuiltinCertificatesAgree(t *testing.T) {
	m, _ := render(t, RenderOptions{})
	secret := one(t, m, "Secret")
	if got := Str(secret, "type"); got != "kubernetes.io/tls" {
		t.Errorf("Secret type %q", got)
	}
	ca := Str(secret, "data", "ca.crt")
	mut := one(t, m, "MutatingWebhookConfiguration")
	val := one(t, m, "ValidatingWebhookConfiguration")
	mb := Str(mut, "webhooks", 0, "clientConfig", "caBundle")
	vb := Str(val, "webhooks", 0, "clientConfig", "caBundle")
	if mb == "" || mb != vb || mb != ca {
		t.Fatalf("caBundles differ: mutating %.20q validating %.20q secret ca.crt %.20q", mb, vb, ca)
	}
	checkServingPair(t, mb, Str(secret, "data", "tls.crt"), Str(secret, "data", "tls.key"), one(t, m, "Service").Name())
}

func TestEveryRenderMakesAFreshCA(t *testing.T) {
	// Two installs must not share a CA (a fixed key in the chart would be
	// public); reuse only happens through lookup, on upgrade.
	m1, _ := render(t, RenderOptions{})
	m2, _ := render(t, RenderOptions{})
	if Str(one(t, m1, "Secret"), "data", "ca.crt") == Str(one(t, m2, "Secret"), "data", "ca.crt") {
		t.Error("two renders produced the same CA")
	}
}

// makeExistingSecret builds a Secret like the one a previous install left,
// with its own CA, as lookup would return it.
func makeExistingSecret(t *testing.T, svc string) map[string]interface{} {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "previous-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(3650 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: svc + "." + namespace + ".svc"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(3650 * 24 * time.Hour),
		DNSNames:    serviceDNSNames(svc),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	enc := func(typ string, der []byte) string {
		return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	return map[string]interface{}{
		"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
		"metadata": map[string]interface{}{"name": svc + "-tls", "namespace": namespace},
		"data": map[string]interface{}{
			"ca.crt": enc("CERTIFICATE", caDER), "tls.crt": enc("CERTIFICATE", leafDER), "tls.key": enc("EC PRIVATE KEY", keyDER),
		},
	}
}

func TestUpgradeReusesExistingSecret(t *testing.T) {
	existing := makeExistingSecret(t, fullname)
	m, _ := render(t, RenderOptions{IsUpgrade: true, Existing: map[string]map[string]interface{}{
		"v1/Secret/" + namespace + "/" + fullname + "-tls": existing,
	}})
	secret := one(t, m, "Secret")
	for _, k := range []string{"ca.crt", "tls.crt", "tls.key"} {
		if Str(secret, "data", k) != Str(existing, "data", k) {
			t.Errorf("upgrade replaced %s: running pods would serve a pair the API server no longer trusts", k)
		}
	}
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		if Str(one(t, m, kind), "webhooks", 0, "clientConfig", "caBundle") != Str(existing, "data", "ca.crt") {
			t.Errorf("%s caBundle is not the existing CA", kind)
		}
	}
	checkServingPair(t, Str(secret, "data", "ca.crt"), Str(secret, "data", "tls.crt"), Str(secret, "data", "tls.key"), fullname)
}

func TestIncompleteExistingSecretIsRegenerated(t *testing.T) {
	existing := makeExistingSecret(t, fullname)
	delete(existing["data"].(map[string]interface{}), "ca.crt")
	m, _ := render(t, RenderOptions{IsUpgrade: true, Existing: map[string]map[string]interface{}{
		"v1/Secret/" + namespace + "/" + fullname + "-tls": existing,
	}})
	secret := one(t, m, "Secret")
	if Str(secret, "data", "tls.crt") == Str(existing, "data", "tls.crt") {
		t.Error("a Secret without ca.crt was reused: the caBundle could not be known")
	}
	checkServingPair(t, Str(secret, "data", "ca.crt"), Str(secret, "data", "tls.crt"), Str(secret, "data", "tls.key"), fullname)
}

func TestCertManagerMode(t *testing.T) {
	m, _ := render(t, RenderOptions{Values: map[string]interface{}{"certificates": map[string]interface{}{"mode": "certManager"}}})
	if n := len(m.OfKind("Secret")); n != 0 {
		t.Errorf("%d Secrets rendered; cert-manager writes the Secret", n)
	}
	issuers := map[string]Object{}
	for _, o := range m.OfKind("Issuer") {
		issuers[o.Name()] = o
	}
	certs := map[string]Object{}
	for _, o := range m.OfKind("Certificate") {
		certs[o.Name()] = o
		if Str(o, "apiVersion") != "cert-manager.io/v1" {
			t.Errorf("Certificate %s apiVersion %q", o.Name(), Str(o, "apiVersion"))
		}
	}
	if len(issuers) != 2 || len(certs) != 2 {
		t.Fatalf("want 2 Issuers and 2 Certificates, got %d and %d", len(issuers), len(certs))
	}
	serving, ok := certs[fullname+"-serving"]
	if !ok {
		t.Fatalf("no serving Certificate among %v", certs)
	}
	// serving ← CA Issuer ← CA Certificate ← self-signed Issuer.
	caIssuer, ok := issuers[Str(serving, "spec", "issuerRef", "name")]
	if !ok || Str(serving, "spec", "issuerRef", "kind") != "Issuer" {
		t.Fatalf("serving Certificate's issuer %v is not one of the chart's Issuers", Map(serving, "spec", "issuerRef"))
	}
	caSecret := Str(caIssuer, "spec", "ca", "secretName")
	var caCert Object
	for _, c := range certs {
		if Str(c, "spec", "secretName") == caSecret {
			caCert = c
		}
	}
	if caSecret == "" || caCert == nil || Get(caCert, "spec", "isCA") != true {
		t.Fatalf("CA Issuer secret %q is not written by an isCA Certificate", caSecret)
	}
	selfSigned, ok := issuers[Str(caCert, "spec", "issuerRef", "name")]
	if !ok || Map(selfSigned, "spec", "selfSigned") == nil {
		t.Error("CA Certificate is not issued by a self-signed Issuer")
	}
	if got := Strings(serving, "spec", "dnsNames"); !reflect.DeepEqual(got, serviceDNSNames(fullname)) {
		t.Errorf("serving dnsNames %v, want %v", got, serviceDNSNames(fullname))
	}
	if !contains(Strings(serving, "spec", "usages"), "server auth") {
		t.Error("serving Certificate lacks the server auth usage")
	}
	// The pods mount what cert-manager writes.
	dep := one(t, m, "Deployment")
	var mounted string
	for _, v := range List(dep, "spec", "template", "spec", "volumes") {
		if s := Str(v, "secret", "secretName"); s != "" {
			mounted = s
		}
	}
	if mounted != Str(serving, "spec", "secretName") {
		t.Errorf("pods mount Secret %q, the serving Certificate writes %q", mounted, Str(serving, "spec", "secretName"))
	}
	// The CA injector fills caBundle from the serving Certificate.
	want := namespace + "/" + serving.Name()
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		cfg := one(t, m, kind)
		if got := Str(cfg, "metadata", "annotations", "cert-manager.io/inject-ca-from"); got != want {
			t.Errorf("%s inject-ca-from %q, want %q", kind, got, want)
		}
		if Get(cfg, "webhooks", 0, "clientConfig", "caBundle") != nil {
			t.Errorf("%s carries a caBundle; the injector owns it", kind)
		}
		checkWebhookConfig(t, m, kind, webhookExpect{failurePolicy: "Fail", timeout: 5, policyNamespace: "istio-egress"})
	}
}

func TestOptionalAPIsMustBeServed(t *testing.T) {
	bare := []string{}
	if _, err := Render(RenderOptions{ReleaseName: release, Namespace: namespace, ExtraAPIVersions: bare,
		Values: map[string]interface{}{"certificates": map[string]interface{}{"mode": "certManager"}}}); err == nil ||
		!strings.Contains(err.Error(), "cert-manager") {
		t.Errorf("certManager mode without cert-manager rendered (err %v)", err)
	}
	if _, err := Render(RenderOptions{ReleaseName: release, Namespace: namespace, ExtraAPIVersions: bare,
		Values: map[string]interface{}{"serviceMonitor": map[string]interface{}{"enabled": true}}}); err == nil {
		t.Error("a ServiceMonitor rendered for a cluster without the Prometheus Operator")
	}
	if _, err := Render(RenderOptions{ReleaseName: release, Namespace: namespace, ExtraAPIVersions: bare}); err != nil {
		t.Errorf("defaults need no optional API: %v", err)
	}
}

func TestCertManagerWithExternalIssuer(t *testing.T) {
	m, _ := render(t, RenderOptions{Values: map[string]interface{}{"certificates": map[string]interface{}{
		"mode": "certManager", "certManager": map[string]interface{}{"issuerRef": map[string]interface{}{"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}},
	}}})
	if n := len(m.OfKind("Issuer")); n != 0 {
		t.Errorf("%d Issuers rendered with an external issuer", n)
	}
	c := one(t, m, "Certificate")
	if Str(c, "spec", "issuerRef", "name") != "corp-ca" || Str(c, "spec", "issuerRef", "kind") != "ClusterIssuer" {
		t.Errorf("issuerRef %v", Map(c, "spec", "issuerRef"))
	}
}

func TestExistingSecretMode(t *testing.T) {
	existing := makeExistingSecret(t, fullname)
	ca := Str(existing, "data", "ca.crt")
	m, _ := render(t, RenderOptions{Values: map[string]interface{}{"certificates": map[string]interface{}{
		"mode": "secret", "secret": map[string]interface{}{"name": "made-by-script", "caBundle": ca},
	}}})
	if n := len(m.OfKind("Secret")); n != 0 {
		t.Errorf("%d Secrets rendered; the user made it", n)
	}
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		if Str(one(t, m, kind), "webhooks", 0, "clientConfig", "caBundle") != ca {
			t.Errorf("%s caBundle is not the given one", kind)
		}
	}
	var mounted string
	for _, v := range List(one(t, m, "Deployment"), "spec", "template", "spec", "volumes") {
		if s := Str(v, "secret", "secretName"); s != "" {
			mounted = s
		}
	}
	if mounted != "made-by-script" {
		t.Errorf("pods mount %q", mounted)
	}
}

func TestWithoutCRD(t *testing.T) {
	m, _ := render(t, RenderOptions{Values: map[string]interface{}{"crd": map[string]interface{}{"install": false}}})
	if n := len(m.OfKind("CustomResourceDefinition")); n != 0 {
		t.Errorf("%d CRDs rendered with crd.install=false", n)
	}
	for _, k := range []string{"Deployment", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "Service", "Secret"} {
		one(t, m, k)
	}
}

func TestCRDShape(t *testing.T) {
	m, _ := render(t, RenderOptions{})
	crd := one(t, m, "CustomResourceDefinition")
	if crd.Name() != resource+"."+group {
		t.Errorf("CRD name %q", crd.Name())
	}
	if Str(crd, "metadata", "annotations", "helm.sh/resource-policy") != "keep" {
		t.Error("CRD is deleted on uninstall, and every policy with it")
	}
	spec := Map(crd, "spec")
	if Str(spec, "group") != group || Str(spec, "names", "kind") != "ASMEgressTrafficPolicy" ||
		Str(spec, "names", "plural") != resource || Str(spec, "scope") != "Namespaced" {
		t.Errorf("CRD names/group/scope wrong: %v", spec["names"])
	}
	versions := List(spec, "versions")
	if len(versions) != 1 || Str(versions[0], "name") != "v1beta1" || Get(versions[0], "served") != true || Get(versions[0], "storage") != true {
		t.Fatalf("versions %v", versions)
	}
	v := versions[0]
	if Map(v, "subresources", "status") == nil {
		t.Error("no status subresource")
	}
	columns := map[string]string{}
	for _, c := range List(v, "additionalPrinterColumns") {
		columns[Str(c, "name")] = Str(c, "jsonPath")
	}
	if columns["Gateway"] != ".spec.byEgressGateway.name" {
		t.Errorf("Gateway column %q", columns["Gateway"])
	}
	if !strings.HasPrefix(columns["Status"], ".status.") {
		t.Errorf("Status column %q", columns["Status"])
	}
}

func TestNetworkPolicyAndServiceMonitor(t *testing.T) {
	m, _ := render(t, RenderOptions{Values: map[string]interface{}{
		"networkPolicy":  map[string]interface{}{"enabled": true},
		"serviceMonitor": map[string]interface{}{"enabled": true},
	}})
	c := container(t, m)
	port := Num(c, "ports", 0, "containerPort")
	np := one(t, m, "NetworkPolicy")
	if got := Strings(np, "spec", "policyTypes"); !reflect.DeepEqual(got, []string{"Ingress"}) {
		t.Errorf("policyTypes %v", got)
	}
	rules := List(np, "spec", "ingress")
	if len(rules) != 1 || len(List(rules[0], "ports")) != 1 || Num(rules[0], "ports", 0, "port") != port {
		t.Errorf("NetworkPolicy ingress %v, want only port %v", rules, port)
	}
	podLabels := map[string]string{}
	for k, v := range Map(one(t, m, "Deployment"), "spec", "template", "metadata", "labels") {
		podLabels[k], _ = v.(string)
	}
	if ok, _ := SelectorMatches(Map(np, "spec", "podSelector"), podLabels); !ok {
		t.Error("NetworkPolicy does not select the webhook pods")
	}
	sm := one(t, m, "ServiceMonitor")
	ep := Get(sm, "spec", "endpoints", 0)
	if Str(ep, "path") != "/metrics" || Str(ep, "scheme") != "https" || Str(ep, "port") != Str(one(t, m, "Service"), "spec", "ports", 0, "name") {
		t.Errorf("ServiceMonitor endpoint %v", ep)
	}
	if Str(ep, "tlsConfig", "serverName") != fullname+"."+namespace+".svc" {
		t.Errorf("ServiceMonitor serverName %q", Str(ep, "tlsConfig", "serverName"))
	}
	// Defaults: neither is rendered.
	d, _ := render(t, RenderOptions{})
	if len(d.OfKind("NetworkPolicy"))+len(d.OfKind("ServiceMonitor")) != 0 {
		t.Error("NetworkPolicy or ServiceMonitor rendered by default")
	}
}

func TestClientCA(t *testing.T) {
	m, _ := render(t, RenderOptions{Values: map[string]interface{}{"clientAuth": map[string]interface{}{"caConfigMap": "apiserver-client-ca"}}})
	args := containerArgs(t, m)
	file, ok := flagValue(args, "--client-ca-file")
	if !ok {
		t.Fatal("no --client-ca-file")
	}
	c := container(t, m)
	var vol string
	for _, vm := range List(c, "volumeMounts") {
		if Str(vm, "mountPath") == path.Dir(file) {
			vol = Str(vm, "name")
		}
	}
	ok = false
	for _, v := range List(one(t, m, "Deployment"), "spec", "template", "spec", "volumes") {
		if Str(v, "name") == vol && Str(v, "configMap", "name") == "apiserver-client-ca" {
			ok = true
		}
	}
	if !ok {
		t.Errorf("%s is not mounted from ConfigMap apiserver-client-ca", file)
	}
	// Probes still work without client certificates: same HTTPS probes.
	if Str(c, "readinessProbe", "httpGet", "path") != "/readyz" {
		t.Error("readiness probe changed with client auth")
	}
	if _, ok := flagValue(containerArgs(t, mustRender(t)), "--client-ca-file"); ok {
		t.Error("--client-ca-file set by default")
	}
}

func mustRender(t *testing.T) Manifests {
	m, _ := render(t, RenderOptions{})
	return m
}

func TestNotesShowADryRun(t *testing.T) {
	if HelmOnPath() {
		t.Skip("helm template does not print NOTES.txt")
	}
	_, r := render(t, RenderOptions{})
	for _, want := range []string{"kubectl apply --dry-run=server", "istio-egress", "egress-by-egressgateway-a", "helm uninstall " + release} {
		if !strings.Contains(r.Notes, want) {
			t.Errorf("NOTES.txt lacks %q:\n%s", want, r.Notes)
		}
	}
	_, r = render(t, RenderOptions{Values: map[string]interface{}{"policy": map[string]interface{}{"nameRule": "literal"}}})
	if strings.Contains(r.Notes, "egress-by-egressgateway-a") {
		t.Error("NOTES.txt example ignores the literal name rule")
	}
}

func TestManifestsAreDeterministicApartFromKeys(t *testing.T) {
	// Everything but the generated certificates is a pure function of values.
	strip := func(m Manifests) string {
		var b strings.Builder
		for _, o := range m {
			if o.Kind() == "Secret" {
				continue
			}
			for _, h := range List(o, "webhooks") {
				delete(Map(h, "clientConfig"), "caBundle")
			}
			fmt.Fprintf(&b, "%v\n", o)
		}
		return b.String()
	}
	a, _ := render(t, RenderOptions{})
	b, _ := render(t, RenderOptions{})
	if strip(a) != strip(b) {
		t.Error("two renders with the same values differ")
	}
}

// certs/make-certs.sh output plugged into certificates.mode=secret gives a
// pair the API server would accept for the chart's Service.
func TestMakeCertsScriptWithSecretMode(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl not found: apt-get install openssl")
	}
	dir := t.TempDir()
	script := filepath.Join(ChartDir(), "..", "..", "certs", "make-certs.sh")
	out, err := exec.Command("bash", script, "-s", fullname, "-n", namespace, "-o", dir).Output()
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	bundle := strings.TrimSpace(string(out))
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(data)
	}
	if bundle != read("ca.crt") {
		t.Fatal("printed caBundle is not ca.crt")
	}
	m, _ := render(t, RenderOptions{Values: map[string]interface{}{"certificates": map[string]interface{}{
		"mode": "secret", "secret": map[string]interface{}{"caBundle": bundle},
	}}})
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		checkServingPair(t, Str(one(t, m, kind), "webhooks", 0, "clientConfig", "caBundle"), read("tls.crt"), read("tls.key"), fullname)
	}
}

func sourceFile(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(ChartDir(), "..", "..", rel))
	if err != nil {
		t.Fatalf("reading %s: %v", rel, err)
	}
	return string(data)
}

// The chart must not drift from the binary it deploys: every flag it passes
// is one the serve command declares, and every path it probes or calls is
// one the server routes.
func TestChartMatchesTheServerSources(t *testing.T) {
	m, _ := render(t, RenderOptions{Values: map[string]interface{}{
		"server":     map[string]interface{}{"verbosity": 1, "threads": 2, "maxRequestBytes": 1024},
		"clientAuth": map[string]interface{}{"caConfigMap": "ca"},
	}})
	flagsSource := sourceFile(t, "cli/serve_command.cpp") + sourceFile(t, "cli/policy_flags.cpp")
	for _, a := range containerArgs(t, m) {
		name := strings.SplitN(a, "=", 2)[0]
		if !strings.Contains(flagsSource, `"`+name+`"`) && !strings.Contains(flagsSource, ","+name+`"`) {
			t.Errorf("flag %s is not declared by the serve command", name)
		}
	}
	router := sourceFile(t, "server/router.cpp")
	c := container(t, m)
	paths := []string{Str(c, "readinessProbe", "httpGet", "path"), Str(c, "livenessProbe", "httpGet", "path"), "/metrics"}
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		paths = append(paths, Str(one(t, m, kind), "webhooks", 0, "clientConfig", "service", "path"))
	}
	for _, p := range paths {
		if !strings.Contains(router, `"`+p+`"`) {
			t.Errorf("path %s is not routed by server/router.cpp", p)
		}
	}
	preStop := Strings(c, "lifecycle", "preStop", "exec", "command")
	if len(preStop) < 2 || !strings.Contains(sourceFile(t, "cli/main.cpp"), `"`+preStop[1]+`"`) {
		t.Errorf("preStop subcommand %v is not declared in cli/main.cpp", preStop)
	}
}
