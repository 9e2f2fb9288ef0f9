# The cluster CA, copied into this region's Parameter Store so a node's first
# boot depends on nothing outside its region. Nodes issue their own
# certificate from it (see edge-config's bootstrap script).

resource "aws_ssm_parameter" "ca_cert" {
  count = var.manage_cluster_ca ? 1 : 0

  region      = var.aws_region
  name        = var.ca_parameter_names.cert
  description = "relaymesh cluster CA certificate (PEM)"
  type        = "String"
  value       = var.cluster_ca_cert_pem
  tags        = local.tags

  lifecycle {
    precondition {
      condition     = var.cluster_ca_cert_pem != null
      error_message = "manage_cluster_ca is true but cluster_ca_cert_pem is not set: pass the CA certificate (ca.pem from `relaymesh certs ca`)."
    }
  }
}

resource "aws_ssm_parameter" "ca_key" {
  count = var.manage_cluster_ca ? 1 : 0

  region      = var.aws_region
  name        = var.ca_parameter_names.key
  description = "relaymesh cluster CA private key (PEM)"
  type        = "SecureString"
  value       = var.cluster_ca_key_pem
  tags        = local.tags

  lifecycle {
    precondition {
      condition     = var.cluster_ca_key_pem != null
      error_message = "manage_cluster_ca is true but cluster_ca_key_pem is not set: pass the CA key (ca-key.pem from `relaymesh certs ca`), or set manage_cluster_ca = false and put it in SSM yourself."
    }
  }
}
