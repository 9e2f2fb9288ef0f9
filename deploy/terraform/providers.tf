# One AWS provider for all regions. Provider 6 gives every regional resource a
# `region` argument, so the edge module is instantiated per region with
# for_each and passes its AWS region to each resource; no aliases needed.
# This provider's own region (home_region) is where the origin bucket lives and
# where global services (IAM, Route 53) are called from.
provider "aws" {
  region = var.home_region

  default_tags {
    tags = merge(var.tags, {
      "relaymesh:cluster" = var.cluster_name
      "managed-by"        = "terraform"
    })
  }
}
