variable "environment" {
  description = "Name of this deployment."
  type        = string
}

variable "domain_name" {
  description = "The public name; its Route 53 hosted zone must already exist."
  type        = string
}

variable "regional_endpoints" {
  description = "Each region's public load balancer and its traffic weight, keyed by AWS region."
  type = map(object({
    load_balancer_arn = string
    weight            = number
  }))
}
