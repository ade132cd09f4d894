package charttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func crdSchema(t *testing.T) map[string]interface{} {
	t.Helper()
	m, _ := render(t, RenderOptions{})
	crd := one(t, m, "CustomResourceDefinition")
	s := Map(crd, "spec", "versions", 0, "schema", "openAPIV3Schema")
	if s == nil {
		t.Fatal("CRD has no openAPIV3Schema")
	}
	return s
}

func testdataDir() string {
	if d := os.Getenv("ASM_EGRESS_TESTDATA_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "testdata")
}

func loadSeeds(t *testing.T) map[string]map[string]interface{} {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testdataDir(), "seed-*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed examples in %s (%v)", testdataDir(), err)
	}
	out := map[string]map[string]interface{}{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]interface{}
		if err := yaml.Unmarshal(data, &obj); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = obj
	}
	return out
}

func TestSchemaIsStructuralAndDescribed(t *testing.T) {
	s := crdSchema(t)
	if problems := StructuralProblems(s, ""); len(problems) != 0 {
		t.Errorf("schema problems:\n%s", strings.Join(problems, "\n"))
	}
}

func TestSeedExamplesPassTheSchema(t *testing.T) {
	s := crdSchema(t)
	for name, obj := range loadSeeds(t) {
		if v := ValidateAgainstSchema(s, obj); len(v) != 0 {
			t.Errorf("%s is refused by the CRD schema: %v", name, v)
		}
	}
}

