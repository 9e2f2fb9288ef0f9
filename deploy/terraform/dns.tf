# Nearest-edge routing with Route 53 (global: no region argument).
#
#   <dns_name>            latency records, one per region, each an alias of
#                         that region's pool; evaluate_target_health makes a
#                         region with no healthy node drop out, so clients go
#                         to the next-nearest region.
#   <region>.<dns_name>   the region's pool: one weighted A record per node
#                         (equal weights), each with the node's own health
#                         check, so a dead node leaves the answer while its
#                         region stays. (A group of weighted records is the
#                         alias target Route 53 documents for this pattern.)
#
# Health checks call GET /healthz on the HTTP port of each node's Elastic IP
# from Route 53's checkers around the world (the HTTP port is open to all).

resource "aws_route53_health_check" "node" {
  for_each = module.config.nodes

  type              = "HTTP"
  ip_address        = aws_eip.node[each.key].public_ip
  port              = module.config.ports.http
  resource_path     = "/healthz"
  request_interval  = var.health_check_interval
  failure_threshold = var.health_check_failure_threshold
  tags = {
    Name             = "${var.cluster_name}-${each.key}"
    "relaymesh:node" = each.key
  }
}

resource "aws_route53_record" "node" {
  for_each = module.config.nodes

  zone_id         = var.dns_zone_id
  name            = "${each.value.region}.${var.dns_name}"
  type            = "A"
  ttl             = var.dns_ttl
  records         = [aws_eip.node[each.key].public_ip]
  set_identifier  = each.key
  health_check_id = aws_route53_health_check.node[each.key].id

  weighted_routing_policy {
    weight = 10
  }
}

resource "aws_route53_record" "edge" {
  for_each = module.config.regions

  zone_id        = var.dns_zone_id
  name           = var.dns_name
  type           = "A"
  set_identifier = each.key

  latency_routing_policy {
    region = each.value.aws_region
  }

  alias {
    name                   = "${each.key}.${var.dns_name}"
    zone_id                = var.dns_zone_id
    evaluate_target_health = true
  }

  # The alias target is named, not referenced: wait for the pool to exist.
  depends_on = [aws_route53_record.node]
}
