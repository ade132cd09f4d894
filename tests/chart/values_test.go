package charttest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var keyLine = regexp.MustCompile(`^( *)([A-Za-z0-9_.-]+):(.*)$`)

// TestEveryValueIsDocumented requires a comment directly above every key of
// values.yaml, or a "# --" comment (one that documents a value, not a
// section heading) above one of its parents: a documented map documents the
// defaults inside it, such as the securityContext fields.
func TestEveryValueIsDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(ChartDir(), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type frame struct {
		indent     int
		documented bool
	}
	var stack []frame
	prevComment, prevValueDoc := false, false
	checked := 0
	for n, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			if !prevComment {
				prevValueDoc = strings.HasPrefix(trimmed, "# --")
			}
			prevComment = true
			continue
		}
		if trimmed == "" {
			prevComment, prevValueDoc = false, false
			continue
		}
		m := keyLine.FindStringSubmatch(line)
		if m == nil { // list items and continuation lines
			prevComment, prevValueDoc = false, false
			continue
		}
		indent := len(m[1])
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		parentDocumented := false
		for _, f := range stack {
			parentDocumented = parentDocumented || f.documented
		}
		documented := prevComment || parentDocumented
		isLeaf := strings.TrimSpace(m[3]) != ""
		if isLeaf {
			checked++
			if !documented {
				t.Errorf("values.yaml:%d: %s has no comment", n+1, strings.TrimSpace(line))
			}
		}
		stack = append(stack, frame{indent: indent, documented: prevValueDoc || parentDocumented})
		prevComment, prevValueDoc = false, false
	}
	if checked < 30 {
		t.Errorf("only %d values found; is values.yaml parsed right?", checked)
	}
}
