output "security_group_id" {
  description = "ID of the nodes' security group (HTTP port to the world, mesh port to peers)."
  value       = aws_security_group.edge.id
}

output "vpc_id" {
  description = "ID of the VPC the nodes run in (created, or the one of subnet_ids)."
  value       = local.vpc_id
}

output "subnet_ids" {
  description = "IDs of the subnets the nodes are spread over."
  value       = local.subnet_ids
}

output "instance_ids" {
  description = "EC2 instance ID of every node of this region, keyed by node name."
  value       = { for name, instance in aws_instance.node : name => instance.id }
}

output "launch_template_ids" {
  description = "Launch template ID of every node, keyed by node name; its latest version carries the current release and config."
  value       = { for name, template in aws_launch_template.node : name => template.id }
}

output "instance_role_arn" {
  description = "ARN of the nodes' IAM role (origin bucket objects and the cluster CA parameters only)."
  value       = aws_iam_role.edge.arn
}
