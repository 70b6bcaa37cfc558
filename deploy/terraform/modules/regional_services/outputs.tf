output "hugmood_region" {
  description = "HUGMOOD_REGION of this region's processes."
  value       = var.hugmood_region
}

output "load_balancer_arn" {
  description = "The public Network Load Balancer (the edge network's endpoint in this region)."
  value       = aws_lb.edge.arn
}

output "edge_target_group_arn" {
  description = "Target group of the edge pods, for the TargetGroupBinding."
  value       = aws_lb_target_group.edge.arn
}

output "kubernetes_cluster_name" {
  description = "The region's EKS cluster."
  value       = aws_eks_cluster.main.name
}

output "postgres_endpoint" {
  description = "host:port of the event store's primary (HUGMOOD_DATABASE_URL)."
  value       = aws_db_instance.event_store.endpoint
}

output "postgres_replica_endpoints" {
  description = "host:port of each read replica."
  value       = aws_db_instance.replica[*].endpoint
}

output "postgres_secret_arn" {
  description = "Secrets Manager secret RDS manages for the administrator's password."
  value       = aws_db_instance.event_store.master_user_secret[0].secret_arn
}

output "redis_configuration_endpoint" {
  description = "Redis cluster's configuration endpoint (HUGMOOD_REDIS_URL, rediss://)."
  value       = aws_elasticache_replication_group.redis.configuration_endpoint_address
}

output "nats_node_group" {
  description = "Names of the NATS node groups, one per zone."
  value       = aws_eks_node_group.nats[*].node_group_name
}

output "workload_role_arn" {
  description = "IAM role of HugMood's pods (service account hugmood/hugmood, by EKS Pod Identity)."
  value       = aws_iam_role.workload.arn
}

output "kms_key_arn" {
  description = "The region's key for data at rest (also the storage class's kmsKeyId)."
  value       = aws_kms_key.region.arn
}
