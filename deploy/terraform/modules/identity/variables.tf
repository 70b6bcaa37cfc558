variable "environment" {
  description = "Name of this deployment."
  type        = string
}

variable "home_region" {
  description = "Region of the secrets' primary copies."
  type        = string
}

variable "replica_regions" {
  description = "Other regions that get a replica of every secret (each region's pods read their local copy)."
  type        = list(string)
}

variable "oidc_providers" {
  description = "Social sign-in providers: an empty secret for each one's client secret, filled by an operator."
  type = map(object({
    issuer    = string
    client_id = string
  }))
}

variable "operator_role_arns" {
  description = "IAM roles allowed to administer the identity key."
  type        = list(string)
}
