package charttest

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// SchemaViolation is one way an object breaks a CRD's OpenAPI v3 schema,
// named by its field path as the API server would name it.
type SchemaViolation struct {
	Field  string
	Detail string
}

func (v SchemaViolation) String() string { return v.Field + ": " + v.Detail }

// ValidateAgainstSchema checks obj with the subset of OpenAPI v3 that the
// CRD uses: type, required, enum, properties, additionalProperties,
// items, minItems/maxItems, minimum/maximum, minLength/maxLength. Fields the
// schema does not declare are reported (the API server would prune them
// silently, which for a policy means losing configuration).
func ValidateAgainstSchema(schema map[string]interface{}, obj interface{}) []SchemaViolation {
	var out []SchemaViolation
	walkSchema(schema, obj, "", &out)
	return out
}

func join(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

func walkSchema(s map[string]interface{}, v interface{}, path string, out *[]SchemaViolation) {
	add := func(format string, args ...interface{}) {
		*out = append(*out, SchemaViolation{Field: path, Detail: fmt.Sprintf(format, args...)})
	}
	if v == nil {
		if Get(s, "nullable") != true {
			add("must not be null")
		}
		return
	}
	if enum := List(s, "enum"); enum != nil {
		found := false
		for _, e := range enum {
			if e == v {
				found = true
			}
		}
		if !found {
			add("Unsupported value: %v", v)
		}
	}
	switch Str(s, "type") {
	case "object":
		m, ok := v.(map[string]interface{})
		if !ok {
			add("must be an object")
			return
		}
		for _, r := range Strings(s, "required") {
			if _, ok := m[r]; !ok {
				*out = append(*out, SchemaViolation{Field: join(path, r), Detail: "Required value"})
			}
		}
		props := Map(s, "properties")
		addl := Map(s, "additionalProperties")
		preserve := Get(s, "x-kubernetes-preserve-unknown-fields") == true
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps := Map(props, k); ps != nil {
				walkSchema(ps, m[k], join(path, k), out)
			} else if addl != nil {
				walkSchema(addl, m[k], join(path, k), out)
			} else if !preserve && !(path == "metadata" || strings.HasSuffix(path, ".metadata")) {
				*out = append(*out, SchemaViolation{Field: join(path, k), Detail: "unknown field (would be pruned)"})
			}
		}
	case "array":
		l, ok := v.([]interface{})
		if !ok {
			add("must be an array")
			return
		}
		if min := Num(s, "minItems"); min >= 0 && float64(len(l)) < min {
			add("must have at least %v items", min)
		}
		if max := Num(s, "maxItems"); max >= 0 && float64(len(l)) > max {
			add("must have at most %v items", max)
		}
		items := Map(s, "items")
		for i, x := range l {
			walkSchema(items, x, fmt.Sprintf("%s[%d]", path, i), out)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			add("must be a string")
			return
		}
		if min := Num(s, "minLength"); min >= 0 && float64(len(str)) < min {
			add("may not be shorter than %v", min)
		}
		if max := Num(s, "maxLength"); max >= 0 && float64(len(str)) > max {
			add("may not be longer than %v", max)
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) {
			add("must be an integer")
			return
		}
		if min, ok := Get(s, "minimum").(float64); ok && f < min {
			add("should be greater than or equal to %v", min)
		}
		if max, ok := Get(s, "maximum").(float64); ok && f > max {
			add("should be less than or equal to %v", max)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			add("must be a boolean")
		}
	default:
		add("schema node without a type")
	}
}

// StructuralProblems reports what would make the API server refuse the
// schema as non-structural, and properties a user would meet in
// `kubectl explain` without a description.
func StructuralProblems(s map[string]interface{}, path string) []string {
	var out []string
	t := Str(s, "type")
	if t == "" && Get(s, "x-kubernetes-int-or-string") != true && Get(s, "x-kubernetes-preserve-unknown-fields") != true {
		out = append(out, path+": no type")
	}
	if Get(s, "additionalProperties") != nil && Get(s, "properties") != nil {
		out = append(out, path+": both properties and additionalProperties")
	}
	if t == "array" && Map(s, "items") == nil {
		out = append(out, path+": array without items")
	}
	for k, v := range Map(s, "properties") {
		child := Map(v)
		p := join(path, k)
		// apiVersion, kind and metadata are explained by Kubernetes itself.
		if Str(child, "description") == "" && path != "" {
			out = append(out, p+": no description")
		}
		out = append(out, StructuralProblems(child, p)...)
	}
	if items := Map(s, "items"); items != nil {
		out = append(out, StructuralProblems(items, path+"[]")...)
	}
	if addl := Map(s, "additionalProperties"); addl != nil {
		out = append(out, StructuralProblems(addl, path+"{}")...)
	}
	return out
}
