output "role_arn" {
  description = "ARN of the role the sweep spec's role_name names in this account."
  value       = aws_iam_role.scanner.arn
}

output "role_name" {
  description = "Name of the role."
  value       = aws_iam_role.scanner.name
}
