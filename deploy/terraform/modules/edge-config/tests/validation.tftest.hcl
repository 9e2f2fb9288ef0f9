# Bad input fails at plan with a message that names the fix; questionable
# input plans with a warning (check blocks). Each run breaks one thing.

variables {
  regions = {
    seoul = { aws_region = "ap-northeast-2", node_count = 2 }
    tokyo = { aws_region = "ap-northeast-1", node_count = 2 }
  }
  node_addresses = {
    "seoul-1" = "203.0.113.11"
    "seoul-2" = "203.0.113.12"
    "tokyo-1" = "203.0.113.21"
    "tokyo-2" = "203.0.113.22"
  }
  origin = {
    bucket = "relaymesh-origin-test"
    region = "ap-northeast-2"
  }
  release = {
    url    = "https://releases.example.com/relaymesh-linux-amd64"
    sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
  }
}

run "valid_baseline" {
  command = plan

  assert {
    condition     = length(output.node_configs) == 4
    error_message = "The baseline input must plan cleanly with four nodes."
  }
}

run "region_unknown_to_binary" {
  command = plan
  variables {
    regions = {
      seoul = { aws_region = "ap-northeast-2", node_count = 2 }
      osaka = { aws_region = "ap-northeast-3", node_count = 2 }
    }
  }
  expect_failures = [var.regions]
}

run "no_regions" {
  command = plan
  variables {
    regions = {}
  }
  expect_failures = [var.regions]
}

run "aws_region_not_a_code" {
  command = plan
  variables {
    regions = {
      seoul = { aws_region = "Seoul", node_count = 2 }
    }
  }
  expect_failures = [var.regions]
}

run "aws_region_shared" {
  command = plan
  variables {
    regions = {
      seoul = { aws_region = "ap-northeast-2", node_count = 2 }
      tokyo = { aws_region = "ap-northeast-2", node_count = 2 }
    }
  }
  expect_failures = [var.regions]
}

run "node_count_zero" {
  command = plan
  variables {
    regions = {
      seoul = { aws_region = "ap-northeast-2", node_count = 0 }
    }
  }
  expect_failures = [var.regions]
}

run "node_count_fraction" {
  command = plan
  variables {
    regions = {
      seoul = { aws_region = "ap-northeast-2", node_count = 1.5 }
    }
  }
  expect_failures = [var.regions]
}

run "address_with_port" {
  command = plan
  variables {
    node_addresses = {
      "seoul-1" = "203.0.113.11:7946"
      "seoul-2" = "203.0.113.12"
      "tokyo-1" = "203.0.113.21"
      "tokyo-2" = "203.0.113.22"
    }
  }
  expect_failures = [var.node_addresses]
}

run "address_shared" {
  command = plan
  variables {
    node_addresses = {
      "seoul-1" = "203.0.113.11"
      "seoul-2" = "203.0.113.11"
      "tokyo-1" = "203.0.113.21"
      "tokyo-2" = "203.0.113.22"
    }
  }
  expect_failures = [var.node_addresses]
}

run "address_missing" {
  command = plan
  variables {
    node_addresses = {
      "seoul-1" = "203.0.113.11"
      "seoul-2" = "203.0.113.12"
      "tokyo-1" = "203.0.113.21"
    }
  }
  expect_failures = [output.mesh_seeds, output.node_configs, output.cloud_init]
}

run "address_for_unknown_node" {
  command = plan
  variables {
    node_addresses = {
      "seoul-1" = "203.0.113.11"
      "seoul-2" = "203.0.113.12"
      "tokyo-1" = "203.0.113.21"
      "tokyo-2" = "203.0.113.22"
      "tokyo-3" = "203.0.113.23"
    }
  }
  expect_failures = [output.node_configs]
}

run "origin_endpoint_with_scheme" {
  command = plan
  variables {
    origin = {
      bucket   = "relaymesh-origin-test"
      region   = "ap-northeast-2"
      endpoint = "https://s3.ap-northeast-2.amazonaws.com"
    }
  }
  expect_failures = [var.origin]
}

run "origin_bucket_uppercase" {
  command = plan
  variables {
    origin = {
      bucket = "RelayMesh-Origin"
      region = "ap-northeast-2"
    }
  }
  expect_failures = [var.origin]
}

run "release_over_plain_http" {
  command = plan
  variables {
    release = {
      url    = "http://releases.example.com/relaymesh"
      sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    }
  }
  expect_failures = [var.release]
}

run "release_url_breaks_out_of_quotes" {
  command = plan
  variables {
    release = {
      url    = "https://example.com/x'; rm -rf / #"
      sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    }
  }
  expect_failures = [var.release]
}

run "release_sha256_short" {
  command = plan
  variables {
    release = {
      url    = "https://releases.example.com/relaymesh"
      sha256 = "9f86d081"
    }
  }
  expect_failures = [var.release]
}

run "log_level_unknown" {
  command = plan
  variables {
    log_level = "verbose"
  }
  expect_failures = [var.log_level]
}

run "log_format_unknown" {
  command = plan
  variables {
    log_format = "logfmt"
  }
  expect_failures = [var.log_format]
}

run "data_dir_on_tmpfs" {
  command = plan
  variables {
    data_dir = "/run/relaymesh"
  }
  expect_failures = [var.data_dir]
}

run "cluster_name_uppercase" {
  command = plan
  variables {
    cluster_name = "RelayMesh"
  }
  expect_failures = [var.cluster_name]
}

# Warnings: the plan goes through, the check block reports.

run "single_node_region_warns" {
  command = plan
  variables {
    regions = {
      seoul = { aws_region = "ap-northeast-2", node_count = 1 }
    }
    node_addresses = { "seoul-1" = "203.0.113.11" }
  }
  expect_failures = [check.regions_redundant]
}

run "region_outside_catalog_warns" {
  command = plan
  variables {
    regions = {
      seoul = { aws_region = "ap-northeast-2", node_count = 2 }
      tokyo = { aws_region = "ap-northeast-3", node_count = 2 }
    }
  }
  expect_failures = [check.catalog_aws_regions]
}

run "private_address_warns" {
  command = plan
  variables {
    node_addresses = {
      "seoul-1" = "10.0.1.5"
      "seoul-2" = "203.0.113.12"
      "tokyo-1" = "203.0.113.21"
      "tokyo-2" = "203.0.113.22"
    }
  }
  expect_failures = [check.public_node_addresses]
}
