# One launch template and one instance per node. A fixed set of instances
# rather than an autoscaling group, because every node has its own Elastic IP
# (its mesh.advertise, its certificate's SAN, a seed of every other node and a
# /32 in every region's firewall) and its own name.
#
# Instances ignore later launch template versions: a new release or a new
# seed list changes the template, and each node picks it up only when it is
# replaced on purpose, one at a time (README: "Rolling upgrade").

data "aws_ssm_parameter" "ami" {
  region = var.aws_region
  name   = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${var.architecture}"
}

resource "aws_launch_template" "node" {
  for_each = var.nodes

  region                 = var.aws_region
  name_prefix            = "${var.cluster_name}-${each.key}-"
  description            = "relaymesh node ${each.key}"
  image_id               = data.aws_ssm_parameter.ami.insecure_value
  instance_type          = var.instance_type
  user_data              = base64encode(each.value.user_data)
  vpc_security_group_ids = [aws_security_group.edge.id]
  update_default_version = true

  iam_instance_profile {
    arn = aws_iam_instance_profile.edge.arn
  }

  # IMDSv2 only, not reachable from containers on the host.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = var.root_volume_size_gb
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(local.tags, { Name = "${var.cluster_name}-${each.key}", "relaymesh:node" = each.key })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(local.tags, { Name = "${var.cluster_name}-${each.key}", "relaymesh:node" = each.key })
  }

  tags = local.tags
}

resource "aws_instance" "node" {
  for_each = var.nodes

  region    = var.aws_region
  subnet_id = local.subnet_ids[index(local.node_names, each.key) % length(local.subnet_ids)]
  tags      = merge(local.tags, { Name = "${var.cluster_name}-${each.key}", "relaymesh:node" = each.key })

  launch_template {
    id      = aws_launch_template.node[each.key].id
    version = aws_launch_template.node[each.key].latest_version
  }

  # The CA must be in SSM before the first boot reads it.
  depends_on = [aws_ssm_parameter.ca_cert, aws_ssm_parameter.ca_key]

  lifecycle {
    ignore_changes = [launch_template]
  }
}

resource "aws_eip_association" "node" {
  for_each = var.nodes

  region        = var.aws_region
  allocation_id = each.value.eip_allocation_id
  instance_id   = aws_instance.node[each.key].id
}
