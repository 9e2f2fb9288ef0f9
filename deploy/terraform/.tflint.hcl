# tflint over the root stack and its modules with the bundled terraform
# ruleset (no plugin download): `tflint --recursive --config "$PWD/.tflint.hcl"`
# from deploy/terraform, as .ci/terraform.sh does. The AWS ruleset plugin is
# left out on purpose: it must be downloaded, and CI has no network.
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
