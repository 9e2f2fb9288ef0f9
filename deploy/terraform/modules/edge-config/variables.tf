# Inputs of edge-config. Every rule the relaymesh binary enforces on a node
# config that can be known from here is checked here too, so a mistake fails at
# `terraform plan` on the operator's laptop rather than at first boot in four
# regions. The binary stays the authority: the Go test in deploy/terraform
# feeds every rendered config to `relaymesh config check`.

variable "cluster_name" {
  description = "Name of the cluster: prefixes the SSM parameter names of the cluster CA (/<cluster_name>/cluster-ca/...) and the AWS resource names of the root stack."
  type        = string
  default     = "relaymesh"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.cluster_name))
    error_message = "cluster_name must be 2-32 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen; got \"${var.cluster_name}\"."
  }
}

variable "regions" {
  description = "The regions to run edge nodes in, keyed by relaymesh region name (the node.region of their nodes: seoul, tokyo, virginia or frankfurt). aws_region is the AWS region code the nodes run in; node_count how many nodes run there (named <region>-1 ... <region>-<node_count>)."
  type = map(object({
    aws_region = string
    node_count = optional(number, 2)
  }))
  nullable = false

  validation {
    condition     = length(var.regions) > 0
    error_message = "regions must name at least one region."
  }

  # Keep this list equal to regions.Names() in the Go regions package (the
  # structural test in deploy/terraform checks it): the binary rejects a
  # node.region it does not know, and a new region needs its coordinates and
  # latencies in that catalog first.
  validation {
    condition     = alltrue([for name in keys(var.regions) : contains(["seoul", "tokyo", "virginia", "frankfurt"], name)])
    error_message = "Every key of regions must be a region the relaymesh binary knows (seoul, tokyo, virginia, frankfurt); unknown: ${join(", ", [for name in keys(var.regions) : name if !contains(["seoul", "tokyo", "virginia", "frankfurt"], name)])}. A new region is added to the binary's catalog (regions/regions.go) first."
  }

  validation {
    condition     = alltrue([for r in values(var.regions) : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]+$", r.aws_region))])
    error_message = "Every aws_region must be an AWS region code such as ap-northeast-2; got: ${join(", ", [for name, r in var.regions : "${name}=${jsonencode(r.aws_region)}" if !can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]+$", r.aws_region))])}."
  }

  validation {
    condition     = length(distinct([for r in values(var.regions) : r.aws_region])) == length(var.regions)
    error_message = "Two regions share an AWS region (${join(", ", [for r in values(var.regions) : r.aws_region])}): latency-based DNS can tell regions apart only by their AWS region, so each entry needs its own."
  }

  validation {
    condition     = alltrue([for r in values(var.regions) : r.node_count >= 1 && r.node_count <= 20 && floor(r.node_count) == r.node_count])
    error_message = "Every node_count must be a whole number from 1 to 20; got: ${join(", ", [for name, r in var.regions : "${name}=${r.node_count}" if !(r.node_count >= 1 && r.node_count <= 20 && floor(r.node_count) == r.node_count)])}."
  }
}

variable "node_addresses" {
  description = "The stable public IPv4 address of every node (in AWS: its Elastic IP), keyed by node name (<region>-<n>). It becomes the node's mesh.advertise, an entry of every node's mesh.seeds, and a SAN of its certificate. Every node of var.regions needs one."
  type        = map(string)
  nullable    = false

  validation {
    condition = alltrue([
      for address in values(var.node_addresses) :
      can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$", address))
    ])
    error_message = "Every node address must be an IPv4 address such as 203.0.113.10 (no port, no CIDR suffix); got: ${join(", ", [for name, address in var.node_addresses : "${name}=${jsonencode(address)}" if !can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$", address))])}."
  }

  validation {
    condition     = length(distinct(values(var.node_addresses))) == length(var.node_addresses)
    error_message = "Two nodes share an address; every node needs its own: ${join(", ", [for name, address in var.node_addresses : "${name}=${address}"])}."
  }
}

variable "origin" {
  description = "The S3 origin bucket every node reads segments from and ingest writes to: bucket name, the bucket's AWS region, and optionally the S3 endpoint as host:port without a scheme (default s3.<region>.amazonaws.com:443). Nodes authenticate with their instance role, so no keys are rendered."
  type = object({
    bucket   = string
    region   = string
    endpoint = optional(string)
  })
  nullable = false

  validation {
    condition = (
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.origin.bucket)) &&
      !can(regex("\\.\\.|\\.-|-\\.", var.origin.bucket)) &&
      !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.origin.bucket))
    )
    error_message = "origin.bucket must be 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit, without \"..\", \".-\" or \"-.\" and not an IP address; got \"${var.origin.bucket}\"."
  }

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]+$", var.origin.region))
    error_message = "origin.region must be an AWS region code such as ap-northeast-2; got \"${var.origin.region}\"."
  }

  validation {
    condition     = var.origin.endpoint == null || can(regex("^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:[0-9]{1,5}$", coalesce(var.origin.endpoint, "-")))
    error_message = "origin.endpoint must be host:port without a scheme or path, e.g. s3.ap-northeast-2.amazonaws.com:443 (the node picks https itself); got \"${coalesce(var.origin.endpoint, "null")}\"."
  }
}

variable "release" {
  description = "Where each instance downloads the relaymesh binary on first boot (an https:// URL, or an s3:// URL readable by the instance role, e.g. in the origin bucket under releases/) and the SHA-256 of that file, checked before it is installed. Build it with: GOOS=linux GOARCH=amd64 go build -o relaymesh ./cmd/relaymesh; sha256sum relaymesh."
  type = object({
    url    = string
    sha256 = string
  })
  nullable = false

  # The URL is pasted into a shell script in single quotes: no quotes, no $.
  validation {
    condition     = can(regex("^(https|s3)://[A-Za-z0-9._~:/?#@!&()*+,;=%-]+$", var.release.url))
    error_message = "release.url must be an https:// or s3:// URL without quotes, spaces or \"$\"; got \"${var.release.url}\"."
  }

  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.release.sha256))
    error_message = "release.sha256 must be the 64 lowercase hex digits printed by sha256sum; got \"${var.release.sha256}\"."
  }
}

variable "data_dir" {
  description = "The node's state directory (node.data_dir): chat history, segment cache, ingest spool. It must survive restarts, so not a tmpfs."
  type        = string
  default     = "/var/lib/relaymesh"
  nullable    = false

  validation {
    condition     = can(regex("^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$", var.data_dir)) && !startswith(var.data_dir, "/tmp") && !startswith(var.data_dir, "/run")
    error_message = "data_dir must be an absolute path of letters, digits, '.', '_', '-' and '/', outside /tmp and /run (a tmpfs loses the ingest spool); got \"${var.data_dir}\"."
  }
}

variable "log_level" {
  description = "The nodes' log level (log.level): debug, info, warn or error."
  type        = string
  default     = "info"
  nullable    = false

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be one of debug, info, warn, error; got \"${var.log_level}\"."
  }
}

variable "log_format" {
  description = "The nodes' log format (log.format): json (for log shippers) or text."
  type        = string
  default     = "json"
  nullable    = false

  validation {
    condition     = contains(["json", "text"], var.log_format)
    error_message = "log_format must be json or text; got \"${var.log_format}\"."
  }
}
