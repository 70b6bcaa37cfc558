output "public_hostname" {
  description = "The public name, now an alias of the accelerator."
  value       = var.domain_name
}

output "accelerator_dns_name" {
  description = "The accelerator's dual-stack DNS name."
  value       = aws_globalaccelerator_accelerator.edge.dual_stack_dns_name
}

output "anycast_addresses" {
  description = "The accelerator's static anycast IP addresses."
  value       = flatten([for s in aws_globalaccelerator_accelerator.edge.ip_sets : s.ip_addresses])
}
