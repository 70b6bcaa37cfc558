# The global edge: one AWS Global Accelerator (two anycast addresses) in front of every
# region's load balancer. It routes each connection to the nearest healthy region and keeps
# a client on one region (source-IP affinity), which a WebSocket needs; a region whose
# /healthz fails stops receiving new connections within seconds.

data "aws_route53_zone" "public" {
  name         = var.domain_name
  private_zone = false
}

resource "aws_globalaccelerator_accelerator" "edge" {
  name            = "hugmood-${var.environment}"
  ip_address_type = "DUAL_STACK"
  enabled         = true

  attributes {
    flow_logs_enabled   = true
    flow_logs_s3_bucket = aws_s3_bucket.flow_logs.id
    flow_logs_s3_prefix = "accelerator/"
  }

  depends_on = [aws_s3_bucket_policy.flow_logs]
}

resource "aws_globalaccelerator_listener" "https" {
  accelerator_arn = aws_globalaccelerator_accelerator.edge.arn
  protocol        = "TCP"
  client_affinity = "SOURCE_IP"

  port_range {
    from_port = 443
    to_port   = 443
  }
}

resource "aws_globalaccelerator_endpoint_group" "region" {
  for_each = var.regional_endpoints

  listener_arn                  = aws_globalaccelerator_listener.https.arn
  endpoint_group_region         = each.key
  traffic_dial_percentage       = 100
  health_check_protocol         = "HTTPS"
  health_check_path             = "/healthz"
  health_check_port             = 443
  health_check_interval_seconds = 10
  threshold_count               = 3

  endpoint_configuration {
    endpoint_id                    = each.value.load_balancer_arn
    weight                         = each.value.weight
    client_ip_preservation_enabled = true
  }
}

resource "aws_route53_record" "public" {
  for_each = toset(["A", "AAAA"])

  zone_id = data.aws_route53_zone.public.zone_id
  name    = var.domain_name
  type    = each.value

  alias {
    name                   = aws_globalaccelerator_accelerator.edge.dual_stack_dns_name
    zone_id                = aws_globalaccelerator_accelerator.edge.hosted_zone_id
    evaluate_target_health = true
  }
}

data "aws_caller_identity" "current" {}

resource "aws_s3_bucket" "flow_logs" {
  #checkov:skip=CKV_AWS_145:Global Accelerator flow-log delivery writes with SSE-S3; KMS is not supported for this delivery
  #checkov:skip=CKV_AWS_18:this is the log bucket itself
  #checkov:skip=CKV_AWS_144:flow logs are not worth a second copy in another region
  #checkov:skip=CKV2_AWS_62:nothing reacts to a new log object
  bucket        = "hugmood-${var.environment}-${data.aws_caller_identity.current.account_id}-edge-logs"
  force_destroy = false
}

resource "aws_s3_bucket_public_access_block" "flow_logs" {
  bucket                  = aws_s3_bucket.flow_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "flow_logs" {
  bucket = aws_s3_bucket.flow_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "flow_logs" {
  bucket = aws_s3_bucket.flow_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "flow_logs" {
  bucket = aws_s3_bucket.flow_logs.id

  rule {
    id     = "expire-flow-logs"
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

data "aws_iam_policy_document" "flow_logs" {
  statement {
    sid       = "LogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.flow_logs.arn}/accelerator/*"]
    principals {
      type        = "Service"
      identifiers = ["delivery.logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
  statement {
    sid       = "LogDeliveryAcl"
    actions   = ["s3:GetBucketAcl"]
    resources = [aws_s3_bucket.flow_logs.arn]
    principals {
      type        = "Service"
      identifiers = ["delivery.logs.amazonaws.com"]
    }
  }
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.flow_logs.arn, "${aws_s3_bucket.flow_logs.arn}/*"]
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

resource "aws_s3_bucket_policy" "flow_logs" {
  bucket = aws_s3_bucket.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}
