package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"iamd"
	"iamd/awsjson"
	"iamd/sigv4"
)

// jsonService is one JSON 1.1 service: Lightsail, Organizations.
type jsonService struct {
	name   string // SigV4 service name
	prefix string // of X-Amz-Target
	api    interface {
		Do(ctx context.Context, c *iamd.Caller, operation string, body []byte) (any, error)
	}
	errorResponse func(error) (int, awsjson.ErrorBody)
}

// jsonFor returns the JSON service target names; Lightsail, the first,
// when it names none served, whose error then says so.
func (s *Server) jsonFor(target string) jsonService {
	prefix, _, _ := strings.Cut(target, ".")
	for _, j := range s.first.json {
		if j.prefix == prefix {
			return j
		}
	}
	return s.first.json[0]
}

// jsonAuthErrors names SigV4 failures as AWS's JSON services do.
var jsonAuthErrors = map[string]string{
	sigv4.CodeMissingAuth:       "MissingAuthenticationTokenException",
	sigv4.CodeIncomplete:        "IncompleteSignatureException",
	sigv4.CodeInvalidToken:      "UnrecognizedClientException",
	sigv4.CodeSignatureMismatch: "InvalidSignatureException",
	sigv4.CodeExpired:           "InvalidSignatureException",
}

// serveJSON serves a JSON 1.1 request, named by X-Amz-Target.
func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request, id string, e *logEntry) {
	js := s.jsonFor(r.Header.Get("X-Amz-Target"))
	e.service = js.name
	if r.Method != http.MethodPost {
		s.writeJSONError(w, js, &awsjson.Error{Status: http.StatusMethodNotAllowed, Type: "UnknownOperationException", Message: "JSON requests must be POST."}, id, e)
		return
	}
	if r.ContentLength > s.maxBody {
		s.writeJSONError(w, js, s.tooLarge(), id, e)
		return
	}
	// Problems with the envelope are reported once the request has
	// authenticated: unsigned callers learn nothing else.
	op, badRequest := awsjson.Target(r.Header.Get("X-Amz-Target"), js.prefix)
	e.action = op
	if err := awsjson.CheckContentType(r.Header.Get("Content-Type")); err != nil && badRequest == nil {
		badRequest = err
	}
	a, err := sigv4.Parse(r)
	var pending pendingAuth
	if err == nil {
		pending, err = s.begin(r, a, js.name, e)
	}
	if err == nil && !a.Signs("x-amz-target") {
		// The operation is named by X-Amz-Target alone: unsigned, the
		// same signature would serve for any operation.
		err = errTargetUnsigned
	}
	if err != nil {
		s.writeJSONError(w, js, err, id, e)
		return
	}
	body, err := s.readBody(w, r, e)
	if err != nil {
		s.writeJSONError(w, js, err, id, e)
		return
	}
	caller, err := s.finish(r, &pending, body, e)
	if err == nil {
		err = badRequest
		if s.auditLog != nil {
			var names map[string]json.RawMessage
			if json.Unmarshal(body, &names) == nil {
				for _, k := range auditTargets {
					var v string
					if json.Unmarshal(names[k], &v) == nil && v != "" {
						e.target = v
						break
					}
				}
			}
		}
	}
	if err != nil {
		s.writeJSONError(w, js, err, id, e)
		return
	}
	result, err := pending.t.jsonOf(js).Do(r.Context(), caller, op, body)
	if err != nil {
		s.writeJSONError(w, js, err, id, e)
		return
	}
	e.status = http.StatusOK
	s.audit(id, e) // before the answer: the change is on record before anyone learns of it
	if err := awsjson.Write(w, http.StatusOK, result, id); err != nil {
		s.writeJSONError(w, js, err, id, e) // nothing was written: the result did not encode
	}
}

// errTargetUnsigned refuses a JSON request whose signature leaves out the
// header that names its operation.
var errTargetUnsigned = &sigv4.Error{Code: sigv4.CodeIncomplete, Message: "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."}

func (s *Server) writeJSONError(w http.ResponseWriter, js jsonService, err error, id string, e *logEntry) {
	var status int
	var body awsjson.ErrorBody
	var se *sigv4.Error
	var be *bodyError
	switch {
	case errors.As(err, &se):
		status, body = http.StatusBadRequest, awsjson.ErrorBody{Type: jsonAuthErrors[se.Code], Message: se.Message}
		if se.Code == sigv4.CodeMissingAuth {
			status = http.StatusForbidden
		}
	case errors.As(err, &be):
		status, body = be.status, awsjson.ErrorBody{Type: be.jsonTyp, Message: be.msg}
	default:
		status, body = js.errorResponse(err)
	}
	e.status, e.err, e.code = status, err, body.Type
	s.audit(id, e)
	awsjson.WriteError(w, status, body, id)
}
