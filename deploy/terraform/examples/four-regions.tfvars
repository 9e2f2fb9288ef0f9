# A complete variable file for the four regions. Copy it next to the root
# stack as terraform.tfvars and replace every example value:
#   cp examples/four-regions.tfvars terraform.tfvars
# The CA key is NOT in here: pass it as TF_VAR_cluster_ca_key_pem (README.md).

cluster_name = "relaymesh"
home_region  = "ap-northeast-2"

# One entry per region; node_count defaults to 2, instance_type to c7i.xlarge.
regions = {
  seoul = {
    aws_region = "ap-northeast-2"
    vpc_cidr   = "10.10.0.0/16"
  }
  tokyo = {
    aws_region = "ap-northeast-1"
    vpc_cidr   = "10.20.0.0/16"
  }
  virginia = {
    aws_region = "us-east-1"
    vpc_cidr   = "10.30.0.0/16"
    node_count = 3
  }
  frankfurt = {
    aws_region = "eu-central-1"
    vpc_cidr   = "10.40.0.0/16"
  }
}

origin_bucket_name = "example-relaymesh-origin"

# Built with: GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -o relaymesh ./cmd/relaymesh
release = {
  url    = "https://downloads.example.com/relaymesh/v1.0.0/relaymesh-linux-amd64"
  sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
}

dns_zone_id = "Z0123456789EXAMPLE"
dns_name    = "edge.example.com"
