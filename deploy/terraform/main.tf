# The root composes the vision's four parts: the global edge, each region's services, the
# data lake, and identity's secrets.

module "identity" {
  source = "./modules/identity"

  environment        = var.environment
  home_region        = var.home_region
  replica_regions    = [for name in keys(var.regions) : name if name != var.home_region]
  oidc_providers     = var.oidc_providers
  operator_role_arns = var.operator_role_arns
}

module "regional_services" {
  source   = "./modules/regional_services"
  for_each = var.regions

  environment        = var.environment
  region             = each.key
  hugmood_region     = each.value.hugmood_region
  vpc_cidr           = each.value.vpc_cidr
  availability_zones = each.value.availability_zones
  certificate_arn    = each.value.certificate_arn
  postgres           = each.value.postgres
  redis              = each.value.redis
  kubernetes         = each.value.kubernetes
  nats               = each.value.nats
  operator_role_arns = var.operator_role_arns

  identity_secrets_policy_arn = module.identity.secrets_read_policy_arn
  data_lake_write_policy_arn  = module.data_analytics.write_policy_arn
  redis_auth_token            = var.redis_auth_tokens[each.key]
}

module "edge_network" {
  source = "./modules/edge_network"

  environment = var.environment
  domain_name = var.domain_name
  regional_endpoints = {
    for name, region in module.regional_services : name => {
      load_balancer_arn = region.load_balancer_arn
      weight            = 100
    }
  }
}

module "data_analytics" {
  source = "./modules/data_analytics"

  environment        = var.environment
  region             = var.home_region
  retention_days     = var.data_lake_retention_days
  operator_role_arns = var.operator_role_arns
}
