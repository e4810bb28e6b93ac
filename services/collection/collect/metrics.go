package collect

import (
	"context"
	"errors"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dpsweep/dpsweep/services/platform/telemetry"
)

// Metrics of the AWS calls collectors make, by AWS service and operation.
// Account IDs are not labels: an organization has thousands, and a series
// per account and operation would outgrow any Prometheus; logs and traces
// carry the account instead.
var (
	awsCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dpsweep_collection_aws_calls_total",
		Help: "AWS API operations the collectors called (an operation's retries are one call), by AWS service and operation.",
	}, []string{"aws_service", "operation"})
	awsErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dpsweep_collection_aws_errors_total",
		Help: "AWS API operations that failed after their retries, by AWS service, operation and error code (\"transport\" when AWS gave none).",
	}, []string{"aws_service", "operation", "error_code"})
)

func init() {
	telemetry.MustRegister(awsCalls, awsErrors)
}

// countCalls is an SDK middleware that counts every operation a client
// built from the config calls, and its failures.
func countCalls(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("dpsweepCountCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			svc, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
			awsCalls.WithLabelValues(svc, op).Inc()
			if err != nil {
				code := "transport"
				var apiErr smithy.APIError
				if errors.As(err, &apiErr) && apiErr.ErrorCode() != "" {
					code = apiErr.ErrorCode()
				} else if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					code = "cancelled"
				}
				awsErrors.WithLabelValues(svc, op, code).Inc()
			}
			return out, md, err
		}), middleware.Before)
}
