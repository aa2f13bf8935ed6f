// Package awsjson is the wire codec of AWS's JSON 1.1 protocol: a JSON
// object in, named by the X-Amz-Target header; a JSON object or an error
// envelope out.
package awsjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ContentType is the media type of JSON 1.1 requests and responses.
const ContentType = "application/x-amz-json-1.1"

// Error is a malformed request: its exception name and HTTP status.
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Target splits an X-Amz-Target header "<prefix>.<Operation>" and checks
// the prefix.
func Target(header, prefix string) (string, error) {
	p, op, ok := strings.Cut(header, ".")
	if !ok || p != prefix || op == "" {
		return "", &Error{http.StatusBadRequest, "UnknownOperationException", "The target " + clip(header) + " is not an operation of " + prefix + "."}
	}
	return op, nil
}

// CheckContentType accepts application/x-amz-json-1.1 (parameters ignored).
func CheckContentType(header string) error {
	if ct, _, err := mime.ParseMediaType(header); err != nil || ct != ContentType {
		return &Error{http.StatusBadRequest, "SerializationException", "The Content-Type must be " + ContentType + "."}
	}
	return nil
}

// Decode decodes a request body into v. An empty body is an empty object.
// The body must be one valid UTF-8 JSON object with members of the right
// types; unknown members are ignored, as AWS services ignore them.
func Decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if !utf8.Valid(body) {
		return &Error{http.StatusBadRequest, "SerializationException", "The request body is not valid UTF-8."}
	}
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) == 0 || b[0] != '{' {
		return &Error{http.StatusBadRequest, "SerializationException", "The request body must be a JSON object."}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &Error{http.StatusBadRequest, "SerializationException", "Member " + clip(te.Field) + " must be of type " + te.Type.String() + ", not " + te.Value + "."}
		}
		return &Error{http.StatusBadRequest, "SerializationException", "The request body is not valid JSON."}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{http.StatusBadRequest, "SerializationException", "The request body has data after its JSON object."}
	}
	return nil
}

// Time is a timestamp sent as epoch seconds with millisecond precision,
// the form AWS's JSON services use (e.g. 1479816991.349).
type Time time.Time

func (t Time) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', 3, 64), nil
}

// Write sends v as a JSON 1.1 response.
func Write(w http.ResponseWriter, status int, v any, requestID string) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	send(w, status, body, requestID)
	return nil
}

// ErrorBody is the JSON 1.1 error envelope, with the members Lightsail's
// and Organizations' exceptions carry.
type ErrorBody struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
	Docs    string `json:"docs,omitempty"`
	Tip     string `json:"tip,omitempty"`
	// Reason is what Organizations' ConstraintViolationException and
	// InvalidInputException add.
	Reason string `json:"Reason,omitempty"`
}

// WriteError sends an error envelope, naming the exception in both
// __type and X-Amzn-ErrorType so that every SDK finds it.
func WriteError(w http.ResponseWriter, status int, e ErrorBody, requestID string) {
	body, _ := json.Marshal(e) // strings only: cannot fail
	w.Header().Set("X-Amzn-Errortype", e.Type)
	send(w, status, body, requestID)
}

func send(w http.ResponseWriter, status int, body []byte, requestID string) {
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("X-Amzn-Requestid", requestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}
