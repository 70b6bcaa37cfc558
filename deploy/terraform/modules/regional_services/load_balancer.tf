# The region's public entrance: a Network Load Balancer (TLS 1.3 on 443) in front of the edge
# pods (the AWS Load Balancer Controller binds the target group to the `hugmood-edge` Service
# with a TargetGroupBinding). The global accelerator sends each person to the nearest
# healthy region's load balancer.

resource "aws_security_group" "load_balancer" {
  region      = var.region
  name        = "${local.name}-nlb"
  description = "The public load balancer: HTTPS in, the edge pods out"
  vpc_id      = aws_vpc.main.id

  ingress {
    #checkov:skip=CKV_AWS_260:the public entrance takes HTTPS from anyone; TLS ends at the load balancer
    description = "HTTPS and WebSockets from anywhere"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "To the edge pods in the VPC"
    from_port   = 8000
    to_port     = 8000
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }
}

# The pods (on nodes in the cluster's security group) accept the load balancer's traffic.
resource "aws_vpc_security_group_ingress_rule" "edge_from_load_balancer" {
  region                       = var.region
  description                  = "HTTP from the public load balancer to the edge pods"
  security_group_id            = aws_eks_cluster.main.vpc_config[0].cluster_security_group_id
  referenced_security_group_id = aws_security_group.load_balancer.id
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
}

resource "aws_lb" "edge" {
  region                           = var.region
  name                             = substr("${local.name}-edge", 0, 32)
  load_balancer_type               = "network"
  internal                         = false
  subnets                          = aws_subnet.public[*].id
  security_groups                  = [aws_security_group.load_balancer.id]
  enable_deletion_protection       = true
  enable_cross_zone_load_balancing = true

  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = "nlb"
    enabled = true
  }

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_lb_target_group" "edge" {
  region      = var.region
  name        = substr("${local.name}-edge", 0, 32)
  target_type = "ip"
  protocol    = "TCP"
  port        = 8000
  vpc_id      = aws_vpc.main.id

  health_check {
    protocol = "HTTP"
    path     = "/healthz"
    port     = "traffic-port"
  }
}

resource "aws_lb_listener" "https" {
  region            = var.region
  load_balancer_arn = aws_lb.edge.arn
  port              = 443
  protocol          = "TLS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.edge.arn
  }
}

# Access logs of the load balancer (NLB log delivery writes with SSE-S3 only).
resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_145:NLB access-log delivery supports SSE-S3 only, not KMS
  #checkov:skip=CKV_AWS_18:this is the log bucket itself
  #checkov:skip=CKV_AWS_144:access logs stay in their region; they are not worth a second copy
  #checkov:skip=CKV2_AWS_62:nothing reacts to a new log object
  region        = var.region
  bucket        = "${local.name}-${local.account_id}-logs"
  force_destroy = false
}

resource "aws_s3_bucket_public_access_block" "logs" {
  region                  = var.region
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  region = var.region
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "logs" {
  region = var.region
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  region = var.region
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  region = var.region
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = 400
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "LogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/nlb/AWSLogs/${local.account_id}/*"]
    principals {
      type        = "Service"
      identifiers = ["delivery.logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
  statement {
    sid       = "LogDeliveryAcl"
    actions   = ["s3:GetBucketAcl"]
    resources = [aws_s3_bucket.logs.arn]
    principals {
      type        = "Service"
      identifiers = ["delivery.logs.amazonaws.com"]
    }
  }
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  region = var.region
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs.json
}
