# edge-config is provider-free on purpose: everything in it is computed from
# its inputs, so `terraform init`, `validate`, `test` and `apply` run on a
# machine with no registry access (that is what CI does).
terraform {
  required_version = ">= 1.7"
}
