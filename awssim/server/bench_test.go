package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// BenchmarkServer measures requests per second through aws-sdk-go-v2 over a
// real listener, signatures verified, client and server on the same
// machine: a mix of query (IAM), JSON (Organizations) and REST-XML (S3).
func BenchmarkServer(b *testing.B) {
	_, url := sim(b, testWorld(b), Options{})
	c := cfg(url, member, "us-east-1")
	c.HTTPClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	mc := cfg(url, mgmt, "us-east-1")
	mc.HTTPClient = c.HTTPClient
	ic, oc := iam.NewFromConfig(c), organizations.NewFromConfig(mc)
	sc := s3.NewFromConfig(c, func(o *s3.Options) { o.UsePathStyle = true })
	b.SetParallelism(8)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		ctx := ctx(b)
		i := 0
		for pb.Next() {
			var err error
			switch i % 3 {
			case 0:
				_, err = ic.ListUsers(ctx, &iam.ListUsersInput{})
			case 1:
				_, err = oc.ListRoots(ctx, &organizations.ListRootsInput{})
			default:
				_, err = sc.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String("prod-logs")})
			}
			if err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkServerRaw replays pre-signed requests with a plain HTTP client,
// so the figure is the server's: signature verification, routing, the
// handler and the response encoding.
func BenchmarkServerRaw(b *testing.B) {
	_, url := sim(b, testWorld(b), Options{})
	ak, sk := RootCredentials(member)
	signer := v4.NewSigner()
	body := "Action=ListUsers&Version=2010-05-08"
	sum := sha256.Sum256([]byte(body))
	mk := func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
			b.Fatal(err)
		}
		return req
	}
	proto := mk()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(8)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := proto.Clone(context.Background())
			req.Body = io.NopCloser(strings.NewReader(body))
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
