package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

type protocol int

const (
	protoQuery protocol = iota + 1
	protoEC2
	protoRESTXML
	protoJSON10
	protoJSON11
	protoRESTJSON
)

// APIError is an AWS error, written in the protocol's own shape.
type APIError struct {
	Code    string
	Message string
	Status  int
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// errInvalid is a client error of the protocol's validation kind.
func errInvalid(c *Call, format string, args ...any) *APIError {
	code := "ValidationException"
	switch c.proto {
	case protoQuery:
		code = "ValidationError"
	case protoEC2:
		code = "InvalidParameterValue"
	case protoRESTXML:
		code = "InvalidArgument"
	}
	if c.Service == "servicecatalog" {
		code = "InvalidParametersException"
	}
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...), Status: 400}
}

// errNotFound is a missing-resource error with a service-specific code.
func errNotFound(code, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...), Status: 404}
}

// resolveOperation finds the operation name (and REST path parameters).
func (c *Call) resolveOperation() error {
	switch c.proto {
	case protoQuery, protoEC2:
		form, err := url.ParseQuery(string(c.Body))
		if err != nil {
			return errInvalid(c, "malformed form body: %v", err)
		}
		for k, v := range c.R.URL.Query() {
			form[k] = v
		}
		c.Form = form
		c.Operation = form.Get("Action")
		if c.Operation == "" {
			return &APIError{Code: "MissingAction", Message: "Action is required", Status: 400}
		}
	case protoJSON10, protoJSON11:
		target := c.R.Header.Get("X-Amz-Target")
		_, op, ok := strings.Cut(target, ".")
		if !ok {
			return &APIError{Code: "UnknownOperationException", Message: "X-Amz-Target is missing or malformed", Status: 400}
		}
		if i := strings.LastIndexByte(op, '.'); i >= 0 {
			op = op[i+1:]
		}
		c.Operation = op
	case protoRESTXML:
		c.Operation, c.Params = routeS3(c.R)
	case protoRESTJSON:
		op, params, ok := routeREST(c.Service, c.R.Method, c.R.URL.EscapedPath())
		if !ok {
			return &APIError{Code: "UnknownOperationException", Message: fmt.Sprintf("no %s operation at %s %s", c.Service, c.R.Method, c.R.URL.Path), Status: 404}
		}
		c.Operation, c.Params = op, params
	}
	return nil
}

// restRoute maps a method and path pattern ("/applications/{applicationId}") to an operation.
type restRoute struct {
	method, pattern, op string
}

var restRoutes = map[string][]restRoute{}

func registerRoute(service, method, pattern, op string, h handler) {
	restRoutes[service] = append(restRoutes[service], restRoute{method, pattern, op})
	register(service, op, h)
}

func routeREST(service, method, path string) (string, map[string]string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, rt := range restRoutes[service] {
		if rt.method != method {
			continue
		}
		pat := strings.Split(strings.Trim(rt.pattern, "/"), "/")
		if len(pat) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, p := range pat {
			if strings.HasPrefix(p, "{") {
				v, err := url.PathUnescape(segs[i])
				if err != nil {
					ok = false
					break
				}
				params[strings.Trim(p, "{}")] = v
			} else if p != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return rt.op, params, true
		}
	}
	return "", nil, false
}

