# One relaymesh region: network, firewall, instance role, the cluster CA in
# SSM, and one EC2 instance per node with its Elastic IP attached.
#
# Every regional resource sets `region = var.aws_region` (AWS provider 6), so
# one provider configuration in the root serves all regions. The structural
# Go test in deploy/terraform fails if a regional resource here forgets it.

locals {
  name = "${var.cluster_name}-${var.region_name}"

  tags = merge(var.tags, {
    "relaymesh:region" = var.region_name
  })

  create_network = length(var.subnet_ids) == 0

  # Two availability zones: a zone outage leaves the region serving.
  azs = slice(sort(data.aws_availability_zones.available.names), 0, 2)

  vpc_id     = local.create_network ? aws_vpc.this[0].id : data.aws_subnet.existing[0].vpc_id
  subnet_ids = local.create_network ? [for az in local.azs : aws_subnet.public[az].id] : var.subnet_ids

  # Nodes in name order, spread round-robin over the subnets (zones).
  node_names = sort(keys(var.nodes))
}

data "aws_availability_zones" "available" {
  region = var.aws_region
  state  = "available"

  # Regular zones only, not Local Zones or Wavelength.
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

data "aws_subnet" "existing" {
  count = local.create_network ? 0 : 1

  region = var.aws_region
  id     = var.subnet_ids[0]
}

resource "aws_vpc" "this" {
  count = local.create_network ? 1 : 0

  region               = var.aws_region
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(local.tags, { Name = local.name })

  lifecycle {
    precondition {
      condition     = var.vpc_cidr != null
      error_message = "Region ${var.region_name}: set vpc_cidr (a VPC is created) or subnet_ids (existing subnets are used)."
    }
  }
}

resource "aws_internet_gateway" "this" {
  count = local.create_network ? 1 : 0

  region = var.aws_region
  vpc_id = aws_vpc.this[0].id
  tags   = merge(local.tags, { Name = local.name })
}

# Public subnets: nodes are reached on their Elastic IPs, so instances get no
# automatic public address.
resource "aws_subnet" "public" {
  for_each = local.create_network ? { for i, az in local.azs : az => i } : {}

  region                  = var.aws_region
  vpc_id                  = aws_vpc.this[0].id
  availability_zone       = each.key
  cidr_block              = cidrsubnet(var.vpc_cidr, 8, each.value)
  map_public_ip_on_launch = false
  tags                    = merge(local.tags, { Name = "${local.name}-${each.key}" })
}

resource "aws_route_table" "public" {
  count = local.create_network ? 1 : 0

  region = var.aws_region
  vpc_id = aws_vpc.this[0].id
  tags   = merge(local.tags, { Name = "${local.name}-public" })
}

resource "aws_route" "internet" {
  count = local.create_network ? 1 : 0

  region                 = var.aws_region
  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  for_each = aws_subnet.public

  region         = var.aws_region
  subnet_id      = each.value.id
  route_table_id = aws_route_table.public[0].id
}
