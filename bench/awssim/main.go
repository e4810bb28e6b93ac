// Command awssim writes a wrk script that replays one SigV4-signed request
// against the AWS simulator, so bench/awssim/run.sh can measure the
// server's request rate with a load generator lighter than any SDK.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:4566", "simulator endpoint")
	ak := flag.String("access-key", "", "access key ID")
	sk := flag.String("secret-key", "", "secret access key")
	flag.Parse()
	body := "Action=ListUsers&Version=2010-05-08"
	req, err := http.NewRequest(http.MethodPost, *url+"/", strings.NewReader(body))
	if err != nil {
		fail(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: *ak, SecretAccessKey: *sk}, req,
		hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		fail(err)
	}
	fmt.Printf("wrk.method = \"POST\"\nwrk.body = %q\n", body)
	for k, vs := range req.Header {
		fmt.Printf("wrk.headers[%q] = %q\n", k, strings.Join(vs, ","))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/awssim:", err)
	os.Exit(1)
}