// decode reads a JSON request body into v.
func (c *Call) decode(v any) error {
	if len(bytes.TrimSpace(c.Body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Body, v); err != nil {
		return &APIError{Code: "SerializationException", Message: "malformed JSON body: " + err.Error(), Status: 400}
	}
	return nil
}

// formList reads a query-protocol list: Prefix.member.1, Prefix.member.2, ...
func (c *Call) formList(prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := c.Form[fmt.Sprintf("%s.member.%d", prefix, i)]
		if !ok {
			v, ok = c.Form[fmt.Sprintf("%s.%d", prefix, i)] // EC2 flavour
		}
		if !ok || len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}

// rawBody is a response body written as it is (S3 objects and policies).
type rawBody struct {
	ContentType string
	Body        []byte
	Header      http.Header
}

// noContent is an empty successful response.
type noContent struct{}

const (
	nsSTS = "https://sts.amazonaws.com/doc/2011-06-15/"
	nsIAM = "https://iam.amazonaws.com/doc/2010-05-08/"
	nsEC2 = "http://ec2.amazonaws.com/doc/2016-11-15/"
	nsS3  = "http://s3.amazonaws.com/doc/2006-03-01/"
)

// innerXML marshals v and returns the content of its root element.
func innerXML(v any) ([]byte, error) {
	b, err := xml.Marshal(v)
	if err != nil {
		return nil, err
	}
	start := bytes.IndexByte(b, '>')
	end := bytes.LastIndex(b, []byte("</"))
	if start < 0 || end < start {
		return nil, nil // an empty element
	}
	return b[start+1 : end], nil
}

func (c *Call) writeResult(w http.ResponseWriter, out any) {
	w.Header().Set("X-Amzn-Requestid", c.reqID)
	if rb, ok := out.(*rawBody); ok {
		for k, vs := range rb.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		if rb.ContentType != "" {
			w.Header().Set("Content-Type", rb.ContentType)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(rb.Body)))
		w.WriteHeader(http.StatusOK)
		if c.R.Method != http.MethodHead {
			_, _ = w.Write(rb.Body)
		}
		return
	}
	if _, ok := out.(noContent); ok {
		if c.proto == protoRESTXML {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		out = struct{}{}
	}
	var body []byte
	var err error
	switch c.proto {
	case protoQuery:
		var inner []byte
		if inner, err = innerXML(out); err == nil {
			ns := nsIAM
			if c.Service == "sts" {
				ns = nsSTS
			}
			body = []byte(fmt.Sprintf(`<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
				c.Operation, ns, c.Operation, inner, c.Operation, c.reqID, c.Operation))
		}
		w.Header().Set("Content-Type", "text/xml")
	case protoEC2:
		var inner []byte
		if inner, err = innerXML(out); err == nil {
			body = []byte(fmt.Sprintf(`<%sResponse xmlns="%s"><requestId>%s</requestId>%s</%sResponse>`, c.Operation, nsEC2, c.reqID, inner, c.Operation))
		}
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	case protoRESTXML:
		if body, err = xml.Marshal(out); err == nil {
			body = append([]byte(xml.Header), body...)
		}
		w.Header().Set("Content-Type", "application/xml")
	case protoJSON10, protoJSON11:
		body, err = json.Marshal(out)
		w.Header().Set("Content-Type", fmt.Sprintf("application/x-amz-json-1.%d", map[protocol]int{protoJSON10: 0, protoJSON11: 1}[c.proto]))
	case protoRESTJSON:
		body, err = json.Marshal(out)
		w.Header().Set("Content-Type", "application/json")
	}
	if err != nil {
		c.writeError(w, &APIError{Code: "InternalFailure", Message: "simulator could not encode its response: " + err.Error(), Status: 500})
		return
	}
	c.crc32(w, body)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// crc32 sets the X-Amz-Crc32 header DynamoDB puts on every response; the
// SDK checks the body against it.
func (c *Call) crc32(w http.ResponseWriter, body []byte) {
	if c.Service == "dynamodb" {
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	}
}

func (c *Call) writeError(w http.ResponseWriter, err error) {
	e, ok := err.(*APIError)
	if !ok {
		e = &APIError{Code: "InternalFailure", Message: err.Error(), Status: 500}
	}
	if e.Status == 0 {
		e.Status = 400
	}
	w.Header().Set("X-Amzn-Requestid", c.reqID)
	var body []byte
	esc := func(s string) string {
		var b bytes.Buffer
		_ = xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	switch c.proto {
	case protoQuery:
		kind := "Sender"
		if e.Status >= 500 {
			kind = "Receiver"
		}
		ns := nsIAM
		if c.Service == "sts" {
			ns = nsSTS
		}
		body = []byte(fmt.Sprintf(`<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			ns, kind, e.Code, esc(e.Message), c.reqID))
		w.Header().Set("Content-Type", "text/xml")
	case protoEC2:
		body = []byte(fmt.Sprintf(`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`, e.Code, esc(e.Message), c.reqID))
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	case protoRESTXML:
		body = []byte(fmt.Sprintf(`%s<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>`, xml.Header, e.Code, esc(e.Message), c.reqID))
		w.Header().Set("Content-Type", "application/xml")
	default:
		w.Header().Set("X-Amzn-Errortype", e.Code)
		body, _ = json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
		if c.proto == protoRESTJSON {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		}
	}
	c.crc32(w, body)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	if c.R.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// pageOf returns items[start:end] for a page of at most max items (the
// fault PageSize makes it smaller), and the next token, from an opaque
// token holding the offset.
func pageOf[T any](c *Call, items []T, token string, max int) ([]T, string, error) {
	start := 0
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || !strings.HasPrefix(string(raw), "sim:") {
			return nil, "", errInvalid(c, "invalid pagination token")
		}
		if start, err = strconv.Atoi(string(raw[4:])); err != nil || start < 0 || start > len(items) {
			return nil, "", errInvalid(c, "invalid pagination token")
		}
	}
	if ps := c.S.Faults().PageSize; ps > 0 && (max <= 0 || ps < max) {
		max = ps
	}
	if max <= 0 {
		max = len(items)
	}
	end := min(len(items), start+max)
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte("sim:" + strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}
