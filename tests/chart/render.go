// Package charttest renders the Helm chart the way Helm does and checks the
// manifests it produces.
//
// Helm is not packaged for Debian, so Render stands in for `helm template`:
// Go's text/template with the sprig function library (the engine Helm is
// built on) plus Helm's own functions (include, tpl, required, toYaml,
// fromYaml, toJson, fromJson, fromJsonArray, lookup) and the built-in
// objects .Values, .Release, .Chart, .Capabilities and .Template. When a real
// `helm` binary is on PATH, Render runs `helm template` instead.
package charttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/semver"
	"github.com/Masterminds/sprig"
	"sigs.k8s.io/yaml"
)

// RenderOptions are what `helm template`/`helm install` would be given.
type RenderOptions struct {
	ReleaseName string
	Namespace   string
	// Values override the chart's values.yaml (deep-merged, like -f).
	Values map[string]interface{}
	// Existing objects returned by `lookup`, keyed "apiVersion/Kind/namespace/name".
	// Only the built-in engine can use them: helm template never sees a cluster.
	Existing  map[string]map[string]interface{}
	IsUpgrade bool
	// Optional API groups the cluster serves (nil: cert-manager and the
	// Prometheus Operator both present).
	ExtraAPIVersions []string
}

var defaultExtraAPIVersions = []string{"cert-manager.io/v1", "monitoring.coreos.com/v1"}

// Rendered is the output of one render.
type Rendered struct {
	Manifests string // every template's output, "---"-separated
	Notes     string // NOTES.txt (empty when rendered by the real helm)
	Engine    string // "helm" or "text/template+sprig"
}

// KubeVersion mirrors Helm's .Capabilities.KubeVersion.
type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

func (k KubeVersion) String() string { return k.Version }

// VersionSet mirrors Helm's .Capabilities.APIVersions.
type VersionSet []string

// Has tells whether an API group/version (or group/version/Kind) is served.
func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

// Capabilities mirrors Helm's .Capabilities.
type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
}

