variable "scanner_account_id" {
  description = "Account whose credentials the dpsweep collection service runs with (the organization's management account or a delegated security account)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.scanner_account_id))
    error_message = "scanner_account_id must be a 12-digit AWS account ID."
  }
}

variable "scanner_principal_arns" {
  description = "IAM role or user ARNs in the scanner account allowed to assume the role; empty trusts the whole scanner account."
  type        = list(string)
  default     = []
}

variable "external_id" {
  description = "The sweep spec's external_id, required as sts:ExternalId."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@:/_-]{2,1224}$", var.external_id))
    error_message = "external_id must be 2 to 1224 characters of A-Z a-z 0-9 + = , . @ : / _ -."
  }
}

variable "role_name" {
  description = "The sweep spec's role_name."
  type        = string
  default     = "dpsweep-readonly"
}

variable "max_session_duration" {
  description = "Longest session, in seconds, the collection service may hold (3600 to 43200)."
  type        = number
  default     = 3600
}

variable "permissions_boundary_arn" {
  description = "Optional permissions boundary for the role."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to the role."
  type        = map(string)
  default     = {}
}
