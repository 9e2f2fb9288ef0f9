package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// TestFieldDocs holds types.go to the memberlist standard: every field of
// every section has a doc comment, and the comment states the default (or
// that the field is required).
func TestFieldDocs(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "types.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		ts, ok := node.(*ast.TypeSpec)
		if !ok || ts.Name.Name == "Config" {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return true
		}
		for _, field := range st.Fields.List {
			for _, name := range field.Names {
				n++
				doc := strings.ToLower(field.Doc.Text())
				if !strings.Contains(doc, "default") && !strings.Contains(doc, "required") {
					t.Errorf("%s.%s: doc comment does not state its default", ts.Name.Name, name.Name)
				}
			}
		}
		return false
	})
	if n < 30 {
		t.Errorf("found only %d documented fields; did types.go change shape?", n)
	}
}
