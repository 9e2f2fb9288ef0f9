# The S3 origin: every stream's playlists and segments (written by ingest,
# read by every edge), the chat archive, optionally the release binary. In
# home_region; private, encrypted, versioned, TLS-only.

resource "aws_s3_bucket" "origin" {
  region        = var.home_region
  bucket        = var.origin_bucket_name
  force_destroy = var.origin_force_destroy
}

resource "aws_s3_bucket_ownership_controls" "origin" {
  region = var.home_region
  bucket = aws_s3_bucket.origin.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "origin" {
  region                  = var.home_region
  bucket                  = aws_s3_bucket.origin.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "origin" {
  region = var.home_region
  bucket = aws_s3_bucket.origin.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "origin" {
  region = var.home_region
  bucket = aws_s3_bucket.origin.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "origin" {
  region = var.home_region
  bucket = aws_s3_bucket.origin.id

  # Chat is kept hot for 30 days, then archived cold.
  rule {
    id     = "chat-archive-to-glacier"
    status = "Enabled"

    filter {
      prefix = var.chat_archive_prefix
    }

    transition {
      days          = var.chat_archive_glacier_days
      storage_class = "GLACIER"
    }
  }

  # Versioning keeps overwritten and deleted objects; do not keep them forever.
  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {
      prefix = ""
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Lifecycle rules act on versions, so versioning must be on first.
  depends_on = [aws_s3_bucket_versioning.origin]
}

data "aws_iam_policy_document" "origin" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.origin.arn,
      "${aws_s3_bucket.origin.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "origin" {
  region = var.home_region
  bucket = aws_s3_bucket.origin.id
  policy = data.aws_iam_policy_document.origin.json

  depends_on = [aws_s3_bucket_public_access_block.origin]
}
