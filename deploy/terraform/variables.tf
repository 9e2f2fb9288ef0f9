variable "cluster_name" {
  description = "Name of the cluster: prefixes resource names (IAM roles, security groups, instances), the SSM parameter names of the cluster CA and the health checks. Two clusters in one account need different names."
  type        = string
  default     = "relaymesh"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.cluster_name))
    error_message = "cluster_name must be 2-32 lowercase letters, digits or hyphens, starting with a letter; got \"${var.cluster_name}\"."
  }
}

variable "home_region" {
  description = "AWS region of the provider and of the S3 origin bucket. Pick the region of most streamers; every edge reads from it."
  type        = string
  default     = "ap-northeast-2"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]+$", var.home_region))
    error_message = "home_region must be an AWS region code such as ap-northeast-2; got \"${var.home_region}\"."
  }
}

# The one map of regions. Adding a region is one entry here (once the binary's
# region catalog knows its name; see README.md, "Adding a fifth region").
variable "regions" {
  description = "The regions to deploy, keyed by relaymesh region name (seoul, tokyo, virginia, frankfurt): aws_region (AWS region code), node_count (nodes in the region, default 2), instance_type (default c7i.xlarge), and either vpc_cidr (a VPC is created; give every region its own range) or subnet_ids (existing public subnets in one VPC)."
  type = map(object({
    aws_region    = string
    node_count    = optional(number, 2)
    instance_type = optional(string, "c7i.xlarge")
    vpc_cidr      = optional(string)
    subnet_ids    = optional(list(string), [])
  }))
  nullable = false

  default = {
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
    }
    frankfurt = {
      aws_region = "eu-central-1"
      vpc_cidr   = "10.40.0.0/16"
    }
  }

  validation {
    condition     = alltrue([for r in values(var.regions) : r.vpc_cidr != null || length(r.subnet_ids) > 0])
    error_message = "Every region needs vpc_cidr (to create a VPC) or subnet_ids (to use existing subnets); missing in: ${join(", ", [for name, r in var.regions : name if r.vpc_cidr == null && length(r.subnet_ids) == 0])}."
  }

  validation {
    condition     = alltrue([for r in values(var.regions) : r.vpc_cidr == null || can(cidrnetmask(coalesce(r.vpc_cidr, "-")))])
    error_message = "Every vpc_cidr must be an IPv4 CIDR block such as 10.10.0.0/16."
  }
}

variable "architecture" {
  description = "CPU architecture of every node: x86_64 (c7i, m7i...) or arm64 (c7g, m7g...). instance_type and the release binary must match it."
  type        = string
  default     = "x86_64"
  nullable    = false

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64; got \"${var.architecture}\"."
  }
}

variable "root_volume_size_gb" {
  description = "Root volume of each node in GiB (gp3, encrypted); it holds the segment cache, chat history and ingest spool."
  type        = number
  default     = 50
  nullable    = false
}

variable "release" {
  description = "The relaymesh binary every node installs at first boot: url (https:// or s3://; an s3:// URL must be in the origin bucket, the only bucket the nodes may read) and its sha256. Build with: GOOS=linux GOARCH=amd64 go build -o relaymesh ./cmd/relaymesh && sha256sum relaymesh."
  type = object({
    url    = string
    sha256 = string
  })
  nullable = false
}

variable "origin_bucket_name" {
  description = "Name of the S3 origin bucket to create in home_region (globally unique): stream segments and playlists, ingest, the chat archive, and optionally the release binary under releases/."
  type        = string
  nullable    = false
}

variable "origin_force_destroy" {
  description = "Let `terraform destroy` delete the origin bucket with every object (and version) in it. Keep false in production; set true only to tear down a test cluster."
  type        = bool
  default     = false
  nullable    = false
}

variable "chat_archive_prefix" {
  description = "Key prefix under which nodes archive chat history (gzip NDJSON per room and day); objects under it move to S3 Glacier Flexible Retrieval after chat_archive_glacier_days."
  type        = string
  default     = "chat-archive/"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-][A-Za-z0-9!_.*'()/-]*/$", var.chat_archive_prefix))
    error_message = "chat_archive_prefix must be a non-empty S3 key prefix ending in /, such as chat-archive/; got \"${var.chat_archive_prefix}\"."
  }
}

variable "chat_archive_glacier_days" {
  description = "Days after which archived chat moves to Glacier (the platform keeps 30 days of chat hot)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.chat_archive_glacier_days >= 1
    error_message = "chat_archive_glacier_days must be at least 1."
  }
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object version is kept in the versioned origin bucket before it expires."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "noncurrent_version_days must be at least 1."
  }
}

variable "manage_cluster_ca" {
  description = "true: Terraform writes cluster_ca_cert_pem and cluster_ca_key_pem into SSM in every region (the key is then in Terraform state). false: you put them into SSM yourself under the names in the ca_parameter_names output, and the key never touches Terraform."
  type        = bool
  default     = true
  nullable    = false
}

variable "cluster_ca_cert_pem" {
  description = "PEM certificate of the cluster CA (ca.pem from `relaymesh certs ca --out DIR`). Required when manage_cluster_ca is true."
  type        = string
  default     = null
}

variable "cluster_ca_key_pem" {
  description = "PEM private key of the cluster CA (ca-key.pem). Required when manage_cluster_ca is true. Pass it as TF_VAR_cluster_ca_key_pem, not in a committed file."
  type        = string
  default     = null
  sensitive   = true
}

variable "dns_zone_id" {
  description = "ID of the Route 53 public hosted zone that dns_name is in."
  type        = string
  nullable    = false
}

variable "dns_name" {
  description = "The name fans and streamers use, e.g. edge.example.com: latency-based records send each client to its nearest region with a healthy node. Per-region pools are <region>.<dns_name>."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.dns_name))
    error_message = "dns_name must be a lowercase DNS name without a trailing dot, such as edge.example.com; got \"${var.dns_name}\"."
  }
}

variable "health_check_interval" {
  description = "Seconds between Route 53 health checks of each node's /healthz: 30 (standard) or 10 (fast, costs more). With failure_threshold 3 a dead node leaves DNS after about 3 intervals."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([10, 30], var.health_check_interval)
    error_message = "health_check_interval must be 10 or 30 (the intervals Route 53 offers); got ${var.health_check_interval}."
  }
}

variable "health_check_failure_threshold" {
  description = "Consecutive failed Route 53 health checks before a node is taken out of DNS (and consecutive successes before it is put back)."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.health_check_failure_threshold >= 1 && var.health_check_failure_threshold <= 10
    error_message = "health_check_failure_threshold must be from 1 to 10."
  }
}

variable "dns_ttl" {
  description = "TTL in seconds of the per-node A records; a dead node's address may be handed out this long after its health check fails."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.dns_ttl >= 0 && var.dns_ttl <= 86400
    error_message = "dns_ttl must be from 0 to 86400 seconds; got ${var.dns_ttl}."
  }
}

variable "log_level" {
  description = "Log level of every node: debug, info, warn or error."
  type        = string
  default     = "info"
  nullable    = false
}

variable "log_format" {
  description = "Log format of every node: json or text."
  type        = string
  default     = "json"
  nullable    = false
}

variable "enable_session_manager" {
  description = "Let operators open shells on nodes with SSM Session Manager (attaches AmazonSSMManagedInstanceCore). No SSH port is opened either way."
  type        = bool
  default     = false
  nullable    = false
}

variable "tags" {
  description = "Tags added to every resource (provider default_tags)."
  type        = map(string)
  default     = {}
  nullable    = false
}
