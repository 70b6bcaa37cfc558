output "bucket_name" {
  description = "The data lake's bucket."
  value       = aws_s3_bucket.lake.bucket
}

output "kms_key_arn" {
  description = "The data lake's key."
  value       = aws_kms_key.lake.arn
}

output "write_policy_arn" {
  description = "IAM policy that writes cohorts to the lake (attached to each region's workload role)."
  value       = aws_iam_policy.write.arn
}

output "athena_workgroup" {
  description = "Athena workgroup for queries over the lake."
  value       = aws_athena_workgroup.lake.name
}
