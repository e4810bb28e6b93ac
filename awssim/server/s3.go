package server

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dpsweep/dpsweep/awssim/world"
)

// S3 is path-style: /bucket and /bucket/key, the operation chosen by the
// method and the subresource in the query string.
func routeS3(r *http.Request) (string, map[string]string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(path, "/")
	params := map[string]string{"Bucket": bucket, "Key": key}
	q := r.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	switch {
	case bucket == "" && r.Method == http.MethodGet:
		return "ListBuckets", params
	case key == "" && r.Method == http.MethodGet && has("location"):
		return "GetBucketLocation", params
	case key == "" && r.Method == http.MethodGet && has("encryption"):
		return "GetBucketEncryption", params
	case key == "" && r.Method == http.MethodGet && has("policy"):
		return "GetBucketPolicy", params
	case key == "" && r.Method == http.MethodGet && has("publicAccessBlock"):
		return "GetPublicAccessBlock", params
	case key == "" && r.Method == http.MethodGet && has("tagging"):
		return "GetBucketTagging", params
	case key == "" && r.Method == http.MethodGet:
		return "ListObjectsV2", params
	case key == "" && r.Method == http.MethodHead:
		return "HeadBucket", params
	case key != "" && r.Method == http.MethodPut:
		return "PutObject", params
	case key != "" && r.Method == http.MethodGet:
		return "GetObject", params
	case key != "" && r.Method == http.MethodHead:
		return "HeadObject", params
	}
	return r.Method + "Unknown", params
}

func init() {
	register("s3", "ListBuckets", s3ListBuckets)
	register("s3", "GetBucketLocation", s3GetBucketLocation)
	register("s3", "GetBucketEncryption", s3GetBucketEncryption)
	register("s3", "GetBucketPolicy", s3GetBucketPolicy)
	register("s3", "GetPublicAccessBlock", s3GetPublicAccessBlock)
	register("s3", "HeadBucket", s3HeadBucket)
	register("s3", "ListObjectsV2", s3ListObjectsV2)
	register("s3", "PutObject", s3PutObject)
	register("s3", "GetObject", s3GetObject)
	register("s3", "HeadObject", s3GetObject)
}

type listBucketsResult struct {
	XMLName xml.Name `xml:"ListAllMyBucketsResult"`
	Xmlns   string   `xml:"xmlns,attr"`
	Owner   struct {
		ID          string `xml:"ID"`
		DisplayName string `xml:"DisplayName"`
	} `xml:"Owner"`
	Buckets []s3Bucket `xml:"Buckets>Bucket"`
}

type s3Bucket struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion,omitempty"`
}

func s3ListBuckets(c *Call) (any, error) {
	out := listBucketsResult{Xmlns: nsS3, Buckets: []s3Bucket{}}
	out.Owner.ID = hex.EncodeToString([]byte(c.Account.ID))
	out.Owner.DisplayName = c.Account.Name
	for _, b := range c.Account.Buckets {
		out.Buckets = append(out.Buckets, s3Bucket{Name: b.Name, CreationDate: s3TS(b.Created), BucketRegion: b.Region})
	}
	return out, nil
}

