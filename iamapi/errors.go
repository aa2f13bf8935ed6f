package iamapi

import (
	"errors"
	"net/http"

	"iamd"
	"iamd/awsquery"
)

// wireError is how IAM answers one kind of domain error.
type wireError struct {
	status int
	code   string
}

// codes maps domain kinds to IAM's error codes and statuses (botocore's IAM
// model and AWS's Common Errors for Query services).
var codes = map[iamd.Kind]wireError{
	iamd.NotFound:        {http.StatusNotFound, "NoSuchEntity"},
	iamd.AlreadyExists:   {http.StatusConflict, "EntityAlreadyExists"},
	iamd.LimitExceeded:   {http.StatusConflict, "LimitExceeded"},
	iamd.Conflict:        {http.StatusConflict, "DeleteConflict"},
	iamd.Invalid:         {http.StatusBadRequest, "ValidationError"},
	iamd.InvalidInput:    {http.StatusBadRequest, "InvalidInput"},
	iamd.AccessDenied:    {http.StatusForbidden, "AccessDenied"},
	iamd.Unavailable:     {http.StatusServiceUnavailable, "ServiceUnavailable"},
	iamd.MalformedPolicy: {http.StatusBadRequest, "MalformedPolicyDocument"},
	iamd.Internal:        {http.StatusInternalServerError, "ServiceFailure"},

	iamd.PasswordPolicyViolation:   {http.StatusBadRequest, "PasswordPolicyViolation"},
	iamd.InvalidAuthenticationCode: {http.StatusForbidden, "InvalidAuthenticationCode"},
}

// ErrorResponse returns the HTTP status, code and client-safe message for
// err, and whether it is the client's fault (the <Type> Sender). Unknown
// failures become ServiceFailure with a generic message.
func ErrorResponse(err error) (status int, code, message string, sender bool) {
	var qe *awsquery.Error
	if errors.As(err, &qe) {
		return qe.Status, qe.Code, qe.Message, true
	}
	kind := iamd.KindOf(err)
	w := codes[kind]
	message = iamd.MessageOf(err)
	switch kind {
	case iamd.Internal:
		message = "The request processing has failed because of an unknown error, exception or failure."
	case iamd.Invalid:
		message = "1 validation error detected: " + message
	}
	return w.status, w.code, message, w.status < 500
}
