package terraform_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/terraform-config-inspect/tfconfig"
	"github.com/zclconf/go-cty/cty"
)

// Helpers shared by the tests of this package: reading Terraform modules
// without Terraform, and running Terraform when it is there.

// Module directories, relative to this package (deploy/terraform).
const (
	rootDir       = "."
	edgeConfigDir = "modules/edge-config"
	edgeRegionDir = "modules/edge-region"
)

// tfModule is one module directory read twice: by terraform-config-inspect
// for its declared interface (variables, module calls, providers, resources)
// and by hclsyntax for what that interface leaves out (the arguments of
// module calls and resources, locals).
type tfModule struct {
	dir    string
	meta   *tfconfig.Module
	blocks []*hclsyntax.Block
}

func loadModule(t *testing.T, dir string) *tfModule {
	t.Helper()
	meta, diags := tfconfig.LoadModule(dir)
	if diags.HasErrors() {
		t.Fatalf("terraform-config-inspect %s: %v", dir, diags.Err())
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .tf files in %s (err %v)", dir, err)
	}
	m := &tfModule{dir: dir, meta: meta}
	parser := hclparse.NewParser()
	for _, path := range files {
		file, diags := parser.ParseHCLFile(path)
		if diags.HasErrors() {
			t.Fatalf("parse %s: %v", path, diags.Error())
		}
		m.blocks = append(m.blocks, file.Body.(*hclsyntax.Body).Blocks...)
	}
	return m
}

// find returns the top-level blocks of a type whose labels start with the
// given ones: find("resource", "aws_instance") is every aws_instance.
func (m *tfModule) find(typ string, labels ...string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range m.blocks {
		if b.Type == typ && len(b.Labels) >= len(labels) && slices.Equal(b.Labels[:len(labels)], labels) {
			out = append(out, b)
		}
	}
	return out
}

// one returns the single block with exactly these labels.
func (m *tfModule) one(t *testing.T, typ string, labels ...string) *hclsyntax.Block {
	t.Helper()
	found := m.find(typ, labels...)
	if len(found) != 1 {
		t.Fatalf("%s: want exactly one %s %q block, found %d", m.dir, typ, labels, len(found))
	}
	return found[0]
}

// local returns the expression of a local value.
func (m *tfModule) local(t *testing.T, name string) hclsyntax.Expression {
	t.Helper()
	for _, b := range m.find("locals") {
		if a, ok := b.Body.Attributes[name]; ok {
			return a.Expr
		}
	}
	t.Fatalf("%s: no local %q", m.dir, name)
	return nil
}

// attr returns a block attribute's expression, or nil.
func attr(b *hclsyntax.Block, name string) hclsyntax.Expression {
	if a, ok := b.Body.Attributes[name]; ok {
		return a.Expr
	}
	return nil
}

// blockName renders a block as Terraform addresses it: aws_instance.node.
func blockName(b *hclsyntax.Block) string {
	name := strings.Join(b.Labels, ".")
	if b.Type == "data" || b.Type == "module" {
		name = b.Type + "." + name
	}
	return name
}

// traversals renders every reference in an expression as a dotted path with
// indexes in brackets, e.g. "module.config.ports.http" or "each.value".
func traversals(expr hclsyntax.Expression) []string {
	var out []string
	for _, tr := range expr.Variables() {
		var sb strings.Builder
		for i, step := range tr {
			switch s := step.(type) {
			case hcl.TraverseRoot:
				sb.WriteString(s.Name)
			case hcl.TraverseAttr:
				sb.WriteString("." + s.Name)
			case hcl.TraverseIndex:
				if s.Key.Type() == cty.String {
					sb.WriteString("[" + s.Key.AsString() + "]")
				} else {
					sb.WriteString("[*]")
				}
			default:
				if i > 0 {
					sb.WriteString("[*]")
				}
			}
		}
		out = append(out, sb.String())
	}
	return out
}

// eval evaluates an expression statically. vars gives values for `var.NAME`
// (every other declared variable is unknown); each, when not null, is the
// `each` object of a for_each block. Every other reference (local, resources,
// modules) evaluates to unknown, so the result is known only when the
// expression depends on nothing but the values given.
func (m *tfModule) eval(expr hclsyntax.Expression, vars map[string]cty.Value, each cty.Value) (cty.Value, hcl.Diagnostics) {
	varAttrs := make(map[string]cty.Value, len(m.meta.Variables))
	for name := range m.meta.Variables {
		varAttrs[name] = cty.DynamicVal
	}
	for name, v := range vars {
		varAttrs[name] = v
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"var": cty.ObjectVal(varAttrs),
	}}
	if !each.IsNull() {
		ctx.Variables["each"] = each
	}
	for _, tr := range expr.Variables() {
		if _, ok := ctx.Variables[tr.RootName()]; !ok {
			ctx.Variables[tr.RootName()] = cty.DynamicVal
		}
	}
	return expr.Value(ctx)
}

// terraformPath finds the terraform binary. Without one the tests that run
// Terraform skip, unless RELAYMESH_TERRAFORM=1 (CI sets it): then a missing
// terraform is a failure, so CI cannot pass by skipping.
func terraformPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("terraform")
	if err == nil {
		return path
	}
	if os.Getenv("RELAYMESH_TERRAFORM") == "1" {
		t.Fatalf("RELAYMESH_TERRAFORM=1 but terraform is not on PATH: %v", err)
	}
	t.Skip("terraform is not on PATH (set RELAYMESH_TERRAFORM=1 to make this a failure)")
	return ""
}

// terraformEnv is the environment Terraform runs in here: no prompts, no
// update check, no user CLI config (plugin mirrors and credentials are not
// needed by a provider-free module), and its working data under dataDir.
func terraformEnv(dataDir string) ([]string, error) {
	cliConfig := filepath.Join(dataDir, "terraformrc")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cliConfig, nil, 0o644); err != nil {
		return nil, err
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "TF_")
	})
	return append(env,
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		"CHECKPOINT_DISABLE=1",
		"TF_CLI_CONFIG_FILE="+cliConfig,
		"TF_DATA_DIR="+filepath.Join(dataDir, "data"),
	), nil
}

// copyModule copies the .tf files and templates of a module (not its tests or
// any working files) into dst.
func copyModule(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rel != "." && (rel == "tests" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if strings.HasPrefix(d.Name(), ".") || strings.Contains(d.Name(), ".tfstate") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
}
