# Renders the four production regions (two nodes each) and asserts what every
# region's nodes get. No providers: `terraform test` runs offline.
#   terraform -chdir=deploy/terraform/modules/edge-config init -backend=false
#   terraform -chdir=deploy/terraform/modules/edge-config test

variables {
  regions = {
    seoul     = { aws_region = "ap-northeast-2", node_count = 2 }
    tokyo     = { aws_region = "ap-northeast-1", node_count = 2 }
    virginia  = { aws_region = "us-east-1", node_count = 2 }
    frankfurt = { aws_region = "eu-central-1", node_count = 2 }
  }
  node_addresses = {
    "seoul-1"     = "203.0.113.11"
    "seoul-2"     = "203.0.113.12"
    "tokyo-1"     = "203.0.113.21"
    "tokyo-2"     = "203.0.113.22"
    "virginia-1"  = "198.51.100.31"
    "virginia-2"  = "198.51.100.32"
    "frankfurt-1" = "198.51.100.41"
    "frankfurt-2" = "198.51.100.42"
  }
  origin = {
    bucket = "relaymesh-origin-test"
    region = "ap-northeast-2"
  }
  release = {
    url    = "https://releases.example.com/relaymesh/v1.0.0/relaymesh-linux-amd64"
    sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
  }
}

run "ports_and_nodes" {
  command = apply

  assert {
    condition     = output.ports == { http = 8080, mesh = 7946 }
    error_message = "ports must be the binary's defaults (HTTP 8080/TCP, mesh 7946/UDP); got ${jsonencode(output.ports)}."
  }

  assert {
    condition     = toset(keys(output.regions)) == toset(["seoul", "tokyo", "virginia", "frankfurt"])
    error_message = "regions output must have the four regions; got ${jsonencode(keys(output.regions))}."
  }

  assert {
    condition     = toset(keys(output.nodes)) == toset(keys(var.node_addresses))
    error_message = "nodes must be <region>-1 and <region>-2 of every region; got ${jsonencode(keys(output.nodes))}."
  }

  assert {
    condition     = output.regions.virginia == { aws_region = "us-east-1", node_count = 2, node_names = ["virginia-1", "virginia-2"] }
    error_message = "regions.virginia is wrong: ${jsonencode(output.regions.virginia)}."
  }

  assert {
    condition     = length(output.mesh_seeds) == 8 && contains(output.mesh_seeds, "198.51.100.42:7946")
    error_message = "mesh_seeds must list all eight nodes on the mesh port; got ${jsonencode(output.mesh_seeds)}."
  }
}

# What every node's config shares, checked over all nodes at once.
run "every_node" {
  command = apply

  assert {
    condition = alltrue([
      for name, doc in output.node_configs : yamldecode(doc).node.name == name
    ])
    error_message = "node.name must be the node's key in every config."
  }

  assert {
    condition = alltrue([
      for name, doc in output.node_configs :
      yamldecode(doc).mesh.advertise == "${var.node_addresses[name]}:7946" &&
      yamldecode(doc).mesh.listen == ":7946" &&
      yamldecode(doc).http.listen == ":8080"
    ])
    error_message = "Every node must listen on :8080 (HTTP) and :7946 (mesh) and advertise its own address on the mesh port."
  }

  assert {
    condition = alltrue([
      for name, doc in output.node_configs : yamldecode(doc).mesh.seeds == output.mesh_seeds
    ])
    error_message = "Every node must carry the shared seed list."
  }

  assert {
    condition = alltrue([
      for name, doc in output.node_configs : yamldecode(doc).tls == {
        ca_file   = "/etc/relaymesh/tls/ca.pem"
        cert_file = "/etc/relaymesh/tls/${name}.pem"
        key_file  = "/etc/relaymesh/tls/${name}-key.pem"
      }
    ])
    error_message = "tls must name the files `relaymesh certs node --name NODE --out /etc/relaymesh/tls` writes (NODE.pem, NODE-key.pem) and the CA copied beside them."
  }

  assert {
    condition = alltrue([
      for name, doc in output.node_configs : yamldecode(doc).origin == {
        endpoint = "s3.ap-northeast-2.amazonaws.com:443"
        bucket   = "relaymesh-origin-test"
        region   = "ap-northeast-2"
        use_tls  = true
      }
    ])
    error_message = "Every node must use the one origin bucket over TLS with no keys (instance role)."
  }

  assert {
    condition = alltrue([
      for name, doc in output.node_configs :
      yamldecode(doc).log == { level = "info", format = "json" } && yamldecode(doc).node.data_dir == "/var/lib/relaymesh"
    ])
    error_message = "log and data_dir must take the module defaults (info, json, /var/lib/relaymesh)."
  }

  assert {
    condition = alltrue([
      for name, doc in output.cloud_init :
      startswith(doc, "#cloud-config\n") &&
      one([for f in yamldecode(doc).write_files : f.content if f.path == "/etc/relaymesh/relaymesh.yaml"]) == output.node_configs[name] &&
      yamldecode(doc).runcmd == [["/usr/local/sbin/relaymesh-bootstrap"]]
    ])
    error_message = "Every cloud-init must be a #cloud-config that writes exactly the node's config and runs the bootstrap."
  }
}

