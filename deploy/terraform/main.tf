# relaymesh on AWS: one edge region per entry of var.regions, the S3 origin
# bucket (origin.tf), nearest-edge DNS (dns.tf).
#
# The order of things, without cycles:
#   module.config.nodes  (names only)   -> aws_eip.node (one stable address per node)
#   aws_eip.node                        -> module.config (configs and cloud-init carry the addresses)
#   module.config + aws_eip.node        -> module.edge (instances; firewall opens the mesh port to every EIP)
# The addresses live here rather than in module.edge because every region's
# configs and firewall need every region's addresses: inside the for_each
# module they would make the module depend on its own outputs.

module "config" {
  source = "./modules/edge-config"

  cluster_name = var.cluster_name
  regions = {
    for name, r in var.regions : name => {
      aws_region = r.aws_region
      node_count = r.node_count
    }
  }
  node_addresses = { for name, eip in aws_eip.node : name => eip.public_ip }
  origin = {
    bucket = aws_s3_bucket.origin.bucket
    region = var.home_region
  }
  release    = var.release
  log_level  = var.log_level
  log_format = var.log_format
}

# A stable public address per node: its mesh.advertise, the SAN of its
# certificate, a seed of every node and a /32 in every region's firewall. It
# survives instance replacement, so a rolling upgrade changes none of those.
resource "aws_eip" "node" {
  for_each = module.config.nodes

  region = each.value.aws_region
  domain = "vpc"
  tags = {
    Name               = "${var.cluster_name}-${each.key}"
    "relaymesh:region" = each.value.region
    "relaymesh:node"   = each.key
  }
}

module "edge" {
  source   = "./modules/edge-region"
  for_each = module.config.regions

  cluster_name = var.cluster_name
  region_name  = each.key
  aws_region   = each.value.aws_region

  nodes = {
    for name in each.value.node_names : name => {
      eip_allocation_id = aws_eip.node[name].allocation_id
      user_data         = module.config.cloud_init[name]
    }
  }
  peer_addresses = { for name, eip in aws_eip.node : name => eip.public_ip }
  http_port      = module.config.ports.http
  mesh_port      = module.config.ports.mesh

  instance_type       = var.regions[each.key].instance_type
  architecture        = var.architecture
  root_volume_size_gb = var.root_volume_size_gb
  vpc_cidr            = var.regions[each.key].vpc_cidr
  subnet_ids          = var.regions[each.key].subnet_ids

  origin_bucket_arn   = aws_s3_bucket.origin.arn
  ca_parameter_names  = module.config.ca_parameter_names
  manage_cluster_ca   = var.manage_cluster_ca
  cluster_ca_cert_pem = var.cluster_ca_cert_pem
  cluster_ca_key_pem  = var.cluster_ca_key_pem

  enable_session_manager = var.enable_session_manager
}
