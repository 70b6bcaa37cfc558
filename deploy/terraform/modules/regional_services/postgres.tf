# The event store: HugMood's event log and its read models live in one PostgreSQL database
# (HUGMOOD_DATABASE_URL). A Multi-AZ primary takes every append; read replicas in the other
# zones serve reporting and stand ready for a promotion.

resource "aws_db_subnet_group" "postgres" {
  region     = var.region
  name       = "${local.name}-postgres"
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_security_group" "postgres" {
  region      = var.region
  name        = "${local.name}-postgres"
  description = "PostgreSQL: reachable from the Kubernetes nodes only"
  vpc_id      = aws_vpc.main.id

  ingress {
    description     = "PostgreSQL from the cluster's nodes"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_eks_cluster.main.vpc_config[0].cluster_security_group_id]
  }
}

resource "aws_db_parameter_group" "postgres" {
  region = var.region
  name   = "${local.name}-postgres17"
  family = "postgres17"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }
  parameter {
    name  = "log_statement"
    value = "ddl"
  }
  parameter {
    name  = "log_connections"
    value = "1"
  }
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "rds_monitoring" {
  name               = "${local.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "event_store" {
  region                              = var.region
  identifier                          = "${local.name}-events"
  engine                              = "postgres"
  engine_version                      = "17.6"
  instance_class                      = var.postgres.instance_class
  allocated_storage                   = var.postgres.allocated_storage
  max_allocated_storage               = var.postgres.allocated_storage * 4
  storage_type                        = "gp3"
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.region.arn
  db_name                             = "hugmood"
  username                            = "hugmood_admin"
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.region.arn
  iam_database_authentication_enabled = true
  multi_az                            = true
  db_subnet_group_name                = aws_db_subnet_group.postgres.name
  vpc_security_group_ids              = [aws_security_group.postgres.id]
  parameter_group_name                = aws_db_parameter_group.postgres.name
  publicly_accessible                 = false
  backup_retention_period             = 35
  copy_tags_to_snapshot               = true
  deletion_protection                 = true
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${local.name}-events-final"
  auto_minor_version_upgrade          = true
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]
  monitoring_interval                 = 30
  monitoring_role_arn                 = aws_iam_role.rds_monitoring.arn
  performance_insights_enabled        = true
  performance_insights_kms_key_id     = aws_kms_key.region.arn
}

resource "aws_db_instance" "replica" {
  #checkov:skip=CKV_AWS_157:replicas are spread over the other zones and stand by for reads; the primary is the Multi-AZ instance
  count = var.postgres.replicas

  region                              = var.region
  identifier                          = "${local.name}-events-replica-${count.index}"
  replicate_source_db                 = aws_db_instance.event_store.identifier
  instance_class                      = var.postgres.instance_class
  availability_zone                   = var.availability_zones[(count.index + 1) % length(var.availability_zones)]
  storage_type                        = "gp3"
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.region.arn
  iam_database_authentication_enabled = true
  vpc_security_group_ids              = [aws_security_group.postgres.id]
  parameter_group_name                = aws_db_parameter_group.postgres.name
  publicly_accessible                 = false
  copy_tags_to_snapshot               = true
  deletion_protection                 = true
  skip_final_snapshot                 = true
  auto_minor_version_upgrade          = true
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]
  monitoring_interval                 = 30
  monitoring_role_arn                 = aws_iam_role.rds_monitoring.arn
  performance_insights_enabled        = true
  performance_insights_kms_key_id     = aws_kms_key.region.arn
}
