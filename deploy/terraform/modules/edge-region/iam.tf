# The instance role may touch the origin bucket's objects and read the two
# cluster CA parameters of its own region; nothing else (unless Session
# Manager is enabled). IAM is global, so these resources have no region.

data "aws_partition" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "edge" {
  statement {
    sid       = "OriginObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${var.origin_bucket_arn}/*"]
  }

  # Listing lets a missing segment answer 404 rather than 403, and lets the
  # node find a stream's objects; it grants no object access by itself.
  statement {
    sid       = "OriginList"
    actions   = ["s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [var.origin_bucket_arn]
  }

  # The account is left as * because the parameter names are specific and a
  # role can only read its own account's parameters.
  statement {
    sid     = "ClusterCA"
    actions = ["ssm:GetParameter"]
    resources = [
      for name in [var.ca_parameter_names.cert, var.ca_parameter_names.key] :
      "arn:${data.aws_partition.current.partition}:ssm:${var.aws_region}:*:parameter${name}"
    ]
  }
}

resource "aws_iam_role" "edge" {
  name               = "${local.name}-edge"
  description        = "relaymesh edge nodes of ${var.region_name} (${var.aws_region})"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "edge" {
  name   = "relaymesh-edge"
  role   = aws_iam_role.edge.id
  policy = data.aws_iam_policy_document.edge.json
}

resource "aws_iam_role_policy_attachment" "session_manager" {
  count = var.enable_session_manager ? 1 : 0

  role       = aws_iam_role.edge.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "edge" {
  name = "${local.name}-edge"
  role = aws_iam_role.edge.name
  tags = local.tags
}
