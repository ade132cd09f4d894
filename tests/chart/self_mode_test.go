package charttest

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var selfValues = map[string]interface{}{"certificates": map[string]interface{}{"mode": "self"}}

const secretName = fullname + "-tls"

// apiCall is one line of kube/api_calls.h: the calls the server's client can
// make, which the client builds its requests from.
type apiCall struct {
	verb, group, resource string
	namespaced            bool
}

var apiCallLine = regexp.MustCompile(`\{"(\w+)", "([^"]*)", "v1", "(\w+)", Scope::(Namespaced|Cluster)\}`)

func serverAPICalls(t *testing.T) []apiCall {
	t.Helper()
	var calls []apiCall
	for _, m := range apiCallLine.FindAllStringSubmatch(sourceFile(t, "kube/api_calls.h"), -1) {
		calls = append(calls, apiCall{verb: m[1], group: m[2], resource: m[3], namespaced: m[4] == "Namespaced"})
	}
	if len(calls) < 5 {
		t.Fatalf("found %d calls in kube/api_calls.h; has its table's form changed?", len(calls))
	}
	return calls
}

// A permission, one verb on one resource, for one object name ("*": any),
// granted by a Role in a namespace or a ClusterRole ("").
type permission struct{ scope, group, resource, verb, name string }

func (p permission) String() string {
	return fmt.Sprintf("%s %s/%s %s %s", p.scope, p.group, p.resource, p.verb, p.name)
}

func sortedStrings(ps map[permission]bool) []string {
	var out []string
	for p := range ps {
		out = append(out, p.String())
	}
	sort.Strings(out)
	return out
}

// The permissions a rendered rule grants, expanded.
func rulePermissions(scope string, rule interface{}) map[permission]bool {
	out := map[permission]bool{}
	names := Strings(rule, "resourceNames")
	if len(names) == 0 {
		names = []string{"*"}
	}
	for _, g := range Strings(rule, "apiGroups") {
		for _, r := range Strings(rule, "resources") {
			for _, v := range Strings(rule, "verbs") {
				for _, n := range names {
					out[permission{scope, g, r, v, n}] = true
				}
			}
		}
	}
	return out
}

func TestSelfModeRendersNoSecretAndNoCaBundle(t *testing.T) {
	m, _ := render(t, RenderOptions{Values: selfValues})
	want := map[string]int{
		"CustomResourceDefinition": 1, "MutatingWebhookConfiguration": 1,
		"ValidatingWebhookConfiguration": 1, "Deployment": 1, "Service": 1,
		"ServiceAccount": 1, "PodDisruptionBudget": 1,
		"Role": 1, "RoleBinding": 1, "ClusterRole": 1, "ClusterRoleBinding": 1,
	}
	if got := kinds(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("kinds = %v, want %v", got, want)
	}
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		cfg := checkWebhookConfig(t, m, kind, webhookExpect{"Fail", 5, "istio-egress"})
		if _, ok := Map(cfg, "clientConfig")["caBundle"]; ok {
			t.Errorf("%s has a caBundle in self mode", kind)
		}
		if ann := Map(one(t, m, kind), "metadata", "annotations"); len(ann) != 0 {
			t.Errorf("%s has annotations %v", kind, ann)
		}
	}
}

// Nothing generated at render time: two renders are the same, byte for byte,
// so a GitOps tool never sees a change it did not make.
func TestSelfModeRendersTheSameEveryTime(t *testing.T) {
	_, a := render(t, RenderOptions{Values: selfValues})
	_, b := render(t, RenderOptions{Values: selfValues})
	if a.Manifests != b.Manifests {
		t.Error("two renders of self mode differ")
	}
}

func TestSelfModeServerFlagsAndPod(t *testing.T) {
	m, _ := render(t, RenderOptions{Values: map[string]interface{}{"certificates": map[string]interface{}{
		"mode": "self", "self": map[string]interface{}{"validity": "2160h"},
	}}})
	args := containerArgs(t, m)
	svc := one(t, m, "Service").Name()
	for flag, want := range map[string]string{
		"--certificate-secret":   namespace + "/" + secretName,
		"--inject-ca-into":       fullname,
		"--tls-san":              strings.Join(serviceDNSNames(svc), ","),
		"--certificate-validity": "2160h",
	} {
		if got, ok := flagValue(args, flag); !ok || got != want {
			t.Errorf("%s = %q (set: %v), want %q", flag, got, ok, want)
		}
	}
	for _, flag := range []string{"--tls-cert-file", "--tls-private-key-file", "--kubeconfig"} {
		if _, ok := flagValue(args, flag); ok {
			t.Errorf("%s is set in self mode", flag)
		}
	}
	// The names the server is given are those of the rendered objects.
	if Str(one(t, m, "MutatingWebhookConfiguration"), "metadata", "name") != fullname ||
		Str(one(t, m, "ValidatingWebhookConfiguration"), "metadata", "name") != fullname {
		t.Error("--inject-ca-into does not name both webhook configurations")
	}
	pod := Map(one(t, m, "Deployment"), "spec", "template", "spec")
	if Get(pod, "automountServiceAccountToken") != true {
		t.Error("the pod does not mount its service account token; the server needs it")
	}
	for _, v := range List(pod, "volumes") {
		if Str(v, "secret", "secretName") != "" {
			t.Errorf("volume %s mounts a Secret in self mode", Str(v, "name"))
		}
	}
	flagsSource := sourceFile(t, "cli/serve_command.cpp") + sourceFile(t, "cli/self_certificate_flags.cpp") +
		sourceFile(t, "cli/policy_flags.cpp")
	for _, a := range args {
		name := strings.SplitN(a, "=", 2)[0]
		if !strings.Contains(flagsSource, `"`+name+`"`) && !strings.Contains(flagsSource, ","+name+`"`) {
			t.Errorf("flag %s is not declared by the serve command", name)
		}
	}
}

