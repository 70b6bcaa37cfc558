variable "environment" {
  description = "Name of this deployment (production, staging)."
  type        = string
}

variable "home_region" {
  description = "Region of global resources (edge network, identity secrets' primary copies, the data lake)."
  type        = string
}

variable "domain_name" {
  description = "The public name people open (e.g. hugmood.example); its Route 53 zone must already exist."
  type        = string
}

variable "regions" {
  description = "Every region HugMood runs in, keyed by AWS region name, with its sizes. Adding one is adding an entry (README: adding a region)."
  type = map(object({
    hugmood_region     = string # HUGMOOD_REGION of its processes (e.g. eu-west); subject prefixes and mesh keys use it
    vpc_cidr           = string
    availability_zones = list(string)
    certificate_arn    = string # ACM certificate for var.domain_name in that region
    postgres = object({
      instance_class    = string
      allocated_storage = number
      replicas          = number
    })
    redis = object({
      node_type          = string
      shards             = number
      replicas_per_shard = number
    })
    kubernetes = object({
      version        = string
      instance_types = list(string)
      min_nodes      = number
      max_nodes      = number
    })
    nats = object({
      instance_type = string
    })
  }))

  validation {
    condition     = length(var.regions) >= 1
    error_message = "At least one region is needed."
  }
  validation {
    condition     = alltrue([for r in var.regions : length(r.availability_zones) == 3])
    error_message = "Each region needs three availability zones (NATS and PostgreSQL spread over them)."
  }
  validation {
    condition     = alltrue([for r in var.regions : contains(["1.32", "1.33", "1.34"], r.kubernetes.version)])
    error_message = "Kubernetes version must be one EKS supports in standard support: 1.32, 1.33 or 1.34."
  }
  validation {
    condition     = alltrue([for r in var.regions : r.postgres.replicas >= 1 && r.redis.replicas_per_shard >= 1])
    error_message = "Each region needs at least one PostgreSQL replica and one Redis replica per shard."
  }
}

variable "oidc_providers" {
  description = "Social sign-in providers (OpenID Connect) whose client secrets the identity module keeps."
  type = map(object({
    issuer    = string
    client_id = string
  }))
  default = {}

  validation {
    condition     = length(var.oidc_providers) <= 1
    error_message = "HugMood signs in with one OpenID Connect provider (HUGMOOD_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET)."
  }
}

variable "data_lake_retention_days" {
  description = "Days a de-identified analytics object is kept before it expires."
  type        = number
  default     = 730
}

variable "operator_role_arns" {
  description = "IAM roles of the operators allowed to administer the KMS keys and the clusters."
  type        = list(string)
}

variable "redis_auth_tokens" {
  description = "Redis AUTH token of each region (same keys as var.regions). Set it with TF_VAR_redis_auth_tokens from a password manager; never write it in a .tfvars file."
  type        = map(string)
  sensitive   = true
}
