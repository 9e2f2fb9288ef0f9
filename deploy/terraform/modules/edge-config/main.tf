# Everything about an edge node that can be computed without a cloud: the
# ports, the node list, each node's relaymesh config and its cloud-init. The
# AWS stack (../../) feeds these outputs into launch templates, security groups
# and health checks, so the firewall, the DNS health checks and the config the
# binary runs with all come from the same values.

locals {
  # The ports the relaymesh binary listens on: config.DefaultHTTPPort and
  # config.DefaultMeshPort in the Go config package. The Go tests in
  # deploy/terraform fail when these differ from the binary's defaults.
  ports = {
    # TCP, one HTTP server: fans (chat WebSocket, HLS), streamers (ingest),
    # ops (/healthz, metrics). Open to the world.
    http = 8080
    # UDP, QUIC: all inter-node traffic, gossip included. Open to peers only.
    mesh = 7946
  }

  # The binary's region catalog (regions.All() in Go): relaymesh region name to
  # the AWS region its latency model was measured in. Used by a check block
  # only; the structural Go test keeps it equal to the catalog.
  catalog = {
    seoul     = "ap-northeast-2"
    tokyo     = "ap-northeast-1"
    virginia  = "us-east-1"
    frankfurt = "eu-central-1"
  }

  # Where cloud-init puts things on the instance.
  config_path = "/etc/relaymesh/relaymesh.yaml"
  tls_dir     = "/etc/relaymesh/tls"

  # The cluster CA, one copy per AWS region in SSM Parameter Store. Nodes
  # read both at first boot and issue their own certificate.
  ca_parameter_names = {
    cert = "/${var.cluster_name}/cluster-ca/cert"
    key  = "/${var.cluster_name}/cluster-ca/key"
  }

  origin = {
    bucket   = var.origin.bucket
    region   = var.origin.region
    endpoint = coalesce(var.origin.endpoint, "s3.${var.origin.region}.amazonaws.com:443")
  }

  # One entry per node, named <region>-<n> (a DNS label, as node.name must be).
  nodes = merge([
    for region, r in var.regions : {
      for i in range(1, r.node_count + 1) : "${region}-${i}" => {
        name       = "${region}-${i}"
        region     = region
        aws_region = r.aws_region
        index      = i
      }
    }
  ]...)

  # Missing addresses render as "" so the output preconditions below, not an
  # index error, report them.
  addresses = { for name in keys(local.nodes) : name => lookup(var.node_addresses, name, "") }

  missing_addresses = sort([for name in keys(local.nodes) : name if !contains(keys(var.node_addresses), name)])
  unknown_addresses = sort([for name in keys(var.node_addresses) : name if !contains(keys(local.nodes), name)])

  # Every node seeds from every node, itself included (the binary allows it),
  # so all nodes share one list and any live node lets a restart rejoin.
  mesh_seeds = [for name in sort(keys(local.nodes)) : "${local.addresses[name]}:${local.ports.mesh}"]

  node_configs = {
    for name, node in local.nodes : name => templatefile("${path.module}/templates/node.yaml.tftpl", {
      name        = name
      region      = node.region
      config_path = local.config_path
      data_dir    = var.data_dir
      http_port   = local.ports.http
      mesh_port   = local.ports.mesh
      advertise   = "${local.addresses[name]}:${local.ports.mesh}"
      seeds       = local.mesh_seeds
      ca_file     = "${local.tls_dir}/ca.pem"
      cert_file   = "${local.tls_dir}/${name}.pem"
      key_file    = "${local.tls_dir}/${name}-key.pem"
      origin      = local.origin
      log_level   = var.log_level
      log_format  = var.log_format
    })
  }

  cloud_init = {
    for name, node in local.nodes : name => templatefile("${path.module}/templates/cloud-init.yaml.tftpl", {
      name        = name
      region      = node.region
      aws_region  = node.aws_region
      config_path = local.config_path
      node_config = local.node_configs[name]
      service = templatefile("${path.module}/templates/relaymesh.service.tftpl", {
        config_path = local.config_path
        data_dir    = var.data_dir
      })
      bootstrap = templatefile("${path.module}/templates/bootstrap.sh.tftpl", {
        name              = name
        aws_region        = node.aws_region
        address           = local.addresses[name]
        release_url       = var.release.url
        release_sha256    = var.release.sha256
        ca_cert_parameter = local.ca_parameter_names.cert
        ca_key_parameter  = local.ca_parameter_names.key
        config_path       = local.config_path
        tls_dir           = local.tls_dir
        data_dir          = var.data_dir
      })
    })
  }
}
