#!/usr/bin/env bash
# Terraform checks of deploy/terraform that need the terraform and tflint
# binaries (deploy/terraform/README.md, "What CI checks"):
#   check 1  edge-config: terraform init -backend=false, validate, test
#   check 4  terraform fmt -check -recursive, tflint (bundled terraform ruleset, preset all)
# Checks 2 and 3 are Go tests in deploy/terraform, run by `go test ./...`
# (with RELAYMESH_TERRAFORM=1, so a missing terraform fails instead of skipping).
#
# Runs from any directory; writes nothing into the repo (Terraform's working
# data goes to a temp dir). Needs terraform >= 1.7 and go on PATH; installs
# tflint with `go install` when it is missing or another version.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly tf_root=deploy/terraform
readonly edge_config=$tf_root/modules/edge-config
readonly tflint_version=v0.64.0

section() { printf '\n== terraform: %s\n' "$*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/relaymesh-terraform.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# No prompts, no update check, no user CLI config (nothing here needs a
# provider), working data outside the repo.
: >"$tmp/terraformrc"
export TF_CLI_CONFIG_FILE=$tmp/terraformrc
export TF_DATA_DIR=$tmp/data
export TF_PLUGIN_CACHE_DIR=$tmp/plugins
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
mkdir -p "$TF_PLUGIN_CACHE_DIR"

section "tools"
if ! command -v terraform >/dev/null; then
  echo "terraform is not on PATH: install Terraform >= 1.7 (https://developer.hashicorp.com/terraform/install)" >&2
  exit 1
fi
version=$(terraform version)
echo "${version%%$'\n'*}"
gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
tflint=$gobin/tflint
installed=$({ [ -x "$tflint" ] && "$tflint" --version; } || true)
if [[ $'\n'$installed$'\n' != *$'\nTFLint version '"${tflint_version#v}"$'\n'* ]]; then
  echo "installing tflint $tflint_version into $gobin"
  go install "github.com/terraform-linters/tflint@$tflint_version"
  installed=$("$tflint" --version)
fi
echo "$installed"

section "check 1: edge-config init -backend=false (no providers, no registry)"
terraform -chdir="$edge_config" init -backend=false -input=false -no-color

section "check 1: edge-config validate"
terraform -chdir="$edge_config" validate -no-color

section "check 1: edge-config test (tests/*.tftest.hcl)"
terraform -chdir="$edge_config" test -no-color

section "check 4: terraform fmt -check -recursive $tf_root"
if ! terraform fmt -check -recursive -diff -no-color "$tf_root"; then
  echo "terraform fmt would change the files above: run terraform fmt -recursive $tf_root" >&2
  exit 1
fi
echo "formatted"

section "check 4: tflint --recursive (terraform ruleset, preset all; root and modules)"
(cd "$tf_root" && "$tflint" --recursive --config "$PWD/.tflint.hcl" --no-color)
echo "no issues"

section "checks 1 and 4 passed (checks 2 and 3 run in go test ./deploy/terraform)"
