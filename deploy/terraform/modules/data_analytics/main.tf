# The data lake: de-identified check-ins (the analytics column store's Parquet exports, never
# a person's id or words), encrypted with its own KMS key, tiered and expired by lifecycle
# rules, queried with Athena through a Glue catalog.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name         = "hugmood-${var.environment}-lake"
  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:a key policy's resource "*" is this key alone; the account root and the operators administer it
  #checkov:skip=CKV_AWS_356:a key policy's resource "*" is this key alone
  #checkov:skip=CKV_AWS_109:a key policy's resource "*" is this key alone; only the account root and the named operators are principals
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }
  }
  statement {
    sid = "OperatorsManage"
    actions = [
      "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
      "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
      "kms:RotateKeyOnDemand",
    ]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = var.operator_role_arns
    }
  }
}

resource "aws_kms_key" "lake" {
  region                  = var.region
  description             = "${local.name}: the data lake"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_s3_bucket" "lake" {
  #checkov:skip=CKV_AWS_144:the lake is rebuilt from the regional event stores; a second copy would only double what must be kept private
  #checkov:skip=CKV2_AWS_62:Athena reads on demand; nothing reacts to a new object
  region        = var.region
  bucket        = "${local.name}-${data.aws_caller_identity.current.account_id}"
  force_destroy = false
}

resource "aws_s3_bucket_public_access_block" "lake" {
  region                  = var.region
  bucket                  = aws_s3_bucket.lake.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "lake" {
  region = var.region
  bucket = aws_s3_bucket.lake.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "lake" {
  region = var.region
  bucket = aws_s3_bucket.lake.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "lake" {
  region = var.region
  bucket = aws_s3_bucket.lake.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.lake.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  region = var.region
  bucket = aws_s3_bucket.lake.id

  rule {
    id     = "tier-and-expire-cohorts"
    status = "Enabled"
    filter {
      prefix = "cohorts/"
    }
    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }
    transition {
      days          = 180
      storage_class = "GLACIER_IR"
    }
    expiration {
      days = var.retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }

  rule {
    id     = "expire-query-results"
    status = "Enabled"
    filter {
      prefix = "athena-results/"
    }
    expiration {
      days = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 3
    }
  }
}

resource "aws_s3_bucket_logging" "lake" {
  region        = var.region
  bucket        = aws_s3_bucket.lake.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "lake/"
}

data "aws_iam_policy_document" "lake" {
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.lake.arn, "${aws_s3_bucket.lake.arn}/*"]
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

resource "aws_s3_bucket_policy" "lake" {
  region = var.region
  bucket = aws_s3_bucket.lake.id
  policy = data.aws_iam_policy_document.lake.json
}

# Server access logs of the lake.
resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_145:S3 server access logging delivers to SSE-S3 buckets only
  #checkov:skip=CKV_AWS_18:this is the log bucket itself
  #checkov:skip=CKV_AWS_144:access logs are not worth a second copy in another region
  #checkov:skip=CKV2_AWS_62:nothing reacts to a new log object
  region        = var.region
  bucket        = "${local.name}-${data.aws_caller_identity.current.account_id}-access-logs"
  force_destroy = false
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  region                  = var.region
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "access_logs" {
  region = var.region
  bucket = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  region = var.region
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  region = var.region
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = 400
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_glue_catalog_database" "lake" {
  region      = var.region
  name        = replace("${local.name}", "-", "_")
  description = "De-identified cohorts of HugMood's analytics"
}

resource "aws_athena_workgroup" "lake" {
  region = var.region
  name   = local.name

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true

    result_configuration {
      output_location = "s3://${aws_s3_bucket.lake.bucket}/athena-results/"
      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = aws_kms_key.lake.arn
      }
    }
  }
}

data "aws_iam_policy_document" "write" {
  statement {
    sid       = "WriteCohorts"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.lake.arn}/cohorts/*"]
  }
  statement {
    sid       = "EncryptThem"
    actions   = ["kms:GenerateDataKey", "kms:Encrypt"]
    resources = [aws_kms_key.lake.arn]
  }
}

resource "aws_iam_policy" "write" {
  name        = "${local.name}-write"
  description = "Lets HugMood's analytics job write de-identified cohorts to the data lake"
  policy      = data.aws_iam_policy_document.write.json
}
