terraform {
  required_version = ">= 1.7"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # State holds the cluster CA key (unless manage_cluster_ca = false): keep it
  # in an encrypted, access-controlled backend. See README.md, "State".
  # backend "s3" {}
}
