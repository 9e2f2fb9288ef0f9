variable "cluster_name" {
  description = "Name of the cluster; prefixes resource names (IAM names are global, so they also carry region_name)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.cluster_name))
    error_message = "cluster_name must be 2-32 lowercase letters, digits or hyphens, starting with a letter; got \"${var.cluster_name}\"."
  }
}

variable "region_name" {
  description = "The relaymesh region name of this region (seoul, tokyo, virginia, frankfurt): the node.region of its nodes."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.region_name))
    error_message = "region_name must be a lowercase relaymesh region name such as seoul; got \"${var.region_name}\"."
  }
}

variable "aws_region" {
  description = "The AWS region every regional resource of this module is created in (provider 6 per-resource region)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]+$", var.aws_region))
    error_message = "aws_region must be an AWS region code such as ap-northeast-2; got \"${var.aws_region}\"."
  }
}

variable "nodes" {
  description = "The nodes of this region, keyed by node name (<region>-<n>): the allocation ID of the node's Elastic IP (its stable mesh address, allocated by the root stack) and its cloud-init user data (from edge-config)."
  type = map(object({
    eip_allocation_id = string
    user_data         = string
  }))
  nullable = false

  validation {
    condition     = length(var.nodes) > 0
    error_message = "A region needs at least one node."
  }
}

variable "peer_addresses" {
  description = "The public IPv4 address of every node of the cluster in every region (this region's included), keyed by node name. The mesh port (UDP) is opened to exactly these addresses, one /32 rule each."
  type        = map(string)
  nullable    = false

  validation {
    condition = alltrue([
      for address in values(var.peer_addresses) :
      can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$", address))
    ])
    error_message = "Every peer address must be a single IPv4 address (no CIDR, never 0.0.0.0/0): the mesh port is open to peers only."
  }
}

variable "http_port" {
  description = "The node's HTTP port (TCP): fans, streamers and ops, and the Route 53 health checks. Pass edge-config's ports.http."
  type        = number
  nullable    = false

  validation {
    condition     = var.http_port >= 1 && var.http_port <= 65535 && floor(var.http_port) == var.http_port
    error_message = "http_port must be a port number from 1 to 65535; got ${var.http_port}."
  }
}

variable "mesh_port" {
  description = "The node's mesh port (UDP, QUIC): all inter-node traffic, gossip included. Pass edge-config's ports.mesh."
  type        = number
  nullable    = false

  validation {
    condition     = var.mesh_port >= 1 && var.mesh_port <= 65535 && floor(var.mesh_port) == var.mesh_port
    error_message = "mesh_port must be a port number from 1 to 65535; got ${var.mesh_port}."
  }
}

variable "instance_type" {
  description = "EC2 instance type of the nodes. Its architecture must match var.architecture and the release binary."
  type        = string
  nullable    = false
}

variable "architecture" {
  description = "CPU architecture of the AMI (Amazon Linux 2023): x86_64 or arm64. The release binary must be built for it."
  type        = string
  default     = "x86_64"
  nullable    = false

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64; got \"${var.architecture}\"."
  }
}

variable "root_volume_size_gb" {
  description = "Size of each node's root volume (gp3, encrypted) in GiB; it holds node.data_dir: segment cache, chat history, ingest spool."
  type        = number
  default     = 50
  nullable    = false

  validation {
    condition     = var.root_volume_size_gb >= 8 && var.root_volume_size_gb <= 16384
    error_message = "root_volume_size_gb must be from 8 to 16384; got ${var.root_volume_size_gb}."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC this module creates when subnet_ids is empty; two public subnets take its first two /24s (for a /16). Give each region its own range so VPCs can be peered later. Ignored when subnet_ids is set."
  type        = string
  default     = null

  validation {
    condition     = var.vpc_cidr == null || can(cidrnetmask(coalesce(var.vpc_cidr, "-")))
    error_message = "vpc_cidr must be an IPv4 CIDR block such as 10.10.0.0/16."
  }
}

variable "subnet_ids" {
  description = "Existing public subnets (with a route to an internet gateway) to run the nodes in, spread round-robin; all in one VPC. Empty (the default) creates a VPC from vpc_cidr."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "origin_bucket_arn" {
  description = "ARN of the S3 origin bucket. The instance role may read, write and delete its objects and list it, and nothing else in S3."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.origin_bucket_arn))
    error_message = "origin_bucket_arn must be a bucket ARN (arn:aws:s3:::NAME), not an object ARN; got \"${var.origin_bucket_arn}\"."
  }
}

variable "ca_parameter_names" {
  description = "SSM parameter names of the cluster CA in this region (edge-config's ca_parameter_names): cert (String) and key (SecureString). The instance role may read exactly these two."
  type = object({
    cert = string
    key  = string
  })
  nullable = false

  validation {
    condition     = startswith(var.ca_parameter_names.cert, "/") && startswith(var.ca_parameter_names.key, "/")
    error_message = "ca_parameter_names must be absolute SSM parameter names (starting with /)."
  }
}

variable "manage_cluster_ca" {
  description = "Whether this module writes the cluster CA into the SSM parameters (from cluster_ca_cert_pem and cluster_ca_key_pem). False means an operator has put them there already, which keeps the CA key out of Terraform state."
  type        = bool
  default     = true
  nullable    = false
}

variable "cluster_ca_cert_pem" {
  description = "PEM certificate of the cluster CA (`relaymesh certs ca` writes it as ca.pem). Required when manage_cluster_ca is true."
  type        = string
  default     = null
}

variable "cluster_ca_key_pem" {
  description = "PEM private key of the cluster CA (ca-key.pem). Required when manage_cluster_ca is true; stored as an SSM SecureString and in Terraform state."
  type        = string
  default     = null
  sensitive   = true
}

variable "enable_session_manager" {
  description = "Attach AmazonSSMManagedInstanceCore to the instance role so operators can open shells with SSM Session Manager (no SSH port is ever opened)."
  type        = bool
  default     = false
  nullable    = false
}

variable "tags" {
  description = "Tags added to every taggable resource of this module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
