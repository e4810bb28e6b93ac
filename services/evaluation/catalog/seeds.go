package catalog

// The seed documents: AWS's data-protection guidance for Service Catalog
// (SC) and the Serverless Application Repository (SAR). Quotes are the
// sentences the controls implement, verbatim.
const (
	scFile   = "000_316782a0f2def96d.txt"
	scTitle  = "Data Protection in AWS Service Catalog"
	sarFile  = "001_5baf6dfcf589e58e.txt"
	sarTitle = "Data Protection in the AWS Serverless Application Repository"
)

func sc(section, quote string) Seed {
	return Seed{File: scFile, Title: scTitle, Section: section, Quote: quote}
}

func sar(section, quote string) Seed {
	return Seed{File: sarFile, Title: sarTitle, Section: section, Quote: quote}
}

var (
	seedCredentials = []Seed{
		sc(scTitle, "For data protection purposes, we recommend that you protect AWS account credentials and set up individual user accounts with AWS Identity and Access Management (IAM). That way each user is given only the permissions necessary to fulfill their job duties."),
		sar(sarTitle, "For data protection purposes, we recommend that you protect AWS account credentials and set up individual user accounts with AWS Identity and Access Management (IAM), so that each user is given only the permissions necessary to fulfill their job duties."),
	}
	seedMFA = []Seed{
		sc(scTitle, "Use multi-factor authentication (MFA) with each account."),
		sar(sarTitle, "Use multi-factor authentication (MFA) with each account."),
	}
	seedTLS = []Seed{
		sc(scTitle, "Use SSL/TLS to communicate with AWS resources. We recommend TLS 1.2 or later."),
		sar(sarTitle, "Use SSL/TLS to communicate with AWS resources."),
	}
	seedTLSTransitSC  = sc("Encryption in transit", "AWS Service Catalog uses Transport Layer Security (TLS) and client-side encryption of information in transit between the caller and AWS.")
	seedTLSTransitSAR = sar("Encryption in Transit", "AWS Serverless Application Repository API endpoints only support secure connections over HTTPS.")
	seedCloudTrail    = []Seed{
		sc(scTitle, "Set up API and user activity logging with AWS CloudTrail."),
		sar(sarTitle, "Set up API and user activity logging with AWS CloudTrail."),
	}
	seedEncryption = []Seed{
		sc(scTitle, "Use AWS encryption solutions, along with all default security controls within AWS services."),
		sar(sarTitle, "Use AWS encryption solutions, along with all default security controls within AWS services."),
	}
	seedAtRestSC = sc("Encryption at rest", "AWS Service Catalog uses Amazon S3 buckets and Amazon DynamoDB databases that are encrypted at rest using Amazon-managed keys.")
	seedMacie    = []Seed{
		sc(scTitle, "Use advanced managed security services such as Amazon Macie, which assists in discovering and securing personal data that is stored in Amazon S3."),
		sar(sarTitle, "Use advanced managed security services such as Amazon Macie, which assists in discovering and securing personal data that is stored in Amazon S3."),
	}
	seedPrivateLink = []Seed{
		sc("Encryption in transit", "You can privately access AWS Service Catalog APIs from your Amazon Virtual Private Cloud (Amazon VPC) by creating VPC endpoints."),
		sc("Encryption in transit", "The latest generation of VPC endpoints used by AWS Service Catalog is powered by Amazon PrivateLink, an AWS technology enabling the private connectivity between AWS services using Elastic Network Interfaces with private IPs in your VPCs."),
	}
	seedFreeFormSC = []Seed{
		sc(scTitle, "We strongly recommend that you never put sensitive identifying information, such as your customers' account numbers, into free-form fields such as a Name field."),
		sc(scTitle, "Any data that you enter into AWS Service Catalog or other services might get picked up for inclusion in diagnostic logs."),
	}
	seedFreeFormSAR = []Seed{
		sar(sarTitle, "We strongly recommend that you never put sensitive identifying information, such as AWS account numbers, into free-form fields such as an Author name field."),
		sar(sarTitle, "Any data that you enter into the AWS Serverless Application Repository or other services might get picked up for inclusion in diagnostic logs."),
	}
	seedURLSC  = sc(scTitle, "When you provide a URL to an external server, don't include credentials information in the URL to validate your request to that server.")
	seedURLSAR = sar(sarTitle, "When you provide a URL to an external server, don't include credentials information in the URL to validate your request to that server.")
)

var seedControl = []Seed{
	sc(scTitle, "You are responsible for maintaining control over your content that is hosted on this infrastructure. This content includes the security configuration and management tasks for the AWS services that you use."),
	sar(sarTitle, "AWS customers and APN partners, acting either as data controllers or data processors, are responsible for any personal data that they put in the AWS Cloud."),
}
