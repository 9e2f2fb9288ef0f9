# No provider block here: the root stack's one aws provider serves every
# region, and each resource below names its region with provider 6's
# per-resource `region` argument (var.aws_region). IAM is global and has none.
terraform {
  required_version = ">= 1.7"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}