func s3TS(t time.Time) string {
	if t.IsZero() {
		t = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// bucket returns the request's bucket, which must belong to the caller's account.
func (c *Call) bucket() (*world.Bucket, error) {
	name := c.Params["Bucket"]
	if b, ok := c.Account.Bucket(name); ok {
		return b, nil
	}
	// A bucket of another account of the organization is forbidden, not missing.
	for _, id := range c.S.w.AccountIDs() {
		if a, _ := c.S.w.Account(id); a != c.Account {
			if _, ok := a.Bucket(name); ok {
				return nil, &APIError{Code: "AccessDenied", Message: "Access Denied", Status: 403}
			}
		}
	}
	return nil, &APIError{Code: "NoSuchBucket", Message: "The specified bucket does not exist", Status: 404}
}

type locationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	Xmlns   string   `xml:"xmlns,attr"`
	Value   string   `xml:",chardata"`
}

func s3GetBucketLocation(c *Call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	loc := b.Region
	if loc == "us-east-1" {
		loc = "" // as S3 answers for us-east-1
	}
	return locationConstraint{Xmlns: nsS3, Value: loc}, nil
}

type encryptionConfig struct {
	XMLName xml.Name `xml:"ServerSideEncryptionConfiguration"`
	Xmlns   string   `xml:"xmlns,attr"`
	Rules   []struct {
		Apply struct {
			SSEAlgorithm   string `xml:"SSEAlgorithm"`
			KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
		} `xml:"ApplyServerSideEncryptionByDefault"`
		BucketKeyEnabled bool `xml:"BucketKeyEnabled"`
	} `xml:"Rule"`
}

func s3GetBucketEncryption(c *Call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	if b.Encryption == "" {
		return nil, &APIError{Code: "ServerSideEncryptionConfigurationNotFoundError", Message: "The server side encryption configuration was not found", Status: 404}
	}
	out := encryptionConfig{Xmlns: nsS3}
	out.Rules = make([]struct {
		Apply struct {
			SSEAlgorithm   string `xml:"SSEAlgorithm"`
			KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
		} `xml:"ApplyServerSideEncryptionByDefault"`
		BucketKeyEnabled bool `xml:"BucketKeyEnabled"`
	}, 1)
	out.Rules[0].Apply.SSEAlgorithm, out.Rules[0].Apply.KMSMasterKeyID = b.Encryption, b.KMSKeyID
	out.Rules[0].BucketKeyEnabled = strings.HasPrefix(b.Encryption, "aws:kms")
	return out, nil
}

func s3GetBucketPolicy(c *Call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	if b.Policy == "" {
		return nil, &APIError{Code: "NoSuchBucketPolicy", Message: "The bucket policy does not exist", Status: 404}
	}
	return &rawBody{ContentType: "application/json", Body: []byte(b.Policy)}, nil
}

type publicAccessBlock struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	Xmlns                 string   `xml:"xmlns,attr"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

func s3GetPublicAccessBlock(c *Call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	p := b.PublicAccessBlock
	if p == nil {
		return nil, &APIError{Code: "NoSuchPublicAccessBlockConfiguration", Message: "The public access block configuration was not found", Status: 404}
	}
	return publicAccessBlock{Xmlns: nsS3, BlockPublicAcls: p.BlockPublicAcls, IgnorePublicAcls: p.IgnorePublicAcls,
		BlockPublicPolicy: p.BlockPublicPolicy, RestrictPublicBuckets: p.RestrictPublicBuckets}, nil
}

func s3HeadBucket(c *Call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	return &rawBody{Header: http.Header{"X-Amz-Bucket-Region": {b.Region}}}, nil
}

type listObjectsResult struct {
	XMLName     xml.Name `xml:"ListBucketResult"`
	Xmlns       string   `xml:"xmlns,attr"`
	Name        string   `xml:"Name"`
	Prefix      string   `xml:"Prefix"`
	KeyCount    int      `xml:"KeyCount"`
	MaxKeys     int      `xml:"MaxKeys"`
	IsTruncated bool     `xml:"IsTruncated"`
	Contents    []struct {
		Key          string `xml:"Key"`
		LastModified string `xml:"LastModified"`
		ETag         string `xml:"ETag"`
		Size         int    `xml:"Size"`
		StorageClass string `xml:"StorageClass"`
	} `xml:"Contents"`
}

func s3ListObjectsV2(c *Call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	prefix := c.R.URL.Query().Get("prefix")
	c.S.w.RLock()
	defer c.S.w.RUnlock()
	var keys []string
	for k := range b.Objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := listObjectsResult{Xmlns: nsS3, Name: b.Name, Prefix: prefix, KeyCount: len(keys), MaxKeys: 1000}
	for _, k := range keys {
		o := b.Objects[k]
		sum := md5.Sum(o.Body)
		out.Contents = append(out.Contents, struct {
			Key          string `xml:"Key"`
			LastModified string `xml:"LastModified"`
			ETag         string `xml:"ETag"`
			Size         int    `xml:"Size"`
			StorageClass string `xml:"StorageClass"`
		}{k, s3TS(o.Modified), `"` + hex.EncodeToString(sum[:]) + `"`, len(o.Body), "STANDARD"})
	}
	return out, nil
}

// s3PutObject stores an object; reports are written with SSE-KMS.
func s3PutObject(c *Call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	sse := c.R.Header.Get("X-Amz-Server-Side-Encryption")
	kmsKey := c.R.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id")
	if sse == "" {
		sse, kmsKey = b.Encryption, b.KMSKeyID
		if sse == "" {
			sse = "AES256" // S3 encrypts every new object since January 2023
		}
	}
	if sse != "AES256" && sse != "aws:kms" && sse != "aws:kms:dsse" {
		return nil, errInvalid(c, "The encryption method specified is not supported")
	}
	obj := &world.Object{Body: append([]byte(nil), c.Body...), ContentType: c.R.Header.Get("Content-Type"), ServerSideEncryption: sse, KMSKeyID: kmsKey, Modified: c.S.now()}
	c.S.w.Lock()
	if b.Objects == nil {
		b.Objects = map[string]*world.Object{}
	}
	b.Objects[c.Params["Key"]] = obj
	c.S.w.Unlock()
	sum := md5.Sum(obj.Body)
	h := http.Header{"Etag": {`"` + hex.EncodeToString(sum[:]) + `"`}, "X-Amz-Server-Side-Encryption": {sse}}
	if kmsKey != "" {
		h.Set("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", kmsKey)
	}
	return &rawBody{Header: h}, nil
}

func s3GetObject(c *Call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	c.S.w.RLock()
	o, ok := b.Objects[c.Params["Key"]]
	c.S.w.RUnlock()
	if !ok {
		return nil, &APIError{Code: "NoSuchKey", Message: "The specified key does not exist.", Status: 404}
	}
	sum := md5.Sum(o.Body)
	h := http.Header{"Etag": {`"` + hex.EncodeToString(sum[:]) + `"`}, "X-Amz-Server-Side-Encryption": {o.ServerSideEncryption},
		"Last-Modified": {o.Modified.UTC().Format(http.TimeFormat)}}
	if o.KMSKeyID != "" {
		h.Set("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", o.KMSKeyID)
	}
	ct := o.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	return &rawBody{ContentType: ct, Body: o.Body, Header: h}, nil
}
