package terraform_test

import (
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/regions"
)

// CI check 3: structural tests of the AWS stack, read with
// terraform-config-inspect and hcl/v2. They need neither Terraform nor the
// AWS provider, so they run everywhere `go test` does. What they cannot see
// (provider schemas, API behaviour) is listed in README.md.

// worldCIDRs are the sources that mean "anyone on the internet".
var worldCIDRs = []string{"0.0.0.0/0", "::/0"}

// TestRegionMap: the root stack's region map (the default of var.regions)
// has the four regions, each in the AWS region its latency model was
// measured in, and is exactly the binary's region catalog.
func TestRegionMap(t *testing.T) {
	root := loadModule(t, rootDir)
	v, ok := root.meta.Variables["regions"]
	if !ok {
		t.Fatalf("root module has no variable \"regions\"")
	}
	defaults, ok := v.Default.(map[string]any)
	if !ok {
		t.Fatalf("root variable regions has no map default: %#v", v.Default)
	}
	awsRegions := map[string]string{}
	for name, r := range defaults {
		entry, _ := r.(map[string]any)
		awsRegions[name], _ = entry["aws_region"].(string)
	}

	for _, want := range []struct{ name, awsRegion string }{
		{"seoul", "ap-northeast-2"},
		{"tokyo", "ap-northeast-1"},
		{"virginia", "us-east-1"},
		{"frankfurt", "eu-central-1"},
	} {
		t.Run(want.name, func(t *testing.T) {
			got, ok := awsRegions[want.name]
			if !ok {
				t.Fatalf("regions default has no %q entry (has %v)", want.name, sortedKeys(awsRegions))
			}
			if got != want.awsRegion {
				t.Errorf("regions.%s.aws_region = %q, want %q", want.name, got, want.awsRegion)
			}
		})
	}

	t.Run("equals the regions catalog", func(t *testing.T) {
		catalog := map[string]string{}
		for _, r := range regions.All() {
			catalog[r.Name] = r.Code
		}
		if !maps.Equal(awsRegions, catalog) {
			t.Errorf("regions default %v, the binary's catalog (regions.All) %v", awsRegions, catalog)
		}
	})

	t.Run("VPC ranges do not overlap", func(t *testing.T) {
		var seen []netip.Prefix
		for _, name := range sortedKeys(defaults) {
			entry, _ := defaults[name].(map[string]any)
			cidr, _ := entry["vpc_cidr"].(string)
			p, err := netip.ParsePrefix(cidr)
			if err != nil {
				t.Errorf("regions.%s.vpc_cidr = %q: %v", name, cidr, err)
				continue
			}
			for _, other := range seen {
				if p.Overlaps(other) {
					t.Errorf("regions.%s.vpc_cidr %s overlaps %s: the VPCs could never be peered", name, p, other)
				}
			}
			seen = append(seen, p)
		}
	})
}

// TestEdgeConfigKnowsCatalog: edge-config's region validation and its
// catalog local list the binary's regions, so Terraform rejects at plan what
// `relaymesh config check` would reject at boot.
func TestEdgeConfigKnowsCatalog(t *testing.T) {
	mod := loadModule(t, edgeConfigDir)

	catalog, diags := mod.eval(mod.local(t, "catalog"), nil, cty.NilVal)
	if diags.HasErrors() || !catalog.IsWhollyKnown() {
		t.Fatalf("local.catalog is not a literal map: %v", diags)
	}
	got := map[string]string{}
	for k, v := range catalog.AsValueMap() {
		got[k] = v.AsString()
	}
	want := map[string]string{}
	for _, r := range regions.All() {
		want[r.Name] = r.Code
	}
	if !maps.Equal(got, want) {
		t.Errorf("edge-config local.catalog = %v, want the regions catalog %v", got, want)
	}

	// Every list of string literals in the validations of var.regions is the
	// list of known region names.
	var lists [][]string
	for _, v := range mod.one(t, "variable", "regions").Body.Blocks {
		if v.Type != "validation" {
			continue
		}
		_ = hclsyntax.VisitAll(v.Body, func(n hclsyntax.Node) hcl.Diagnostics {
			if tuple, ok := n.(*hclsyntax.TupleConsExpr); ok {
				if names, ok := stringLiterals(tuple); ok {
					lists = append(lists, names)
				}
			}
			return nil
		})
	}
	if len(lists) == 0 {
		t.Fatalf("no list of region names in the validations of edge-config var.regions")
	}
	for _, names := range lists {
		if !slices.Equal(names, regions.Names()) {
			t.Errorf("edge-config var.regions validation accepts %v, the binary %v", names, regions.Names())
		}
	}
}

