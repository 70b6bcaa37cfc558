# Identity's secrets: HUGMOOD_SECRET_KEY (sessions, the mesh's request signatures, one-time
# codes' hashing) and each social sign-in provider's client secret, encrypted with a
# multi-region KMS key and replicated to every region. HugMood itself does sign-in, MFA and
# OpenID Connect (the identity module of the application); this module only keeps its keys.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
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

resource "aws_kms_key" "identity" {
  region                  = var.home_region
  description             = "hugmood ${var.environment}: identity secrets"
  multi_region            = true
  enable_key_rotation     = true
  rotation_period_in_days = 90
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_replica_key" "identity" {
  for_each = toset(var.replica_regions)

  region                  = each.value
  description             = "hugmood ${var.environment}: identity secrets (replica)"
  primary_key_arn         = aws_kms_key.identity.arn
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_secretsmanager_secret" "secret_key" {
  #checkov:skip=CKV2_AWS_57:HUGMOOD_SECRET_KEY is rotated by the operator's procedure (README, rotating keys): every process of a region must switch together, which no rotation Lambda can do
  region                  = var.home_region
  name                    = "hugmood/${var.environment}/secret-key"
  description             = "HUGMOOD_SECRET_KEY: sessions and the service mesh's request signatures"
  kms_key_id              = aws_kms_key.identity.arn
  recovery_window_in_days = 30

  dynamic "replica" {
    for_each = aws_kms_replica_key.identity
    content {
      region     = replica.key
      kms_key_id = replica.value.arn
    }
  }
}

resource "aws_secretsmanager_secret" "master_key" {
  #checkov:skip=CKV2_AWS_57:HUGMOOD_MASTER_KEY is rotated with `hugmood keys rotate` (README, the keys): every data key is re-wrapped while the servers are stopped, which no rotation Lambda can do
  region                  = var.home_region
  name                    = "hugmood/${var.environment}/master-key"
  description             = "HUGMOOD_MASTER_KEY: wraps every person's data key (losing it loses everyone's entries)"
  kms_key_id              = aws_kms_key.identity.arn
  recovery_window_in_days = 30

  dynamic "replica" {
    for_each = aws_kms_replica_key.identity
    content {
      region     = replica.key
      kms_key_id = replica.value.arn
    }
  }
}

resource "aws_secretsmanager_secret" "oidc" {
  #checkov:skip=CKV2_AWS_57:a client secret is issued by the provider; the operator rotates it there and stores the new value here (README, rotating keys)
  for_each = var.oidc_providers

  region                  = var.home_region
  name                    = "hugmood/${var.environment}/oidc/${each.key}"
  description             = "Client secret of ${each.value.client_id} at ${each.value.issuer}"
  kms_key_id              = aws_kms_key.identity.arn
  recovery_window_in_days = 30

  dynamic "replica" {
    for_each = aws_kms_replica_key.identity
    content {
      region     = replica.key
      kms_key_id = replica.value.arn
    }
  }
}

data "aws_iam_policy_document" "read" {
  statement {
    sid     = "ReadIdentitySecrets"
    actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = concat(
      [aws_secretsmanager_secret.secret_key.arn, aws_secretsmanager_secret.master_key.arn],
      [for s in aws_secretsmanager_secret.oidc : s.arn],
    )
  }
  statement {
    sid       = "DecryptThem"
    actions   = ["kms:Decrypt"]
    resources = concat([aws_kms_key.identity.arn], [for k in aws_kms_replica_key.identity : k.arn])
  }
}

resource "aws_iam_policy" "secrets_read" {
  name        = "hugmood-${var.environment}-identity-secrets-read"
  description = "Lets HugMood's pods read the identity secrets"
  policy      = data.aws_iam_policy_document.read.json
}
