output "public_endpoint" {
  description = "The name people open: the global accelerator's anycast addresses behind var.domain_name."
  value       = module.edge_network.public_hostname
}

output "accelerator_dns_name" {
  description = "The global accelerator's own DNS name."
  value       = module.edge_network.accelerator_dns_name
}

output "regions" {
  description = "What each region's processes need: the settings to put in its Kubernetes Secret and ConfigMap (deploy/kubernetes/overlays/<region>)."
  value = {
    for name, region in module.regional_services : name => {
      hugmood_region          = region.hugmood_region
      kubernetes_cluster_name = region.kubernetes_cluster_name
      postgres_endpoint       = region.postgres_endpoint
      postgres_replicas       = region.postgres_replica_endpoints
      postgres_secret_arn     = region.postgres_secret_arn
      redis_endpoint          = region.redis_configuration_endpoint
      nats_node_group         = region.nats_node_group
      workload_role_arn       = region.workload_role_arn
      kms_key_arn             = region.kms_key_arn
    }
  }
}

output "data_lake_bucket" {
  description = "The de-identified analytics data lake."
  value       = module.data_analytics.bucket_name
}

output "identity_secret_arns" {
  description = "Secrets Manager secrets of the identity module (the secret key, each OIDC client secret)."
  value       = module.identity.secret_arns
}