// TestModuleArgumentsAreDeclared: every argument of every module call is a
// variable of the called module, and every required variable is passed.
func TestModuleArgumentsAreDeclared(t *testing.T) {
	meta := []string{"source", "version", "count", "for_each", "providers", "depends_on"}
	dirs := []string{rootDir, edgeConfigDir, edgeRegionDir}
	calls := 0
	for _, dir := range dirs {
		caller := loadModule(t, dir)
		for _, call := range caller.find("module") {
			calls++
			name := filepath.Join(dir, blockName(call))
			t.Run(name, func(t *testing.T) {
				src, diags := caller.eval(attr(call, "source"), nil, cty.NilVal)
				if diags.HasErrors() || src.Type() != cty.String || !strings.HasPrefix(src.AsString(), "./") {
					t.Fatalf("source must be a local ./ path; got %#v", src)
				}
				callee := loadModule(t, filepath.Join(dir, src.AsString()))
				for arg := range call.Body.Attributes {
					if slices.Contains(meta, arg) {
						continue
					}
					if _, ok := callee.meta.Variables[arg]; !ok {
						t.Errorf("argument %q is not a variable of %s (variables: %v)", arg, callee.dir, sortedKeys(callee.meta.Variables))
					}
				}
				for v, decl := range callee.meta.Variables {
					if _, passed := call.Body.Attributes[v]; decl.Required && !passed {
						t.Errorf("required variable %q of %s is not passed", v, callee.dir)
					}
				}
				if len(call.Body.Blocks) > 0 {
					t.Errorf("module call has nested blocks (%s): module arguments are attributes", call.Body.Blocks[0].Type)
				}
			})
		}
	}
	if calls < 2 {
		t.Fatalf("found %d module calls; the root stack calls edge-config and edge-region", calls)
	}
}

// TestProviders: one aws provider configuration, in the root and without an
// alias (provider 6 per-resource regions serve every region); none in a
// child module; version constraints as documented; edge-config provider-free
// so CI can init, test and apply it offline.
func TestProviders(t *testing.T) {
	root := loadModule(t, rootDir)
	t.Run("root", func(t *testing.T) {
		providers := root.find("provider")
		if len(providers) != 1 || providers[0].Labels[0] != "aws" || attr(providers[0], "alias") != nil {
			t.Errorf("root must configure exactly one aws provider without alias; found %d provider blocks", len(providers))
		}
		checkConstraints(t, root, map[string]string{"aws": "~> 6.0"})
	})

	children, err := filepath.Glob("modules/*")
	if err != nil || len(children) < 2 {
		t.Fatalf("child modules: %v (err %v)", children, err)
	}
	for _, dir := range children {
		t.Run(dir, func(t *testing.T) {
			mod := loadModule(t, dir)
			for _, p := range mod.find("provider") {
				t.Errorf("%s: provider %q block in a child module; pass providers from the root", p.DefRange().String(), p.Labels[0])
			}
			if len(mod.meta.ProviderConfigs) > 0 {
				t.Errorf("terraform-config-inspect sees provider configurations: %v", sortedKeys(mod.meta.ProviderConfigs))
			}
			want := map[string]string{"aws": "~> 6.0"}
			if dir == edgeConfigDir {
				want = map[string]string{}
				if n := len(mod.meta.ManagedResources) + len(mod.meta.DataResources); n > 0 {
					t.Errorf("edge-config has %d resources or data sources; it must stay provider-free so CI can run it offline", n)
				}
			}
			checkConstraints(t, mod, want)
		})
	}
}

func checkConstraints(t *testing.T, mod *tfModule, providers map[string]string) {
	t.Helper()
	if !slices.Contains(mod.meta.RequiredCore, ">= 1.7") {
		t.Errorf("%s: required_version = %v, want \">= 1.7\"", mod.dir, mod.meta.RequiredCore)
	}
	if len(mod.meta.RequiredProviders) != len(providers) {
		t.Errorf("%s: required_providers %v, want %v", mod.dir, sortedKeys(mod.meta.RequiredProviders), sortedKeys(providers))
	}
	for name, constraint := range providers {
		req, ok := mod.meta.RequiredProviders[name]
		if !ok || req.Source != "hashicorp/"+name || !slices.Equal(req.VersionConstraints, []string{constraint}) {
			t.Errorf("%s: required provider %s = %+v, want hashicorp/%s %q", mod.dir, name, req, name, constraint)
		}
	}
}