func clone(t *testing.T, v map[string]interface{}) map[string]interface{} {
	t.Helper()
	data, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]interface{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSchemaRefusesWhatTheFieldReferenceForbids(t *testing.T) {
	s := crdSchema(t)
	seed := loadSeeds(t)["seed-https-upgrade.yaml"]
	if seed == nil {
		t.Fatal("seed-https-upgrade.yaml missing")
	}
	to0 := func(o map[string]interface{}) map[string]interface{} {
		return Map(o, "spec", "egressRules", 0, "to", 0)
	}
	hosts := func(n int) []interface{} {
		var l []interface{}
		for i := 0; i < n; i++ {
			l = append(l, "h"+strings.Repeat("x", i%5)+".example.com")
		}
		return l
	}
	cases := []struct {
		name  string
		field string
		edit  func(o map[string]interface{})
	}{
		{"no spec", "spec", func(o map[string]interface{}) { delete(o, "spec") }},
		{"no gateway", "spec.byEgressGateway", func(o map[string]interface{}) { delete(Map(o, "spec"), "byEgressGateway") }},
		{"no gateway name", "spec.byEgressGateway.name", func(o map[string]interface{}) { delete(Map(o, "spec", "byEgressGateway"), "name") }},
		{"gateway name of 33", "spec.byEgressGateway.name", func(o map[string]interface{}) {
			Map(o, "spec", "byEgressGateway")["name"] = strings.Repeat("g", 33)
		}},
		{"no egressRules", "spec.egressRules", func(o map[string]interface{}) { delete(Map(o, "spec"), "egressRules") }},
		{"empty egressRules", "spec.egressRules", func(o map[string]interface{}) { Map(o, "spec")["egressRules"] = []interface{}{} }},
		{"empty from", "spec.egressRules[0].from", func(o map[string]interface{}) { Map(o, "spec", "egressRules", 0)["from"] = []interface{}{} }},
		{"no from", "spec.egressRules[0].from", func(o map[string]interface{}) { delete(Map(o, "spec", "egressRules", 0), "from") }},
		{"empty to", "spec.egressRules[0].to", func(o map[string]interface{}) { Map(o, "spec", "egressRules", 0)["to"] = []interface{}{} }},
		{"from without namespace", "spec.egressRules[0].from[0].namespace", func(o map[string]interface{}) {
			delete(Map(o, "spec", "egressRules", 0, "from", 0), "namespace")
		}},
		{"selector value not a string", "spec.egressRules[0].from[0].workloadSelector.app", func(o map[string]interface{}) {
			Map(o, "spec", "egressRules", 0, "from", 0, "workloadSelector")["app"] = float64(3)
		}},
		{"to without name", "spec.egressRules[0].to[0].name", func(o map[string]interface{}) { delete(to0(o), "name") }},
		{"to without hosts", "spec.egressRules[0].to[0].hosts", func(o map[string]interface{}) { delete(to0(o), "hosts") }},
		{"no hosts", "spec.egressRules[0].to[0].hosts", func(o map[string]interface{}) { to0(o)["hosts"] = []interface{}{} }},
		{"51 hosts", "spec.egressRules[0].to[0].hosts", func(o map[string]interface{}) { to0(o)["hosts"] = hosts(51) }},
		{"to without port", "spec.egressRules[0].to[0].port", func(o map[string]interface{}) { delete(to0(o), "port") }},
		{"port without number", "spec.egressRules[0].to[0].port.number", func(o map[string]interface{}) { delete(Map(to0(o), "port"), "number") }},
		{"port without name", "spec.egressRules[0].to[0].port.name", func(o map[string]interface{}) { delete(Map(to0(o), "port"), "name") }},
		{"port without protocol", "spec.egressRules[0].to[0].port.protocol", func(o map[string]interface{}) { delete(Map(to0(o), "port"), "protocol") }},
		{"port 65536", "spec.egressRules[0].to[0].port.number", func(o map[string]interface{}) { Map(to0(o), "port")["number"] = float64(65536) }},
		{"port 0", "spec.egressRules[0].to[0].port.number", func(o map[string]interface{}) { Map(to0(o), "port")["number"] = float64(0) }},
		{"port as string", "spec.egressRules[0].to[0].port.number", func(o map[string]interface{}) { Map(to0(o), "port")["number"] = "80" }},
		{"protocol UDP", "spec.egressRules[0].to[0].port.protocol", func(o map[string]interface{}) { Map(to0(o), "port")["protocol"] = "UDP" }},
		{"protocol lower case", "spec.egressRules[0].to[0].port.protocol", func(o map[string]interface{}) { Map(to0(o), "port")["protocol"] = "http" }},
		{"gateway port 65536", "spec.egressRules[0].to[0].byEgressGateway.port", func(o map[string]interface{}) {
			Map(to0(o), "byEgressGateway")["port"] = float64(65536)
		}},
		{"httpsUpgrade without enabled", "spec.egressRules[0].to[0].httpsUpgrade.enabled", func(o map[string]interface{}) {
			delete(Map(to0(o), "httpsUpgrade"), "enabled")
		}},
		{"httpsUpgrade enabled as string", "spec.egressRules[0].to[0].httpsUpgrade.enabled", func(o map[string]interface{}) {
			Map(to0(o), "httpsUpgrade")["enabled"] = "true"
		}},
		{"httpsUpgrade port 70000", "spec.egressRules[0].to[0].httpsUpgrade.port", func(o map[string]interface{}) {
			Map(to0(o), "httpsUpgrade")["port"] = float64(70000)
		}},
		{"unknown field", "spec.egressRules[0].to[0].tls", func(o map[string]interface{}) { to0(o)["tls"] = true }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := clone(t, seed)
			c.edit(o)
			v := ValidateAgainstSchema(s, o)
			found := false
			for _, x := range v {
				if x.Field == c.field {
					found = true
				}
			}
			if !found {
				t.Errorf("no violation at %s; got %v", c.field, v)
			}
		})
	}
	// The limits themselves are admitted: 50 hosts, port 65535, a 32-character name.
	o := clone(t, seed)
	to0(o)["hosts"] = hosts(50)
	Map(to0(o), "port")["number"] = float64(65535)
	Map(o, "spec", "byEgressGateway")["name"] = strings.Repeat("g", 32)
	if v := ValidateAgainstSchema(s, o); len(v) != 0 {
		t.Errorf("values at the limits refused: %v", v)
	}
}

// The README's examples: the accepted one and the denied one both pass the
// CRD schema, so what the README shows being denied is denied by the
// webhook (the schema runs first and would otherwise answer instead).
func TestReadmeExamplesPassTheSchema(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(ChartDir(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := crdSchema(t)
	found := 0
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "cat > ") || !strings.HasSuffix(lines[i], "<<'EOF'") {
			continue
		}
		var doc []string
		for i++; i < len(lines) && lines[i] != "EOF"; i++ {
			doc = append(doc, lines[i])
		}
		var obj map[string]interface{}
		if err := yaml.Unmarshal([]byte(strings.Join(doc, "\n")), &obj); err != nil {
			t.Fatalf("README example %d: %v", found, err)
		}
		found++
		if v := ValidateAgainstSchema(s, obj); len(v) != 0 {
			t.Errorf("README example %q is refused by the schema: %v", Str(obj, "metadata", "name"), v)
		}
	}
	if found < 2 {
		t.Errorf("found %d README examples, want the accepted and the denied one", found)
	}
}
