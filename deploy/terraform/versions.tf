# HugMood on AWS: one root for every region. The AWS provider 6's per-resource `region`
# argument lets one provider configuration manage all regions, so `regional_services` is a
# single module call with `for_each` over var.regions.
terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.20"
    }
  }

  # State lives in an encrypted, versioned S3 bucket with native locking; the bucket and key
  # are given at `terraform init -backend-config=...` (see the README's operator's guide).
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.home_region

  default_tags {
    tags = {
      project     = "hugmood"
      environment = var.environment
      managed_by  = "terraform"
    }
  }
}