// TestRegionalResourcesNameTheirRegion: with one provider for all regions, a
// regional resource without `region` silently lands in the home region. Every
// resource and data source of the stack sets it, except global services.
func TestRegionalResourcesNameTheirRegion(t *testing.T) {
	global := func(typ string) bool {
		return strings.HasPrefix(typ, "aws_iam_") ||
			strings.HasPrefix(typ, "aws_route53_") ||
			typ == "aws_partition" || typ == "aws_caller_identity"
	}
	for _, dir := range []string{rootDir, edgeRegionDir} {
		mod := loadModule(t, dir)
		for _, b := range append(mod.find("resource"), mod.find("data")...) {
			if global(b.Labels[0]) {
				continue
			}
			t.Run(filepath.Join(dir, blockName(b)), func(t *testing.T) {
				region := attr(b, "region")
				if region == nil {
					t.Fatalf("%s has no region argument: it would be created in the provider's home region", b.DefRange().String())
				}
				refs := traversals(region)
				if dir == edgeRegionDir && !slices.Equal(refs, []string{"var.aws_region"}) {
					t.Errorf("region = %v, want var.aws_region", refs)
				}
			})
		}
	}
}

// ingressRule is one inbound rule of the edge security group, as evaluated
// with the binary's ports.
type ingressRule struct {
	where      string
	protocol   string // tcp, udp, or -1 for all
	from, to   int
	sources    []string // CIDRs, or "peer:<expression>" when built from each.value
	forEach    []string // references of the for_each expression
	cidrOfPeer string   // the source rendered for a sample peer address
}

func (r ingressRule) covers(port int) bool {
	return r.protocol == "-1" || (r.from <= port && port <= r.to)
}

func (r ingressRule) world() bool {
	return slices.ContainsFunc(r.sources, func(s string) bool { return slices.Contains(worldCIDRs, s) })
}

// TestSecurityGroupOpensTheBinaryPorts: the HTTP port (TCP) to the world, the
// mesh port (UDP) to each peer's /32 only, never the world on the mesh port,
// and nothing else.
func TestSecurityGroupOpensTheBinaryPorts(t *testing.T) {
	mod := loadModule(t, edgeRegionDir)
	rules := ingressRules(t, mod)
	if len(rules) == 0 {
		t.Fatalf("no ingress rules found in %s", edgeRegionDir)
	}

	cases := []struct {
		name     string
		protocol string
		port     int
		check    func(ingressRule) string
	}{
		{"fans reach the HTTP port from anywhere", "tcp", config.DefaultHTTPPort, func(r ingressRule) string {
			if !slices.Contains(r.sources, "0.0.0.0/0") {
				return fmt.Sprintf("sources %v, want 0.0.0.0/0", r.sources)
			}
			return ""
		}},
		{"peers reach the mesh port, one /32 each", "udp", config.DefaultMeshPort, func(r ingressRule) string {
			if !slices.Equal(r.forEach, []string{"var.peer_addresses"}) {
				return fmt.Sprintf("for_each references %v, want var.peer_addresses", r.forEach)
			}
			if r.cidrOfPeer != "198.51.100.7/32" {
				return fmt.Sprintf("peer 198.51.100.7 becomes source %q, want 198.51.100.7/32", r.cidrOfPeer)
			}
			return ""
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var problems []string
			for _, r := range rules {
				if r.protocol != c.protocol || r.from != c.port || r.to != c.port {
					continue
				}
				if p := c.check(r); p != "" {
					problems = append(problems, r.where+": "+p)
					continue
				}
				return
			}
			t.Errorf("no ingress rule opens %s %d as required; %v", c.protocol, c.port, problems)
		})
	}

	for _, r := range rules {
		t.Run(r.where, func(t *testing.T) {
			if r.covers(config.DefaultMeshPort) && r.protocol != "tcp" && r.world() {
				t.Errorf("opens the inter-node port %d/udp to %v: the mesh port is for peers only", config.DefaultMeshPort, r.sources)
			}
			if len(r.sources) == 0 {
				t.Errorf("has no source (CIDR, prefix list or security group)")
			}
			http := r.protocol == "tcp" && r.from == config.DefaultHTTPPort && r.to == config.DefaultHTTPPort
			mesh := r.protocol == "udp" && r.from == config.DefaultMeshPort && r.to == config.DefaultMeshPort
			if !http && !mesh {
				opens := fmt.Sprintf("%s %d-%d", r.protocol, r.from, r.to)
				if r.protocol == "-1" {
					opens = "every protocol and port"
				}
				t.Errorf("opens %s: the binary listens on %d/tcp and %d/udp only", opens, config.DefaultHTTPPort, config.DefaultMeshPort)
			}
		})
	}
}

