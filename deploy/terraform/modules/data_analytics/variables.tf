variable "environment" {
  description = "Name of this deployment."
  type        = string
}

variable "region" {
  description = "Region of the data lake."
  type        = string
}

variable "retention_days" {
  description = "Days a de-identified object is kept before it expires."
  type        = number

  validation {
    condition     = var.retention_days > 180
    error_message = "Objects move to Glacier Instant Retrieval at 180 days; keep them longer than that."
  }
}

variable "operator_role_arns" {
  description = "IAM roles allowed to administer the data lake's key."
  type        = list(string)
}
