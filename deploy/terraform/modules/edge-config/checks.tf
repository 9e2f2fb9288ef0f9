# Checks report problems that do not stop a deployment but that an operator
# should see on every plan (Terraform prints them as warnings).

check "regions_redundant" {
  assert {
    condition     = alltrue([for r in values(var.regions) : r.node_count >= 2])
    error_message = "Regions with a single node: ${join(", ", [for name, r in var.regions : name if r.node_count < 2])}. When that node dies its fans fail over to another region (longer paths) until it is replaced; run at least two nodes per region in production."
  }
}

check "catalog_aws_regions" {
  assert {
    condition     = alltrue([for name, r in var.regions : lookup(local.catalog, name, r.aws_region) == r.aws_region])
    error_message = "Regions deployed outside the AWS region their latency model was measured in: ${join(", ", [for name, r in var.regions : "${name} in ${r.aws_region} (catalog: ${local.catalog[name]})" if lookup(local.catalog, name, r.aws_region) != r.aws_region])}. The mesh ranks regions and picks chat-tree parents from that model, so paths may be longer than necessary."
  }
}

check "public_node_addresses" {
  assert {
    condition = alltrue([
      for address in values(var.node_addresses) :
      !can(regex("^(10\\.|192\\.168\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|127\\.)", address))
    ])
    error_message = "Private node addresses: ${join(", ", [for name, address in var.node_addresses : "${name}=${address}" if can(regex("^(10\\.|192\\.168\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|127\\.)", address))])}. Nodes in other regions dial mesh.advertise over the internet; without peered VPCs a private address is unreachable from there."
  }
}
