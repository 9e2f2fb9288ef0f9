output "ports" {
  description = "The ports the binary listens on: http (TCP; fans, streamers, ops, /healthz) and mesh (UDP, QUIC; all inter-node traffic). Equal to config.DefaultHTTPPort and config.DefaultMeshPort in Go."
  value       = local.ports
}

output "regions" {
  description = "The regions, keyed by relaymesh region name: aws_region, node_count and the sorted names of their nodes. Known at plan time (it depends only on var.regions), so the root stack can for_each over it."
  value = {
    for region, r in var.regions : region => {
      aws_region = r.aws_region
      node_count = r.node_count
      node_names = [for i in range(1, r.node_count + 1) : "${region}-${i}"]
    }
  }
}

output "nodes" {
  description = "Every node, keyed by node name (<region>-<n>): name, region (relaymesh), aws_region and index within its region. Known at plan time; it does not depend on node_addresses, so the caller can allocate addresses from it."
  value       = local.nodes
}

output "mesh_seeds" {
  description = "The mesh.seeds list every node is rendered with: every node's address and mesh port."
  value       = local.mesh_seeds

  precondition {
    condition     = length(local.missing_addresses) == 0
    error_message = "node_addresses has no address for: ${join(", ", local.missing_addresses)}. Every node of var.regions needs one."
  }
}

output "node_configs" {
  description = "The relaymesh config file (YAML) of every node, keyed by node name; what `relaymesh node --config` reads. Contains no secrets."
  value       = local.node_configs

  precondition {
    condition     = length(local.missing_addresses) == 0
    error_message = "node_addresses has no address for: ${join(", ", local.missing_addresses)}. Every node of var.regions needs one."
  }

  precondition {
    condition     = length(local.unknown_addresses) == 0
    error_message = "node_addresses names nodes that var.regions does not have: ${join(", ", local.unknown_addresses)}. Node names are <region>-<n> with n from 1 to that region's node_count."
  }
}

output "cloud_init" {
  description = "The cloud-init user data of every node, keyed by node name: writes the node config, the systemd unit and a bootstrap script that installs the release, issues the node certificate from the cluster CA in SSM, runs `relaymesh config check` and starts the service."
  value       = local.cloud_init

  precondition {
    condition     = length(local.missing_addresses) == 0
    error_message = "node_addresses has no address for: ${join(", ", local.missing_addresses)}. Every node of var.regions needs one."
  }
}

output "origin" {
  description = "The origin as the nodes see it: bucket, region and endpoint (host:port, no scheme)."
  value       = local.origin
}

output "ca_parameter_names" {
  description = "The SSM Parameter Store names the nodes read the cluster CA from at first boot, in their own AWS region: cert (String, PEM certificate) and key (SecureString, PEM private key)."
  value       = local.ca_parameter_names
}
