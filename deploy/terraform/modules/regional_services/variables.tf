variable "environment" {
  description = "Name of this deployment."
  type        = string
}

variable "region" {
  description = "The AWS region of every resource of this module (the AWS provider's per-resource region)."
  type        = string
}

variable "hugmood_region" {
  description = "HUGMOOD_REGION of this region's processes (NATS subject prefix, mesh keys)."
  type        = string
}

variable "vpc_cidr" {
  description = "The region's VPC range; private and public subnets are carved from it."
  type        = string
}

variable "availability_zones" {
  description = "Three availability zones of the region."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate of the public name, in this region, for the load balancer's TLS listener."
  type        = string
}

variable "postgres" {
  description = "The event store's PostgreSQL: instance class, storage (GiB) and the number of read replicas."
  type = object({
    instance_class    = string
    allocated_storage = number
    replicas          = number
  })
}

variable "redis" {
  description = "Redis (presence, cursors, cross-process fan-out) in cluster mode: node type, shards, replicas per shard."
  type = object({
    node_type          = string
    shards             = number
    replicas_per_shard = number
  })
}

variable "redis_auth_token" {
  description = "Redis AUTH token; put the same value in HUGMOOD_REDIS_URL. Give it with TF_VAR_ from a password manager, never in a file."
  type        = string
  sensitive   = true
}

variable "kubernetes" {
  description = "The EKS cluster: version, node instance types and the autoscaling bounds of the application node pool."
  type = object({
    version        = string
    instance_types = list(string)
    min_nodes      = number
    max_nodes      = number
  })
}

variable "nats" {
  description = "The NATS JetStream node pool: three nodes, one per zone (their file storage is on encrypted EBS volumes claimed by the StatefulSet)."
  type = object({
    instance_type = string
  })
}

variable "operator_role_arns" {
  description = "IAM roles allowed to administer the region's key and cluster."
  type        = list(string)
}

variable "identity_secrets_policy_arn" {
  description = "IAM policy that reads the identity secrets (from the identity module)."
  type        = string
}

variable "data_lake_write_policy_arn" {
  description = "IAM policy that writes de-identified exports to the data lake (from the data_analytics module)."
  type        = string
}
