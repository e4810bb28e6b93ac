package server

import "fmt"

// Amazon Macie, REST-JSON with camelCase members and ISO 8601 timestamps.
func init() {
	registerRoute("macie2", "GET", "/macie", "GetMacieSession", macieGetMacieSession)
}

func macieGetMacieSession(c *Call) (any, error) {
	if !c.Account.In(c.Region).Macie {
		// What AWS answers an account that has not enabled Macie in the region.
		return nil, &APIError{Code: "AccessDeniedException", Message: "Macie is not enabled", Status: 403}
	}
	created := iso(c.Account.Created)
	return map[string]any{
		"status":                     "ENABLED",
		"createdAt":                  created,
		"updatedAt":                  created,
		"findingPublishingFrequency": "FIFTEEN_MINUTES",
		"serviceRole":                fmt.Sprintf("arn:%s:iam::%s:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie", c.S.w.Partition, c.Account.ID),
	}, nil
}
