# Redis for presence, board cursors and cross-process fan-out, in cluster mode with a replica
# per shard in another zone, encrypted at rest and in transit, AUTH required.

resource "aws_elasticache_subnet_group" "redis" {
  region     = var.region
  name       = "${local.name}-redis"
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_security_group" "redis" {
  region      = var.region
  name        = "${local.name}-redis"
  description = "Redis: reachable from the Kubernetes nodes only"
  vpc_id      = aws_vpc.main.id

  ingress {
    description     = "Redis from the cluster's nodes"
    from_port       = 6379
    to_port         = 6379
    protocol        = "tcp"
    security_groups = [aws_eks_cluster.main.vpc_config[0].cluster_security_group_id]
  }
}

resource "aws_cloudwatch_log_group" "redis" {
  region            = var.region
  name              = "/hugmood/${var.environment}/${var.hugmood_region}/redis-slow-log"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.region.arn
}

resource "aws_elasticache_replication_group" "redis" {
  region                     = var.region
  replication_group_id       = "${local.name}-redis"
  description                = "HugMood presence, cursors and fan-out (${var.hugmood_region})"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = var.redis.node_type
  port                       = 6379
  cluster_mode               = "enabled"
  parameter_group_name       = "default.redis7.cluster.on"
  num_node_groups            = var.redis.shards
  replicas_per_node_group    = var.redis.replicas_per_shard
  automatic_failover_enabled = true
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.redis.name
  security_group_ids         = [aws_security_group.redis.id]
  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.region.arn
  transit_encryption_enabled = true
  auth_token                 = var.redis_auth_token
  auth_token_update_strategy = "ROTATE"
  snapshot_retention_limit   = 7
  auto_minor_version_upgrade = true

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.redis.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }
}
