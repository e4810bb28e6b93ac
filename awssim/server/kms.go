package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// KMS, JSON 1.1.
func init() {
	register("kms", "ListKeys", kmsListKeys)
	register("kms", "DescribeKey", kmsDescribeKey)
	register("kms", "GetKeyRotationStatus", kmsGetKeyRotationStatus)
}

func (c *Call) keyARN(k *world.Key) string {
	return c.S.w.ARN("kms", c.Region, c.Account.ID, "key/"+k.ID)
}

func keySpec(k *world.Key) string {
	if k.Spec == "" {
		return "SYMMETRIC_DEFAULT"
	}
	return k.Spec
}

func keyState(k *world.Key) string {
	if k.State == "" {
		return "Enabled"
	}
	return k.State
}

func keyManager(k *world.Key) string {
	if k.Manager == "" {
		return "CUSTOMER"
	}
	return k.Manager
}

// findKey resolves a key ID or key ARN of the call's account and region.
func (c *Call) findKey(id string) (*world.Key, error) {
	if id == "" {
		return nil, &APIError{Code: "ValidationException", Message: "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null", Status: 400}
	}
	for _, k := range c.Account.In(c.Region).Keys {
		if k.ID == id || c.keyARN(k) == id {
			return k, nil
		}
	}
	if strings.HasPrefix(id, "alias/") || strings.Contains(id, ":alias/") {
		alias := id
		if !strings.HasPrefix(id, "arn:") {
			alias = c.S.w.ARN("kms", c.Region, c.Account.ID, id)
		}
		return nil, &APIError{Code: "NotFoundException", Message: fmt.Sprintf("Alias %s is not found.", alias), Status: 400}
	}
	arn := id
	if !strings.HasPrefix(id, "arn:") {
		arn = c.S.w.ARN("kms", c.Region, c.Account.ID, "key/"+id)
	}
	return nil, &APIError{Code: "NotFoundException", Message: fmt.Sprintf("Key '%s' does not exist", arn), Status: 400}
}

func kmsListKeys(c *Call) (any, error) {
	var in struct {
		Limit  *int   `json:"Limit"`
		Marker string `json:"Marker"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	max := 100
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 1000 {
			return nil, &APIError{Code: "ValidationException", Message: fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 1000", *in.Limit), Status: 400}
		}
		max = *in.Limit
	}
	page, next, err := pageOf(c, c.Account.In(c.Region).Keys, in.Marker, max)
	if err != nil {
		return nil, &APIError{Code: "InvalidMarkerException", Message: "The marker that specifies where pagination should next begin is not valid.", Status: 400}
	}
	keys := []map[string]string{}
	for _, k := range page {
		keys = append(keys, map[string]string{"KeyId": k.ID, "KeyArn": c.keyARN(k)})
	}
	out := map[string]any{"Keys": keys, "Truncated": next != ""}
	if next != "" {
		out["NextMarker"] = next
	}
	return out, nil
}

func kmsDescribeKey(c *Call) (any, error) {
	var in struct {
		KeyID string `json:"KeyId"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	k, err := c.findKey(in.KeyID)
	if err != nil {
		return nil, err
	}
	spec, state := keySpec(k), keyState(k)
	md := map[string]any{
		"AWSAccountId": c.Account.ID, "KeyId": k.ID, "Arn": c.keyARN(k), "CreationDate": epoch(c.Account.Created),
		"Enabled": state == "Enabled", "Description": "", "KeyState": state, "Origin": "AWS_KMS",
		"KeyManager": keyManager(k), "KeySpec": spec, "CustomerMasterKeySpec": spec, "MultiRegion": false,
	}
	switch {
	case strings.HasPrefix(spec, "HMAC_"):
		md["KeyUsage"] = "GENERATE_VERIFY_MAC"
		md["MacAlgorithms"] = []string{"HMAC_SHA_" + strings.TrimPrefix(spec, "HMAC_")}
	case strings.HasPrefix(spec, "ECC_"):
		md["KeyUsage"] = "SIGN_VERIFY"
		md["SigningAlgorithms"] = []string{"ECDSA_SHA_256"}
	case strings.HasPrefix(spec, "RSA_"):
		md["KeyUsage"] = "ENCRYPT_DECRYPT"
		md["EncryptionAlgorithms"] = []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}
	default:
		md["KeyUsage"] = "ENCRYPT_DECRYPT"
		md["EncryptionAlgorithms"] = []string{"SYMMETRIC_DEFAULT"}
	}
	if keyManager(k) == "AWS" {
		md["Description"] = "Default key that protects my data when no other key is defined"
	}
	if state == "PendingDeletion" {
		md["DeletionDate"] = epoch(c.S.now().Add(7 * 24 * time.Hour).Truncate(time.Hour))
		md["PendingDeletionWindowInDays"] = 7
	}
	return map[string]any{"KeyMetadata": md}, nil
}

func kmsGetKeyRotationStatus(c *Call) (any, error) {
	var in struct {
		KeyID string `json:"KeyId"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	k, err := c.findKey(in.KeyID)
	if err != nil {
		return nil, err
	}
	if keySpec(k) != "SYMMETRIC_DEFAULT" {
		return nil, &APIError{Code: "UnsupportedOperationException", Message: fmt.Sprintf("%s key does not support automatic key rotation.", c.keyARN(k)), Status: 400}
	}
	if keyState(k) == "PendingDeletion" || keyState(k) == "PendingImport" || keyState(k) == "Unavailable" {
		return nil, &APIError{Code: "KMSInvalidStateException", Message: fmt.Sprintf("%s is %s and cannot be used.", c.keyARN(k), keyState(k)), Status: 400}
	}
	// AWS rotates AWS-managed keys every year; customer keys rotate when enabled.
	enabled := keyManager(k) == "AWS" || k.Rotation
	out := map[string]any{"KeyRotationEnabled": enabled, "KeyId": c.keyARN(k)}
	if enabled {
		out["RotationPeriodInDays"] = 365
	}
	return out, nil
}
