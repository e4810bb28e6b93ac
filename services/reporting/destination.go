package reporting

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	reportingv1 "github.com/dpsweep/dpsweep/gen/dpsweep/reporting/v1"
)

// written describes a report that reached its destination.
type written struct {
	uri    string
	bytes  int64
	sha256 string
}

// hashingWriter counts and hashes what passes through it.
type hashingWriter struct {
	w io.Writer
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	n int64
}

func newHashingWriter(w io.Writer) *hashingWriter { return &hashingWriter{w: w, h: sha256.New()} }

func (h *hashingWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

func (h *hashingWriter) sum() string { return hex.EncodeToString(h.h.Sum(nil)) }

// errDestination is a destination the request got wrong: INVALID_ARGUMENT.
type errDestination struct{ field, problem string }

func (e *errDestination) Error() string { return e.field + ": " + e.problem }

// resolvePath turns a LocalFile path into an absolute path under the report
// directory; relative paths may not climb out of it.
func (s *Service) resolvePath(p string) (string, error) {
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	clean := filepath.Clean(p)
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", &errDestination{"destination.file.path", "a relative path may not leave the report directory"}
	}
	return filepath.Join(s.cfg.ReportDir, clean), nil
}

// writeFile renders into a temporary file beside the target and renames it
// into place, so a failed export never leaves a half-written report.
func (s *Service) writeFile(path string, render func(io.Writer) error) (*written, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create report directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dpsweep-report-*")
	if err != nil {
		return nil, fmt.Errorf("create report file: %w", err)
	}
	defer os.Remove(tmp.Name())
	hw := newHashingWriter(tmp)
	if err := render(hw); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write report file: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("write report file: %w", err)
	}
	return &written{uri: path, bytes: hw.n, sha256: hw.sum()}, nil
}

// writeS3 renders into a temporary file, then uploads it with SSE-KMS.
func (s *Service) writeS3(ctx context.Context, dst *reportingv1.S3Object, contentType string, render func(io.Writer) error) (*written, error) {
	tmp, err := os.CreateTemp("", "dpsweep-report-*")
	if err != nil {
		return nil, fmt.Errorf("create temporary report: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	hw := newHashingWriter(tmp)
	if err := render(hw); err != nil {
		return nil, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	region := dst.GetRegion()
	if region == "" {
		region = s.cfg.Region
	}
	in := &s3.PutObjectInput{Bucket: aws.String(dst.GetBucket()), Key: aws.String(dst.GetKey()), Body: tmp, ContentLength: aws.Int64(hw.n),
		ContentType: aws.String(contentType), ServerSideEncryption: s3types.ServerSideEncryptionAwsKms}
	if k := dst.GetKmsKeyId(); k != "" {
		in.SSEKMSKeyId = aws.String(k)
	}
	out, err := s.s3(region).PutObject(ctx, in)
	if err != nil {
		return nil, awsError("s3:PutObject", err)
	}
	if out.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms && out.ServerSideEncryption != s3types.ServerSideEncryptionAwsKmsDsse {
		// Never leave a report unencrypted-at-KMS behind.
		_, derr := s.s3(region).DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(dst.GetBucket()), Key: aws.String(dst.GetKey())})
		return nil, &errDestination{"destination.s3", fmt.Sprintf("the bucket stored the report with %q, not SSE-KMS (removed again: %t); check the bucket's encryption settings", out.ServerSideEncryption, derr == nil)}
	}
	return &written{uri: "s3://" + dst.GetBucket() + "/" + dst.GetKey(), bytes: hw.n, sha256: hw.sum()}, nil
}

// contentType is the MIME type of a format.
func contentType(f reportingv1.ReportFormat) string {
	switch f {
	case reportingv1.ReportFormat_REPORT_FORMAT_CSV:
		return "text/csv; charset=utf-8"
	case reportingv1.ReportFormat_REPORT_FORMAT_HTML:
		return "text/html; charset=utf-8"
	case reportingv1.ReportFormat_REPORT_FORMAT_SARIF:
		return "application/sarif+json"
	case reportingv1.ReportFormat_REPORT_FORMAT_JSON, reportingv1.ReportFormat_REPORT_FORMAT_OCSF, reportingv1.ReportFormat_REPORT_FORMAT_ASFF:
		return "application/x-ndjson"
	}
	return "application/octet-stream"
}
