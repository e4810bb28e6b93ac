# dpsweep member-account role: a read-only role the dpsweep collection service assumes (with an
# ExternalId) in this account. local.actions is exactly deploy/iam/dpsweep-scanner-policy.json,
# the calls the collectors make (a test keeps them equal).

locals {
  actions = [
    "account:ListRegions",
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetEventSelectors",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:LookupEvents",
    "dynamodb:DescribeTable",
    "dynamodb:ListTables",
    "ec2:DescribeRegions",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
    "iam:GenerateCredentialReport",
    "iam:GetAccountPasswordPolicy",
    "iam:GetAccountSummary",
    "iam:GetCredentialReport",
    "iam:GetUserPolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListAttachedUserPolicies",
    "iam:ListUserPolicies",
    "iam:ListUsers",
    "kms:DescribeKey",
    "kms:GetKeyRotationStatus",
    "kms:ListKeys",
    "macie2:GetMacieSession",
    "organizations:DescribeOrganization",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListRoots",
    "organizations:ListTagsForResource",
    "s3:GetBucketLocation",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetEncryptionConfiguration",
    "s3:ListAllMyBuckets",
    "serverlessrepo:GetApplication",
    "serverlessrepo:GetApplicationPolicy",
    "serverlessrepo:ListApplicationVersions",
    "serverlessrepo:ListApplications",
    "servicecatalog:DescribeConstraint",
    "servicecatalog:DescribePortfolio",
    "servicecatalog:DescribePortfolioShares",
    "servicecatalog:DescribeProductAsAdmin",
    "servicecatalog:DescribeProvisioningArtifact",
    "servicecatalog:ListConstraintsForPortfolio",
    "servicecatalog:ListPortfolios",
    "servicecatalog:ListTagOptions",
    "servicecatalog:SearchProductsAsAdmin",
    "servicecatalog:SearchProvisionedProducts",
    "sts:GetCallerIdentity",
  ]
  trusted_principals = length(var.scanner_principal_arns) > 0 ? var.scanner_principal_arns : ["arn:${data.aws_partition.current.partition}:iam::${var.scanner_account_id}:root"]
}

data "aws_partition" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "DpsweepScannerAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = local.trusted_principals
    }

    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [var.external_id]
    }
  }
}

data "aws_iam_policy_document" "read_only" {
  statement {
    sid       = "DpsweepReadOnlyCollection"
    effect    = "Allow"
    actions   = local.actions
    resources = ["*"]
  }
}

resource "aws_iam_role" "scanner" {
  name                 = var.role_name
  description          = "dpsweep read-only data-protection sweep (assumed by the collection service)"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = var.max_session_duration
  permissions_boundary = var.permissions_boundary_arn
  tags                 = merge({ "app.kubernetes.io/part-of" = "dpsweep" }, var.tags)
}

resource "aws_iam_role_policy" "read_only" {
  name   = "dpsweep-readonly-collection"
  role   = aws_iam_role.scanner.id
  policy = data.aws_iam_policy_document.read_only.json
}