// ChartMeta mirrors the fields of Helm's .Chart the templates may use.
type ChartMeta struct {
	APIVersion  string `json:"apiVersion"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	AppVersion  string `json:"appVersion"`
	KubeVersion string `json:"kubeVersion"`
	Description string `json:"description"`
	Type        string `json:"type"`
}

const testKubeVersion = "v1.28.0"

// ChartDir is the chart under test, relative to this package.
func ChartDir() string {
	if d := os.Getenv("ASM_EGRESS_CHART_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "charts", "asm-egress-webhook")
}

// HelmOnPath reports whether a real helm binary will be used.
func HelmOnPath() bool {
	if os.Getenv("ASM_EGRESS_CHART_ENGINE") == "builtin" {
		return false
	}
	_, err := exec.LookPath("helm")
	return err == nil
}

// Render renders the chart with opts.
func Render(opts RenderOptions) (*Rendered, error) {
	if opts.ReleaseName == "" {
		opts.ReleaseName = "egress"
	}
	if opts.Namespace == "" {
		opts.Namespace = "asm-egress-webhook"
	}
	if opts.ExtraAPIVersions == nil {
		opts.ExtraAPIVersions = defaultExtraAPIVersions
	}
	if HelmOnPath() && len(opts.Existing) == 0 && !opts.IsUpgrade {
		return renderWithHelm(opts)
	}
	return renderBuiltin(opts)
}

func renderWithHelm(opts RenderOptions) (*Rendered, error) {
	dir, err := os.MkdirTemp("", "chart-values-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	valuesFile := filepath.Join(dir, "values.yaml")
	data, err := yaml.Marshal(opts.Values)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(valuesFile, data, 0o600); err != nil {
		return nil, err
	}
	args := []string{"template", opts.ReleaseName, ChartDir(),
		"--namespace", opts.Namespace, "--kube-version", testKubeVersion, "-f", valuesFile}
	for _, v := range opts.ExtraAPIVersions {
		args = append(args, "--api-versions", v)
	}
	cmd := exec.Command("helm", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm template: %v: %s", err, stderr.String())
	}
	return &Rendered{Manifests: stdout.String(), Engine: "helm"}, nil
}

func readYAMLFile(path string, out interface{}) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return yaml.Unmarshal(data, out)
}

// mergeValues deep-merges src into dst the way Helm coalesces user values
// over a chart's defaults: maps merge, everything else replaces.
func mergeValues(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				dst[k] = mergeValues(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

// normalise turns Go values built by tests into what YAML parsing gives
// (maps of interface{}, float64 numbers), as Helm sees values.
func normalise(v map[string]interface{}) (map[string]interface{}, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	err = json.Unmarshal(data, &out)
	return out, err
}

func renderBuiltin(opts RenderOptions) (*Rendered, error) {
	chartDir := ChartDir()
	var meta ChartMeta
	if err := readYAMLFile(filepath.Join(chartDir, "Chart.yaml"), &meta); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %w", err)
	}
	if meta.APIVersion != "v2" {
		return nil, fmt.Errorf("Chart.yaml apiVersion %q, want v2", meta.APIVersion)
	}
	if meta.KubeVersion != "" {
		c, err := semver.NewConstraint(meta.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("Chart.yaml kubeVersion: %w", err)
		}
		if !c.Check(semver.MustParse(testKubeVersion)) {
			return nil, fmt.Errorf("chart requires kubeVersion %s, which %s does not meet", meta.KubeVersion, testKubeVersion)
		}
	}
	values := map[string]interface{}{}
	if err := readYAMLFile(filepath.Join(chartDir, "values.yaml"), &values); err != nil {
		return nil, fmt.Errorf("values.yaml: %w", err)
	}
	overrides, err := normalise(opts.Values)
	if err != nil {
		return nil, err
	}
	values = mergeValues(values, overrides)

	root := template.New("gotpl")
	// Helm renders missing keys as empty, not "<no value>".
	root.Option("missingkey=zero")
	funcs := helmFuncMap(root, opts)
	root.Funcs(funcs)

	files, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := meta.Name + "/templates/" + filepath.Base(f)
		if _, err := root.New(name).Parse(string(data)); err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		names = append(names, name)
	}

	release := map[string]interface{}{
		"Name":      opts.ReleaseName,
		"Namespace": opts.Namespace,
		"Service":   "Helm",
		"IsInstall": !opts.IsUpgrade,
		"IsUpgrade": opts.IsUpgrade,
		"Revision":  1,
	}
	if opts.IsUpgrade {
		release["Revision"] = 2
	}
	caps := Capabilities{
		KubeVersion: KubeVersion{Version: testKubeVersion, Major: "1", Minor: "28"},
		APIVersions: append(VersionSet{"v1", "apps/v1", "policy/v1", "admissionregistration.k8s.io/v1",
			"apiextensions.k8s.io/v1", "networking.k8s.io/v1"}, opts.ExtraAPIVersions...),
	}
	out := &Rendered{Engine: "text/template+sprig"}
	var manifests strings.Builder
	for _, name := range names {
		base := filepath.Base(name)
		if strings.HasPrefix(base, "_") {
			continue
		}
		data := map[string]interface{}{
			"Values":       values,
			"Release":      release,
			"Chart":        meta,
			"Capabilities": caps,
			"Template":     map[string]interface{}{"Name": name, "BasePath": meta.Name + "/templates"},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return nil, fmt.Errorf("render %s: %w", name, err)
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if base == "NOTES.txt" {
			out.Notes = text
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(&manifests, "---\n# Source: %s\n%s\n", name, text)
	}
	out.Manifests = manifests.String()
	return out, nil
}

func helmFuncMap(root *template.Template, opts RenderOptions) template.FuncMap {
	f := sprig.TxtFuncMap()
	// Helm removes these: a chart must not read the renderer's environment.
	delete(f, "env")
	delete(f, "expandenv")

	f["toYaml"] = func(v interface{}) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	}
	f["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["fromYamlArray"] = func(s string) []interface{} {
		var a []interface{}
		if err := yaml.Unmarshal([]byte(s), &a); err != nil {
			return []interface{}{err.Error()}
		}
		return a
	}
	f["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	f["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["fromJsonArray"] = func(s string) []interface{} {
		var a []interface{}
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			return []interface{}{err.Error()}
		}
		return a
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	f["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	// lookup: Helm returns an empty map when the object does not exist (and
	// always during `helm template`); tests supply existing objects.
	f["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		key := strings.Join([]string{apiVersion, kind, namespace, name}, "/")
		if obj, ok := opts.Existing[key]; ok {
			return normalise(obj)
		}
		return map[string]interface{}{}, nil
	}
	return f
}
