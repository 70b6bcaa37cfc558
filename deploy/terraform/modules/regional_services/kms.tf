data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name         = "hugmood-${var.environment}-${var.hugmood_region}"
  account_id   = data.aws_caller_identity.current.account_id
  partition    = data.aws_partition.current.partition
  account_root = "arn:${local.partition}:iam::${local.account_id}:root"
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:a key policy's resource "*" is this key alone; the account root and the operators administer it
  #checkov:skip=CKV_AWS_356:a key policy's resource "*" is this key alone
  #checkov:skip=CKV_AWS_109:a key policy's resource "*" is this key alone; only the account root, the operators and CloudWatch Logs are principals
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
  statement {
    sid       = "CloudWatchLogsEncrypt"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:*"]
    }
  }
}

# One key per region encrypts everything at rest there: PostgreSQL, Redis, EBS volumes (NATS'
# file storage among them), Kubernetes secrets and the logs.
resource "aws_kms_key" "region" {
  region                  = var.region
  description             = "${local.name}: data at rest"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "region" {
  region        = var.region
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.region.key_id
}