# One run per region: the region's nodes carry its name, and their bootstrap
# talks to SSM in the node's own AWS region.
run "seoul" {
  command = apply

  assert {
    condition     = [for n in ["seoul-1", "seoul-2"] : yamldecode(output.node_configs[n]).node.region] == ["seoul", "seoul"]
    error_message = "Seoul nodes must have node.region seoul."
  }

  assert {
    condition     = yamldecode(output.node_configs["seoul-2"]).mesh.advertise == "203.0.113.12:7946"
    error_message = "seoul-2 must advertise 203.0.113.12:7946; got ${yamldecode(output.node_configs["seoul-2"]).mesh.advertise}."
  }

  assert {
    condition     = strcontains(output.cloud_init["seoul-1"], "readonly aws_region='ap-northeast-2'") && strcontains(output.cloud_init["seoul-1"], "readonly advertise_host='203.0.113.11'")
    error_message = "seoul-1 must fetch the CA from ap-northeast-2 and put 203.0.113.11 in its certificate."
  }
}

run "tokyo" {
  command = apply

  assert {
    condition     = [for n in ["tokyo-1", "tokyo-2"] : yamldecode(output.node_configs[n]).node.region] == ["tokyo", "tokyo"]
    error_message = "Tokyo nodes must have node.region tokyo."
  }

  assert {
    condition     = yamldecode(output.node_configs["tokyo-1"]).mesh.advertise == "203.0.113.21:7946"
    error_message = "tokyo-1 must advertise 203.0.113.21:7946."
  }

  assert {
    condition     = strcontains(output.cloud_init["tokyo-2"], "readonly aws_region='ap-northeast-1'")
    error_message = "tokyo-2 must fetch the CA from ap-northeast-1."
  }
}

run "virginia" {
  command = apply

  assert {
    condition     = [for n in ["virginia-1", "virginia-2"] : yamldecode(output.node_configs[n]).node.region] == ["virginia", "virginia"]
    error_message = "Virginia nodes must have node.region virginia."
  }

  assert {
    condition     = yamldecode(output.node_configs["virginia-2"]).mesh.advertise == "198.51.100.32:7946"
    error_message = "virginia-2 must advertise 198.51.100.32:7946."
  }

  assert {
    condition     = strcontains(output.cloud_init["virginia-1"], "readonly aws_region='us-east-1'")
    error_message = "virginia-1 must fetch the CA from us-east-1."
  }
}

run "frankfurt" {
  command = apply

  assert {
    condition     = [for n in ["frankfurt-1", "frankfurt-2"] : yamldecode(output.node_configs[n]).node.region] == ["frankfurt", "frankfurt"]
    error_message = "Frankfurt nodes must have node.region frankfurt."
  }

  assert {
    condition     = yamldecode(output.node_configs["frankfurt-1"]).mesh.advertise == "198.51.100.41:7946"
    error_message = "frankfurt-1 must advertise 198.51.100.41:7946."
  }

  assert {
    condition     = strcontains(output.cloud_init["frankfurt-2"], "readonly aws_region='eu-central-1'")
    error_message = "frankfurt-2 must fetch the CA from eu-central-1."
  }
}

run "overrides" {
  command = apply

  variables {
    cluster_name = "staging"
    data_dir     = "/srv/relaymesh"
    log_level    = "debug"
    log_format   = "text"
    origin = {
      bucket   = "staging-origin"
      region   = "us-east-1"
      endpoint = "s3.dualstack.us-east-1.amazonaws.com:443"
    }
    release = {
      url    = "s3://staging-origin/releases/relaymesh-linux-arm64"
      sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    }
  }

  assert {
    condition     = yamldecode(output.node_configs["tokyo-1"]).origin.endpoint == "s3.dualstack.us-east-1.amazonaws.com:443"
    error_message = "An explicit origin.endpoint must be rendered as given."
  }

  assert {
    condition     = yamldecode(output.node_configs["tokyo-1"]).log == { level = "debug", format = "text" }
    error_message = "log_level and log_format must reach the config."
  }

  assert {
    condition     = output.ca_parameter_names == { cert = "/staging/cluster-ca/cert", key = "/staging/cluster-ca/key" }
    error_message = "The CA parameter names must carry the cluster name."
  }

  assert {
    condition     = strcontains(output.cloud_init["tokyo-1"], "ReadWritePaths=/srv/relaymesh") && strcontains(output.cloud_init["tokyo-1"], "readonly release_url='s3://staging-origin/releases/relaymesh-linux-arm64'")
    error_message = "data_dir must reach the systemd unit and the release URL the bootstrap."
  }
}