// The RBAC is exactly the calls the server's client can make: derived from
// kube/api_calls.h, with the object names the server is given. Nothing more
// (least privilege) and nothing less (the server would meet a 403).
func TestSelfModeRBACIsExactlyWhatTheServerCalls(t *testing.T) {
	for _, opts := range []RenderOptions{
		{Values: selfValues},
		{ReleaseName: "webhooks", Namespace: "mesh-tools", Values: map[string]interface{}{
			"certificates": map[string]interface{}{"mode": "self"},
			"webhook":      map[string]interface{}{"mutating": false},
		}},
	} {
		m, _ := render(t, opts)
		ns := opts.Namespace
		if ns == "" {
			ns = namespace
		}
		deployment := one(t, m, "Deployment")
		args := containerArgs(t, m)
		secretFlag, _ := flagValue(args, "--certificate-secret")
		configuration, _ := flagValue(args, "--inject-ca-into")
		parts := strings.SplitN(secretFlag, "/", 2)
		if len(parts) != 2 || parts[0] != ns {
			t.Fatalf("--certificate-secret %q is not in the release namespace %s", secretFlag, ns)
		}

		want := map[permission]bool{}
		for _, c := range serverAPICalls(t) {
			p := permission{verb: c.verb, group: c.group, resource: c.resource, name: configuration}
			if c.namespaced {
				p.scope = parts[0]
			}
			if c.resource == "secrets" {
				p.name = parts[1]
			}
			// RBAC cannot name the object of a create.
			if c.verb == "create" {
				p.name = "*"
			}
			want[p] = true
		}

		got := map[permission]bool{}
		sa := Str(deployment, "spec", "template", "spec", "serviceAccountName")
		roles := map[string]string{} // kind/name -> scope
		for _, role := range append(m.OfKind("Role"), m.OfKind("ClusterRole")...) {
			scope := Str(role, "metadata", "namespace")
			if role.Kind() == "Role" && scope != ns {
				t.Errorf("Role %s in namespace %q, want %q", role.Name(), scope, ns)
			}
			roles[role.Kind()+"/"+role.Name()] = scope
			for _, rule := range List(role, "rules") {
				for p := range rulePermissions(scope, rule) {
					got[p] = true
				}
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("RBAC grants\n  %s\nthe server calls\n  %s", strings.Join(sortedStrings(got), "\n  "),
				strings.Join(sortedStrings(want), "\n  "))
		}
		// Each role is bound to the pod's service account, and only to it.
		bound := map[string]bool{}
		for _, binding := range append(m.OfKind("RoleBinding"), m.OfKind("ClusterRoleBinding")...) {
			ref := Str(binding, "roleRef", "kind") + "/" + Str(binding, "roleRef", "name")
			if _, ok := roles[ref]; !ok {
				t.Errorf("%s %s binds %s, which is not rendered", binding.Kind(), binding.Name(), ref)
			}
			if (binding.Kind() == "RoleBinding") != strings.HasPrefix(ref, "Role/") {
				t.Errorf("%s %s binds a %s", binding.Kind(), binding.Name(), ref)
			}
			subjects := List(binding, "subjects")
			if len(subjects) != 1 || Str(subjects[0], "kind") != "ServiceAccount" ||
				Str(subjects[0], "name") != sa || Str(subjects[0], "namespace") != ns {
				t.Errorf("%s %s subjects %v, want the ServiceAccount %s/%s", binding.Kind(), binding.Name(), subjects, ns, sa)
			}
			bound[ref] = true
		}
		if len(bound) != len(roles) {
			t.Errorf("bound %v of roles %v", bound, roles)
		}
	}
}

func TestOtherModesHaveNoRBACAndNoToken(t *testing.T) {
	for _, mode := range []string{"builtin", "certManager"} {
		m, _ := render(t, RenderOptions{Values: map[string]interface{}{"certificates": map[string]interface{}{"mode": mode}}})
		for _, k := range []string{"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"} {
			if n := len(m.OfKind(k)); n != 0 {
				t.Errorf("mode %s renders %d %s", mode, n, k)
			}
		}
		if Get(one(t, m, "Deployment"), "spec", "template", "spec", "automountServiceAccountToken") != false {
			t.Errorf("mode %s mounts the service account token", mode)
		}
	}
}

func TestSelfModeNeedsAServiceAccountToBind(t *testing.T) {
	_, err := Render(RenderOptions{ReleaseName: release, Namespace: namespace, Values: map[string]interface{}{
		"certificates":   map[string]interface{}{"mode": "self"},
		"serviceAccount": map[string]interface{}{"create": false},
	}})
	if err == nil || !strings.Contains(err.Error(), "serviceAccount") {
		t.Errorf("self mode without a ServiceAccount: %v", err)
	}
}

func TestReadmeShowsArgoCDIgnoreDifferences(t *testing.T) {
	readme := sourceFile(t, "charts/asm-egress-webhook/README.md")
	for _, want := range []string{"ignoreDifferences", "/webhooks/0/clientConfig/caBundle", "certificates.mode=self"} {
		if !strings.Contains(readme, want) {
			t.Errorf("the chart README does not show %q", want)
		}
	}
}
