output "fan_url" {
  description = "The URL fans and streamers use: latency-based DNS sends each to the nearest region with a healthy node."
  value       = "http://${var.dns_name}:${module.config.ports.http}/"
}

output "dns_name" {
  description = "The DNS name of the nearest healthy edge (latency records per region)."
  value       = var.dns_name
}

output "region_urls" {
  description = "Per-region URL (the region's pool of healthy nodes), keyed by relaymesh region name; for testing one region or pinning a streamer."
  value       = { for name in keys(module.config.regions) : name => "http://${name}.${var.dns_name}:${module.config.ports.http}/" }
}

output "node_addresses" {
  description = "The Elastic IP of every node, keyed by node name: its mesh address, and http://ADDRESS:8080/healthz for a direct health check."
  value       = { for name, eip in aws_eip.node : name => eip.public_ip }
}

output "node_instance_ids" {
  description = "EC2 instance ID of every node, keyed by node name (for SSM sessions and rolling replacement)."
  value       = merge([for region in values(module.edge) : region.instance_ids]...)
}

output "origin_bucket" {
  description = "The S3 origin bucket: name, ARN and region."
  value = {
    name   = aws_s3_bucket.origin.bucket
    arn    = aws_s3_bucket.origin.arn
    region = var.home_region
  }
}

output "ports" {
  description = "The ports opened on every node: http (TCP, to the world) and mesh (UDP QUIC, to peers only)."
  value       = module.config.ports
}

output "ca_parameter_names" {
  description = "SSM parameter names of the cluster CA, present in every deployed AWS region: cert (String) and key (SecureString)."
  value       = module.config.ca_parameter_names
}

output "health_check_ids" {
  description = "Route 53 health check ID of every node, keyed by node name."
  value       = { for name, check in aws_route53_health_check.node : name => check.id }
}
