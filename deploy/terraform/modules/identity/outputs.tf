output "secrets_read_policy_arn" {
  description = "IAM policy that reads the identity secrets (attached to each region's workload role)."
  value       = aws_iam_policy.secrets_read.arn
}

output "secret_arns" {
  description = "The secret key's, the master key's and each OIDC client secret's ARN."
  value = merge(
    {
      secret_key = aws_secretsmanager_secret.secret_key.arn
      master_key = aws_secretsmanager_secret.master_key.arn
    },
    { for name, s in aws_secretsmanager_secret.oidc : "oidc_${name}" => s.arn },
  )
}

output "kms_key_arn" {
  description = "The identity key (multi-region primary)."
  value       = aws_kms_key.identity.arn
}