// ingressRules collects every inbound rule of edge-region in any of the
// forms the AWS provider accepts: aws_vpc_security_group_ingress_rule,
// aws_security_group_rule of type ingress, and inline (or dynamic) ingress
// blocks of aws_security_group.
func ingressRules(t *testing.T, mod *tfModule) []ingressRule {
	t.Helper()
	ports := map[string]cty.Value{
		"http_port": cty.NumberIntVal(config.DefaultHTTPPort),
		"mesh_port": cty.NumberIntVal(config.DefaultMeshPort),
	}
	samplePeer := cty.ObjectVal(map[string]cty.Value{
		"key":   cty.StringVal("tokyo-1"),
		"value": cty.StringVal("198.51.100.7"),
	})
	unknownEach := cty.ObjectVal(map[string]cty.Value{"key": cty.UnknownVal(cty.String), "value": cty.DynamicVal})

	str := func(b *hclsyntax.Block, where, name string) string {
		expr := attr(b, name)
		if expr == nil {
			return ""
		}
		v, diags := mod.eval(expr, ports, unknownEach)
		if diags.HasErrors() || !v.IsWhollyKnown() || v.Type() != cty.String {
			t.Errorf("%s: %s must be a string known without AWS; got %#v %v", where, name, v, diags)
			return ""
		}
		return v.AsString()
	}
	port := func(b *hclsyntax.Block, where, name string) int {
		expr := attr(b, name)
		if expr == nil {
			return 0
		}
		v, diags := mod.eval(expr, ports, unknownEach)
		if diags.HasErrors() || !v.IsWhollyKnown() || v.Type() != cty.Number {
			t.Errorf("%s: %s must be a number known without AWS (var.http_port, var.mesh_port or a literal); got %#v %v", where, name, v, diags)
			return -1
		}
		n, _ := v.AsBigFloat().Int64()
		return int(n)
	}
	sources := func(b *hclsyntax.Block, where string, forEach hclsyntax.Expression) ingressRule {
		r := ingressRule{where: where}
		if forEach != nil {
			r.forEach = traversals(forEach)
		}
		for _, name := range []string{"cidr_ipv4", "cidr_ipv6", "cidr_blocks", "ipv6_cidr_blocks", "prefix_list_id", "prefix_list_ids", "referenced_security_group_id", "security_groups", "source_security_group_id", "self"} {
			expr := attr(b, name)
			if expr == nil {
				continue
			}
			// What the source becomes for one sample peer.
			if sample, diags := mod.eval(expr, ports, samplePeer); !diags.HasErrors() && sample.IsWhollyKnown() && sample.Type() == cty.String {
				r.cidrOfPeer = sample.AsString()
			}
			v, diags := mod.eval(expr, ports, unknownEach)
			switch {
			case diags.HasErrors():
				t.Errorf("%s: %s cannot be evaluated: %v", where, name, diags)
			case !v.IsWhollyKnown():
				// Built from each.value (a peer) or another resource.
				r.sources = append(r.sources, "peer:"+strings.Join(traversals(expr), ","))
			case v.Type() == cty.String:
				r.sources = append(r.sources, v.AsString())
			case v.Type().IsTupleType() || v.Type().IsListType() || v.Type().IsSetType():
				for it := v.ElementIterator(); it.Next(); {
					_, e := it.Element()
					r.sources = append(r.sources, e.GoString())
					if e.Type() == cty.String {
						r.sources[len(r.sources)-1] = e.AsString()
					}
				}
			default:
				r.sources = append(r.sources, v.GoString())
			}
		}
		return r
	}

	var rules []ingressRule
	for _, b := range mod.find("resource", "aws_vpc_security_group_ingress_rule") {
		where := blockName(b)
		r := sources(b, where, attr(b, "for_each"))
		r.protocol = str(b, where, "ip_protocol")
		r.from, r.to = port(b, where, "from_port"), port(b, where, "to_port")
		rules = append(rules, r)
	}
	for _, b := range mod.find("resource", "aws_security_group_rule") {
		where := blockName(b)
		if str(b, where, "type") != "ingress" {
			continue
		}
		r := sources(b, where, attr(b, "for_each"))
		r.protocol = str(b, where, "protocol")
		r.from, r.to = port(b, where, "from_port"), port(b, where, "to_port")
		rules = append(rules, r)
	}
	for _, sg := range mod.find("resource", "aws_security_group") {
		for _, inner := range sg.Body.Blocks {
			body, forEach := inner, hclsyntax.Expression(nil)
			if inner.Type == "dynamic" && len(inner.Labels) == 1 && inner.Labels[0] == "ingress" {
				forEach = attr(inner, "for_each")
				for _, c := range inner.Body.Blocks {
					if c.Type == "content" {
						body = c
					}
				}
			} else if inner.Type != "ingress" {
				continue
			}
			where := blockName(sg) + ".ingress"
			r := sources(body, where, forEach)
			r.protocol = str(body, where, "protocol")
			r.from, r.to = port(body, where, "from_port"), port(body, where, "to_port")
			rules = append(rules, r)
		}
	}
	for i := range rules {
		switch strings.ToLower(rules[i].protocol) {
		case "all", "-1":
			rules[i].protocol = "-1"
		case "6":
			rules[i].protocol = "tcp"
		case "17":
			rules[i].protocol = "udp"
		}
	}
	return rules
}

