package engine

// The built-in detectors. Every detector carries examples it must find and
// examples it must leave alone; detectors_test.go runs them all.

// Priorities decide between overlapping detections: a specific token format
// beats a generic context rule, which beats personal data.
const (
	prioPEM      = 50
	prioToken    = 40
	prioURL      = 30
	prioAssign   = 25
	prioStrong   = 20
	prioWeak     = 15
	digitKeyword = "0123456789"
)

func builtinDetectors() []*detector {
	alnum := isAlnum
	return []*detector{
		{
			Detector: Detector{
				Name: "aws-access-key-id", Entity: "AWS_ACCESS_KEY_ID", Category: CategoryCredential,
				Description: "AWS access key IDs (AKIA long-term, ASIA temporary, ABIA, ACCA, A3T legacy); documentation examples are reported with low confidence",
				Keywords:    []string{"akia", "asia", "abia", "acca", "a3t"},
				TruePositives: []string{
					"aws_access_key_id = AKIA2OGYBAH6STMMNXNN",
					`{"AccessKeyId": "ASIAY34FZKBOKMUTVV7A"}`,
					"key AKIAIOSFODNN7EXAMPLE from the docs",
					"legacy A3TXQ2VJ7KRMZP5LD3AB key",
				},
				FalsePositives: []string{
					"AKIAIOSFODNN7EXAMPL", // 19 characters
					"XAKIA2OGYBAH6STMMNXNN",
					"akia2ogybah6stmmnxnn",
					"AKIA2OGYBAH6STMMNXNN9",
					"the Asian market",
				},
			},
			priority: prioToken, find: awsKeyID,
		},
		{
			Detector: Detector{
				Name: "aws-iam-unique-id", Entity: "AWS_IAM_UNIQUE_ID", Category: CategoryIdentifier,
				Description: "IAM unique IDs of users (AIDA), roles (AROA), groups (AGPA), instance profiles (AIPA), policies (ANPA, ANVA), public keys (APKA) and certificates (ASCA)",
				Keywords:    []string{"aida", "aroa", "agpa", "aipa", "anpa", "anva", "apka", "asca"},
				TruePositives: []string{
					`"UserId": "AIDAJQABLZS4A3QDU576Q"`,
					"role AROA3XFRBF535PLBIFPI4 assumed",
				},
				FalsePositives: []string{"Aroa is a name", "AIDA2SHORT"},
			},
			priority: prioToken, find: iamUniqueID,
		},
		{
			Detector: Detector{
				Name: "aws-secret-access-key", Entity: "AWS_SECRET_ACCESS_KEY", Category: CategoryCredential,
				Description: "AWS secret access keys: 40 base64 characters after a secret-access-key name",
				Keywords:    []string{"secret_access_key", "secretaccesskey", "secret access key", "aws_secret_key", "aws secret key", "secret-access-key"},
				TruePositives: []string{
					"aws_secret_access_key = 9drTJvcXLB89EXAMPLEjW5PmHwKk2Y+JqpGmtoQ4",
					`"SecretAccessKey": "Zr8aGgkLq/3p+1VxmT0qHdW7yNsC2eBfUjI6oKcE"`,
					"export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
				},
				FalsePositives: []string{
					"rotate the secret access key every 90 days",
					"aws_secret_access_key = ${AWS_SECRET}",
					"aws_secret_access_key = 0123456789012345678901234567890123456789",
				},
			},
			priority: prioToken, find: awsSecretKey,
		},
		{
			Detector: Detector{
				Name: "aws-session-token", Entity: "AWS_SESSION_TOKEN", Category: CategoryCredential,
				Description: "AWS STS session tokens, by their known prefixes or after a session-token name",
				Keywords:    []string{"iqojb3jpz2lux2vj", "fwogzxivyxdze", "fqogzxivyxdze", "aws_session_token", "sessiontoken", "security_token", "x-amz-security-token"},
				TruePositives: []string{
					"token IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD6a4oPbR1oVFSxWqL2m9Yz8pA3fNkXbd1cqTeu0sKmJQIgT7Xr5q1bBuJxLr3GvUeq9sYcJxfNlq7b0VwmnaQ==",
					"aws_session_token=FQoGZXIvYXdzEBYaDEXAMPLEtoken0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghij",
				},
				FalsePositives: []string{"IQoJb3JpZ2luX2Vj", "the session token expires after an hour"},
			},
			priority: prioToken, find: func(s *scan, kw string, end int) {
				if _, ok := keywordCase[kw]; ok {
					awsSessionTokenPrefix(s, kw, end)
					return
				}
				awsSessionTokenContext(s, kw, end)
			},
		},
		{
			Detector: Detector{
				Name: "url-credentials", Entity: "URL_CREDENTIALS", Category: CategoryCredential,
				Description: "credentials in URLs: user:password userinfo (any scheme, database URLs included), presigned X-Amz-Signature and X-Amz-Security-Token values, and token, access_token, sig, key, password and secret query parameters",
				Keywords:    []string{"://"},
				TruePositives: []string{
					"https://deploy:Tr0ub4dor%263@artifacts.example.com/templates/app.yaml",
					"postgres://app:Zx9#kq2LmP@db.internal:5432/orders",
					"https://bucket.s3.amazonaws.com/t.yaml?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
					"https://api.example.com/v1/export?format=csv&access_token=9f8e7d6c5b4a3F2E1D0c",
				},
				FalsePositives: []string{
					"https://example.com/docs?page=2&sort=asc",
					"https://user@example.com/repo.git",
					"https://bucket.s3.amazonaws.com/t.yaml?X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600",
					"postgres://app:${DB_PASSWORD}@db:5432/orders",
				},
			},
			priority: prioURL, find: urlCredentials,
		},
		{
			Detector: Detector{
				Name: "presigned-url-signature", Entity: "URL_CREDENTIALS", Category: CategoryCredential,
				Description: "presigned-URL signatures and security tokens in query strings without a scheme (request lines, logs)",
				Keywords:    []string{"x-amz-signature=", "x-amz-security-token=", "x-goog-signature="},
				TruePositives: []string{
					"GET /exports/a.csv?X-Amz-Date=20240611T101500Z&X-Amz-Signature=fe4c2fb55161baf46393497cc2d397eb77f0be3ec75eec07cfb880c68df6b641 HTTP/1.1",
				},
				FalsePositives: []string{"X-Amz-Signature=<signature>", "the X-Amz-Signature= parameter"},
			},
			priority: prioURL, find: presignedParam,
		},
		{
			Detector: Detector{
				Name: "http-authorization", Entity: "HTTP_AUTHORIZATION", Category: CategoryCredential,
				Description: "the credential of Basic (base64 user:password) and Bearer authorization values",
				Keywords:    []string{"basic ", "bearer "},
				TruePositives: []string{
					"Authorization: Basic YWRtaW46czNjcjN0UGFzcw==",
					"curl -H 'Authorization: Bearer 8f3kQz91LmN0pX7vR2sT5uW' https://api",
				},
				FalsePositives: []string{
					"basic knowledge of the API",
					"Bearer tokens expire after an hour",
					"Authorization: Basic aGVsbG8=", // "hello": no colon
				},
			},
			priority: prioURL, find: httpAuthorization,
		},
		{
			Detector: Detector{
				Name: "jwt", Entity: "JWT", Category: CategoryCredential,
				Description: "JSON Web Tokens: base64url header and payload objects and a signature",
				Keywords:    []string{"eyj"},
				TruePositives: []string{
					"Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
				},
				FalsePositives: []string{"eyJhbGciOiJIUzI1NiJ9", "eyJub3RhIjoiand0In0.eyJzdWIiOiIxIn0.sig"},
			},
			priority: prioToken, find: jwt,
		},
		{
			Detector: Detector{
				Name: "private-key", Entity: "PRIVATE_KEY", Category: CategoryCredential,
				Description: "PEM private key blocks (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted, PGP)",
				Keywords:    []string{"-----begin"},
				TruePositives: []string{
					"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n-----END RSA PRIVATE KEY-----",
					"key: \"-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\\n-----END OPENSSH PRIVATE KEY-----\"",
				},
				FalsePositives: []string{"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "-----BEGIN PUBLIC KEY-----"},
			},
			priority: prioPEM, find: privateKey,
		},
		{
			Detector: Detector{
				Name: "github-token", Entity: "GITHUB_TOKEN", Category: CategoryCredential,
				Description: "GitHub personal, OAuth, user-to-server, server-to-server and refresh tokens, and fine-grained PATs",
				Keywords:    []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"},
				TruePositives: []string{
					"GITHUB_TOKEN=ghp_R2d9xK7mQ4vL8nP3sT6wY1zB5cF0hJ2gA9eD",
					"github_pat_11ABCDEFG0123456789abc_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456",
				},
				FalsePositives: []string{"ghp_short", "the ghp_ prefix marks classic tokens"},
			},
			priority: prioToken, find: func(s *scan, kw string, end int) {
				if kw == "github_pat_" {
					prefixed(50, 255, isWord, ConfidenceHigh)(s, kw, end)
					return
				}
				prefixed(36, 251, alnum, ConfidenceHigh)(s, kw, end)
			},
		},
		{
			Detector: Detector{
				Name: "gitlab-token", Entity: "GITLAB_TOKEN", Category: CategoryCredential,
				Description:    "GitLab personal, deploy, runner and pipeline-trigger tokens",
				Keywords:       []string{"glpat-", "gldt-", "glrt-", "glptt-"},
				TruePositives:  []string{"private-token: glpat-x9Kd3mQ7vR2pL5nT8wZ1"},
				FalsePositives: []string{"glpat-short", "the glpat- prefix"},
			},
			priority: prioToken, find: prefixed(20, 255, isGitLabByte, ConfidenceHigh),
		},
		{
			Detector: Detector{
				Name: "slack-token", Entity: "SLACK_TOKEN", Category: CategoryCredential,
				Description:    "Slack bot, user, app and legacy tokens",
				Keywords:       []string{"xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "xapp-"},
				TruePositives:  []string{"SLACK_BOT_TOKEN=xoxb-2718281828-3141592653-Zq7XkP2mVt9LsR4nWc8BdY1e"},
				FalsePositives: []string{"xoxb-token-here", "use an xoxb- token"},
			},
			priority: prioToken, find: slackToken,
		},
		{
			Detector: Detector{
				Name: "slack-webhook", Entity: "SLACK_TOKEN", Category: CategoryCredential,
				Description:    "Slack incoming-webhook URLs",
				Keywords:       []string{"hooks.slack.com/services/"},
				TruePositives:  []string{"webhook: https://hooks.slack.com/services/T01ABCDEF/B02GHIJKL/Xy7Zq9Wv3Ut5Sr1Pq2On4Ml6"},
				FalsePositives: []string{"see hooks.slack.com/services/ for setup"},
			},
			priority: prioToken, find: slackWebhook,
		},
		{
			Detector: Detector{
				Name: "stripe-key", Entity: "STRIPE_KEY", Category: CategoryCredential,
				Description:    "Stripe secret and restricted keys, live and test",
				Keywords:       []string{"sk_live_", "rk_live_", "sk_test_", "rk_test_"},
				TruePositives:  []string{"STRIPE_SECRET=sk_live_51Hx9ZqK2mV7tP4sL8nR3wY6c"},
				FalsePositives: []string{"sk_live_short", "pk_live_51Hx9ZqK2mV7tP4sL8nR3wY6c"},
			},
			priority: prioToken, find: stripeKey,
		},
		{
			Detector: Detector{
				Name: "google-api-key", Entity: "GOOGLE_API_KEY", Category: CategoryCredential,
				Description:    "Google API keys (AIza...)",
				Keywords:       []string{"aiza"},
				TruePositives:  []string{"maps key=AIzaSyD3xK9mQ2vL7nP4sT8wY1zB6cF5hJ0gA3e"},
				FalsePositives: []string{"AIzaShort", "aizasyd3xk9mq2vl7np4st8wy1zb6cf5hj0ga3e"},
			},
			priority: prioToken, find: googleAPIKey,
		},
		{
			Detector: Detector{
				Name: "npm-token", Entity: "NPM_TOKEN", Category: CategoryCredential,
				Description:    "npm access tokens",
				Keywords:       []string{"npm_"},
				TruePositives:  []string{"//registry.npmjs.org/:_authToken=npm_Qz8xK2mV7tP4sL9nR3wY6cB1dF5hJ0gA2eT4"},
				FalsePositives: []string{"npm_config_cache=/tmp/npm", "npm_package_version"},
			},
			priority: prioToken, find: prefixed(36, 36, alnum, ConfidenceHigh),
		},
		{
			Detector: Detector{
				Name: "azure-storage-key", Entity: "AZURE_STORAGE_KEY", Category: CategoryCredential,
				Description:    "Azure storage account keys in connection strings (AccountKey=...)",
				Keywords:       []string{"accountkey=", "account-key ", "account-key=", "account_key=", "account_key: ", "account_key = "},
				TruePositives:  []string{"DefaultEndpointsProtocol=https;AccountName=logs;AccountKey=Xq9Zk2mV7tP4sL8nR3wY6cB1dF5hJ0gA2eT4uI7oK9pL3mN6bV8cX1zQ5wE2rT7yU0iO4pA6sD9fG3hJ5kL8zX1c==;EndpointSuffix=core.windows.net", "az storage blob upload --account-name build --account-key Uhjn70SWF7pIlKU13KGvp2P6ko+f1a9ASvNL9WEIBHQBIFE+qbVvP2o/6kuZq2uQfwVQ4k7OToAqrTJSCC0kwA== -c artifacts"},
				FalsePositives: []string{"AccountKey=<your-key>", "AccountKey="},
			},
			priority: prioToken, find: azureStorageKey,
		},
		{
			Detector: Detector{
				Name: "secret-assignment", Entity: "SECRET_ASSIGNMENT", Category: CategoryCredential,
				Description: "values assigned to password, secret, token and API-key names in code, configuration, command lines and query strings, when the value looks random (placeholders and references are left alone)",
				Keywords:    []string{"password", "passwd", "pwd", "pass", "secret", "token", "apikey", "api_key", "api-key", "api key", "passphrase", "_key", "identified by"},
				TruePositives: []string{
					"DB_PASSWORD=Xk9#mQ2$vL7n",
					`{"client_secret": "f3Kq8ZmV2tP9sL4n"}`,
					"mysql -u root --password Rm4!tq8Zp2Lk",
					"<password>Hq7$kP2mZ9vL</password>",
					"api_key: 7d9F2kQ8mZ3vL1pX",
					"login failed for user 'svc' with password 'BTY4S1/PBkjkv5pcTBsRFMnx'",
					"- name: DB_PASSWORD\n  value: \"P#0B!4_2b-9m*ueRoJZ=\"",
					"SMTP_PASS=2^Dw%T^sL@ck97!m@6LX",
				},
				FalsePositives: []string{
					"password = <placeholder>",
					"password: ${DB_PASSWORD}",
					`token: "{{ secrets.TOKEN }}"`,
					"api_key=YOUR_API_KEY_HERE",
					"secret=changeme",
					"password: ********",
					"password_policy = strict-mode",
					"tokenizer = bert-base-uncased",
					"the password is required",
					`"IdempotencyToken": "ccb2b416-525a-46c9-a30f-4300bbeeb636"`,
					`secret = get_secret("prod/app/signing")`,
					"pwd: /home/ec2-user/app",
					"arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db/credentials-Ab12Cd",
					"bypass = enabled",
				},
			},
			priority: prioAssign, find: secretAssignment,
		},
		{
			Detector: Detector{
				Name: "command-line-password", Entity: "SECRET_ASSIGNMENT", Category: CategoryCredential,
				Description: "passwords on command lines: curl -u user:password, mysql -p<password>",
				Keywords:    []string{"-u ", "--user ", "--user=", "-p"},
				TruePositives: []string{
					"curl -u admin:1117484ba9d115fb2bd3f4e3e00a99810ad8 http://10.0.0.1:9200",
					"mysql -h db -u root -pf77ab2eae77a4551dbef35bba4ba74e1 -e 'show databases'",
				},
				FalsePositives: []string{"gcc -pthread main.c", "docker run -p 8080:80 nginx", "curl -u admin:admin"},
			},
			priority: prioAssign, find: func(s *scan, kw string, end int) {
				if kw == "-p" {
					shortFlagPassword(s, kw, end)
					return
				}
				userPassword(s, kw, end)
			},
		},
		{
			Detector: Detector{
				Name: "aws-account-id", Entity: "AWS_ACCOUNT_ID", Category: CategoryIdentifier,
				Description: "12-digit AWS account numbers in context: in ARNs, after account/acct/owner words, or embedded in resource names; documentation examples with low confidence",
				Keywords:    []string{"digits"},
				TruePositives: []string{
					"arn:aws:iam::210987654321:role/Admin",
					"Owner account 210987654321",
					"bucket prod-210987654321-logs",
					"AWS account 2109-8765-4321",
					"acct210987654321",
					"app stream-payments-c1w4-210987654321",
				},
				FalsePositives: []string{
					"order 210987654321 shipped",
					"serial 4-210987654321",
					"arn:aws:s3:::my-bucket/key",
					"build-202611231015-x",
					"phone 210987654321",
					"arn:aws:iam::aws:policy/ReadOnlyAccess",
					"request_id=3d62fe17-c7ee-9b03-5c0c-697398703710",
				},
			},
			priority: prioStrong, find: accountID,
		},
		{
			Detector: Detector{
				Name: "email-address", Entity: "EMAIL_ADDRESS", Category: CategoryPII,
				Description:    "e-mail addresses with a real top-level domain",
				Keywords:       []string{"@"},
				TruePositives:  []string{"Owner: jane.doe+catalog@example.co.uk", "mailto:ops-team@acme.io"},
				FalsePositives: []string{"image@2x.png", "git@github.com:org/repo.git", "@aws-sdk/client-s3", "user@localhost"},
			},
			priority: prioStrong, find: email,
		},
		{
			Detector: Detector{
				Name: "phone-number", Entity: "PHONE_NUMBER", Category: CategoryPII,
				Description:    "phone numbers: international (E.164) after '+', North American formats, and other national formats next to a word like phone or tel, validated with libphonenumber's metadata",
				Keywords:       []string{"digits"},
				TruePositives:  []string{"call +44 20 7946 0958", "Support: (202) 555-0143", "tel 202-555-0143", "mobile: 030 901820"},
				FalsePositives: []string{"ISBN 978-3-16-148410-0", "ports 8080-8090", "version 1.2.3", "2026-11-23", "order 555-1234"},
			},
			priority: prioWeak, find: phoneNumber,
		},
		{
			Detector: Detector{
				Name: "credit-card", Entity: "CREDIT_CARD_NUMBER", Category: CategoryPII,
				Description:    "payment card numbers with a known issuer prefix and length and a valid Luhn check",
				Keywords:       []string{"digits"},
				TruePositives:  []string{"card 4111 1111 1111 1111 exp 12/27", "5555-5555-5555-4444", "amex 378282246310005"},
				FalsePositives: []string{"4111 1111 1111 1112", "1234 5678 9012 3456", "0000 0000 0000 0000"},
			},
			priority: prioStrong, find: creditCard,
		},
		{
			Detector: Detector{
				Name: "us-ssn", Entity: "US_SSN", Category: CategoryPII,
				Description:    "US social security numbers that follow the SSA's rules (ddd-dd-dddd, or nine digits after SSN)",
				Keywords:       []string{"digits"},
				TruePositives:  []string{"SSN 123-45-6789", "ssn: 536904812"},
				FalsePositives: []string{"000-12-3456", "666-45-1234", "900-12-3456", "123-00-4567", "078-05-1120", "id 536904812"},
			},
			priority: prioStrong, find: usSSN,
		},
		{
			Detector: Detector{
				Name: "iban", Entity: "IBAN", Category: CategoryPII,
				Description:    "international bank account numbers with a valid country length and mod-97 check",
				Keywords:       []string{"digits"},
				TruePositives:  []string{"IBAN GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"},
				FalsePositives: []string{"GB82 WEST 1234 5698 7654 33", "DE89370400440532013001"},
			},
			priority: prioStrong + 1, find: iban,
		},
		{
			Detector: Detector{
				Name: "ipv4-address", Entity: "IP_ADDRESS", Category: CategoryPII,
				Description:    "IPv4 addresses; loopback and reserved addresses with low confidence",
				Keywords:       []string{"digits"},
				TruePositives:  []string{"client 203.0.113.45 connected", "src=10.0.12.7:443", "cidr 172.16.0.0/12"},
				FalsePositives: []string{"version 1.2.3.4", "OID 1.3.6.1.4.1.311", "999.1.1.1", "v10.2.1.4"},
			},
			priority: prioWeak, find: ipv4,
		},
		{
			Detector: Detector{
				Name: "ipv6-address", Entity: "IP_ADDRESS", Category: CategoryPII,
				Description:    "IPv6 addresses, compressed forms included",
				Keywords:       []string{":"},
				TruePositives:  []string{"from 2001:db8::8a2e:370:7334 via", "fe80::1ff:fe23:4567:890a%eth0"},
				FalsePositives: []string{"at 12:30:45", "mac 00:1a:2b:3c:4d:5e", "a::b is not"},
			},
			priority: prioWeak, find: ipv6,
		},
		{
			Detector: Detector{
				Name: "date-of-birth", Entity: "DATE_OF_BIRTH", Category: CategoryPII,
				Description:    "dates after date of birth, DOB, born on or birthday",
				Keywords:       []string{"date of birth", "dateofbirth", "dob", "d.o.b", "birth date", "birthdate", "birth_date", "date_of_birth", "born on", "birthday", "geboren am", "geburtsdatum", "né le", "née le", "date de naissance", "fecha de nacimiento", "data di nascita"},
				TruePositives:  []string{"DOB: 1985-03-14", "date of birth 14/03/1985", "born on March 14, 1985", "Birthday: 5 June 1990"},
				FalsePositives: []string{"Adobe 2024-01-01", "DOB: unknown", "birthday party on Friday"},
			},
			priority: prioStrong, find: dateOfBirth,
		},
		{
			Detector: Detector{
				Name: "passport-number", Entity: "PASSPORT_NUMBER", Category: CategoryPII,
				Description:    "passport numbers after the word passport",
				Keywords:       []string{"passport"},
				TruePositives:  []string{"passport no. X1234567", "Passport number: 533401372", `"passportNumber": "403721166"`, "passport_number=685945357"},
				FalsePositives: []string{"passport photo required", "passport office", "passportOffice: A1234567"},
			},
			priority: prioStrong, find: documentNumber(1, false),
		},
		{
			Detector: Detector{
				Name: "drivers-license", Entity: "DRIVERS_LICENSE_NUMBER", Category: CategoryPII,
				Description: "driver's licence numbers after driver's license, driving licence or DL#",
				Keywords: []string{"driver's license", "driver's licence", "driver’s license", "driver’s licence", "drivers license", "drivers licence",
					"driver license", "driver licence", "driving licence", "driving license", "dl#", "dl no", "dl number",
					"drivers_license", "driver_license", "drivers_licence", "driver_licence", "driving_licence", "driving_license",
					"driverslicense", "driverlicense", "driverslicence"},
				TruePositives:  []string{"Driver's License: D1234567", "DL# S530-7215-8839", "driving licence MORGA753116SM9IJ"},
				FalsePositives: []string{"driver's license required", "driver license renewal"},
			},
			priority: prioStrong, find: documentNumber(1, true),
		},
	}
}
