package charttest

import (
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// Object is one parsed Kubernetes manifest.
type Object map[string]interface{}

// Kind returns the object's kind.
func (o Object) Kind() string { s, _ := o["kind"].(string); return s }

// Name returns metadata.name.
func (o Object) Name() string { return Str(o, "metadata", "name") }

// Manifests is every document of one render.
type Manifests []Object

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// Parse splits a multi-document YAML stream and parses every document; each
// must be valid YAML with apiVersion, kind and metadata.name.
func Parse(stream string) (Manifests, error) {
	var out Manifests
	for i, doc := range docSeparator.Split(stream, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var obj Object
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("document %d: %w\n%s", i, err, doc)
		}
		if obj == nil {
			continue
		}
		if obj.Kind() == "" || Str(obj, "apiVersion") == "" || obj.Name() == "" {
			return nil, fmt.Errorf("document %d lacks apiVersion, kind or metadata.name:\n%s", i, doc)
		}
		out = append(out, obj)
	}
	return out, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// OfKind returns every object of a kind.
func (m Manifests) OfKind(kind string) []Object {
	var out []Object
	for _, o := range m {
		if o.Kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// One returns the only object of a kind, or an error when there is not exactly one.
func (m Manifests) One(kind string) (Object, error) {
	objs := m.OfKind(kind)
	if len(objs) != 1 {
		return nil, fmt.Errorf("want exactly one %s, got %d", kind, len(objs))
	}
	return objs[0], nil
}

// Get walks maps by key and lists by integer index.
func Get(v interface{}, path ...interface{}) interface{} {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := asMap(v)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]interface{})
			if !ok || k < 0 || k >= len(l) {
				return nil
			}
			v = l[k]
		default:
			return nil
		}
	}
	return v
}

func asMap(v interface{}) (map[string]interface{}, bool) {
	switch m := v.(type) {
	case map[string]interface{}:
		return m, true
	case Object:
		return m, true
	}
	return nil, false
}

// Str returns the string at path, or "".
func Str(v interface{}, path ...interface{}) string {
	s, _ := Get(v, path...).(string)
	return s
}

// Num returns the number at path, or -1.
func Num(v interface{}, path ...interface{}) float64 {
	if f, ok := Get(v, path...).(float64); ok {
		return f
	}
	return -1
}

// Map returns the map at path, or nil.
func Map(v interface{}, path ...interface{}) map[string]interface{} {
	m, _ := asMap(Get(v, path...))
	return m
}

// List returns the list at path, or nil.
func List(v interface{}, path ...interface{}) []interface{} {
	l, _ := Get(v, path...).([]interface{})
	return l
}

// Strings returns the list of strings at path.
func Strings(v interface{}, path ...interface{}) []string {
	var out []string
	for _, x := range List(v, path...) {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// SelectorMatches evaluates a Kubernetes LabelSelector (matchLabels and
// matchExpressions with In, NotIn, Exists, DoesNotExist) against labels, as
// the API server does for a webhook's namespaceSelector. A nil or empty
// selector matches everything.
func SelectorMatches(selector map[string]interface{}, labels map[string]string) (bool, error) {
	for k, v := range Map(selector, "matchLabels") {
		s, _ := v.(string)
		if got, ok := labels[k]; !ok || got != s {
			return false, nil
		}
	}
	for _, e := range List(selector, "matchExpressions") {
		key := Str(e, "key")
		values := Strings(e, "values")
		got, has := labels[key]
		switch Str(e, "operator") {
		case "In":
			if !has || !contains(values, got) {
				return false, nil
			}
		case "NotIn":
			if has && contains(values, got) {
				return false, nil
			}
		case "Exists":
			if !has {
				return false, nil
			}
		case "DoesNotExist":
			if has {
				return false, nil
			}
		default:
			return false, fmt.Errorf("unknown selector operator %q", Str(e, "operator"))
		}
	}
	return true, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