// TestPortsFollowTheBinary: edge-config's ports are the binary's defaults,
// and the root wires them, not literals, into the firewall and the health
// checks, so one change in edge-config moves every port.
func TestPortsFollowTheBinary(t *testing.T) {
	cfg := loadModule(t, edgeConfigDir)
	ports, diags := cfg.eval(cfg.local(t, "ports"), nil, cty.NilVal)
	if diags.HasErrors() || !ports.IsWhollyKnown() {
		t.Fatalf("edge-config local.ports must be literal: %v", diags)
	}
	for _, c := range []struct {
		name string
		want int
	}{
		{"http", config.DefaultHTTPPort},
		{"mesh", config.DefaultMeshPort},
	} {
		got, _ := ports.GetAttr(c.name).AsBigFloat().Int64()
		if int(got) != c.want {
			t.Errorf("edge-config local.ports.%s = %d, the binary's default is %d", c.name, got, c.want)
		}
	}

	root := loadModule(t, rootDir)
	edge := root.one(t, "module", "edge")
	health := root.one(t, "resource", "aws_route53_health_check", "node")
	for _, c := range []struct {
		where string
		expr  hclsyntax.Expression
		want  string
	}{
		{"module.edge http_port", attr(edge, "http_port"), "module.config.ports.http"},
		{"module.edge mesh_port", attr(edge, "mesh_port"), "module.config.ports.mesh"},
		{"module.edge peer_addresses", attr(edge, "peer_addresses"), "aws_eip.node"},
		{"aws_route53_health_check.node port", attr(health, "port"), "module.config.ports.http"},
	} {
		if c.expr == nil {
			t.Errorf("%s is not set", c.where)
			continue
		}
		if refs := traversals(c.expr); !slices.Contains(refs, c.want) {
			t.Errorf("%s references %v, want %s", c.where, refs, c.want)
		}
	}
	path, _ := root.eval(attr(health, "resource_path"), nil, cty.NilVal)
	if path.Type() != cty.String || path.AsString() != "/healthz" {
		t.Errorf("health checks request %#v, want /healthz", path)
	}
}

// stringLiterals returns the values of a tuple made only of string literals.
func stringLiterals(tuple *hclsyntax.TupleConsExpr) ([]string, bool) {
	var out []string
	for _, e := range tuple.Exprs {
		tmpl, ok := e.(*hclsyntax.TemplateExpr)
		if !ok || !tmpl.IsStringLiteral() {
			return nil, false
		}
		v, _ := tmpl.Value(nil)
		out = append(out, v.AsString())
	}
	return out, len(out) > 0
}
