package server

import (
	"errors"
	"net/http"

	"iamd/awsjson"
	"iamd/lightsailapi"
	"iamd/sigv4"
)

// jsonAuthErrors names SigV4 failures as AWS's JSON services do.
var jsonAuthErrors = map[string]string{
	sigv4.CodeMissingAuth:       "MissingAuthenticationTokenException",
	sigv4.CodeIncomplete:        "IncompleteSignatureException",
	sigv4.CodeInvalidToken:      "UnrecognizedClientException",
	sigv4.CodeSignatureMismatch: "InvalidSignatureException",
	sigv4.CodeExpired:           "InvalidSignatureException",
}

// serveJSON serves a JSON 1.1 request (Lightsail), named by X-Amz-Target.
func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request, id string, e *logEntry) {
	e.service = "lightsail"
	if r.Method != http.MethodPost {
		s.writeJSONError(w, &awsjson.Error{Status: http.StatusMethodNotAllowed, Type: "UnknownOperationException", Message: "JSON requests must be POST."}, id, e)
		return
	}
	body, status, msg := s.readBody(r, e)
	if status != 0 {
		s.writeJSONError(w, &awsjson.Error{Status: status, Type: "SerializationException", Message: msg}, id, e)
		return
	}
	// Problems with the envelope are reported once the request has
	// authenticated: unsigned callers learn nothing else.
	op, badRequest := awsjson.Target(r.Header.Get("X-Amz-Target"), lightsailapi.TargetPrefix)
	e.action = op
	if err := awsjson.CheckContentType(r.Header.Get("Content-Type")); err != nil && badRequest == nil {
		badRequest = err
	}
	caller, err := s.authenticate(r, body, "lightsail", e)
	if err == nil {
		err = badRequest
	}
	if err != nil {
		s.writeJSONError(w, err, id, e)
		return
	}
	result, err := s.lightsail.Do(r.Context(), caller, op, body)
	if err != nil {
		s.writeJSONError(w, err, id, e)
		return
	}
	if err := awsjson.Write(w, http.StatusOK, result, id); err != nil {
		s.writeJSONError(w, err, id, e)
		return
	}
	e.status = http.StatusOK
}

func (s *Server) writeJSONError(w http.ResponseWriter, err error, id string, e *logEntry) {
	var status int
	var body awsjson.ErrorBody
	var se *sigv4.Error
	if errors.As(err, &se) {
		status, body = http.StatusBadRequest, awsjson.ErrorBody{Type: jsonAuthErrors[se.Code], Message: se.Message}
		if se.Code == sigv4.CodeMissingAuth {
			status = http.StatusForbidden
		}
	} else {
		status, body = lightsailapi.ErrorResponse(err)
	}
	e.status, e.err = status, err
	awsjson.WriteError(w, status, body, id)
}
