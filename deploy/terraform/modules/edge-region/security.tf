# The firewall opens exactly what the binary listens on:
#   http_port/TCP  to the world: fans (chat WebSocket, HLS), streamers
#                  (ingest), ops and the Route 53 health checkers (/healthz);
#   mesh_port/UDP  to the cluster's nodes only, one /32 per peer: QUIC carries
#                  all inter-node traffic, gossip included (there is no
#                  separate gossip port and no TCP inter-node port).
# No SSH: shells go through SSM Session Manager (enable_session_manager).

resource "aws_security_group" "edge" {
  region      = var.aws_region
  name        = "${local.name}-edge"
  description = "relaymesh edge nodes of ${var.region_name}: HTTP to the world, QUIC mesh to peers"
  vpc_id      = local.vpc_id
  tags        = merge(local.tags, { Name = "${local.name}-edge" })
}

resource "aws_vpc_security_group_ingress_rule" "http" {
  region            = var.aws_region
  security_group_id = aws_security_group.edge.id
  description       = "relaymesh HTTP: fans, streamers, ops, health checks"
  ip_protocol       = "tcp"
  from_port         = var.http_port
  to_port           = var.http_port
  cidr_ipv4         = "0.0.0.0/0"
  tags              = local.tags
}

# Peers are keyed by node name (known at plan) while their addresses may be
# known only after apply; one rule per peer keeps changes to one peer local.
# A security group holds 60 inbound rules by default: ask for a higher quota
# beyond about 55 nodes in total.
resource "aws_vpc_security_group_ingress_rule" "mesh" {
  for_each = var.peer_addresses

  region            = var.aws_region
  security_group_id = aws_security_group.edge.id
  description       = "relaymesh QUIC mesh from ${each.key}"
  ip_protocol       = "udp"
  from_port         = var.mesh_port
  to_port           = var.mesh_port
  cidr_ipv4         = "${each.value}/32"
  tags              = local.tags
}

# Outbound: peers, the S3 origin, SSM, and the release download.
resource "aws_vpc_security_group_egress_rule" "all" {
  region            = var.aws_region
  security_group_id = aws_security_group.edge.id
  description       = "Peers, S3 origin, SSM, release download"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
  tags              = local.tags
}
