// Package awsquery is the wire codec of AWS's Query protocol: form-encoded
// parameters in (body and query string), XML envelopes out.
package awsquery

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Error is a malformed request, with its Query error code and HTTP status.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Params are the decoded parameters of a request. Each name occurs once.
type Params map[string]string

// MaxParams bounds how many parameters one request may carry.
const MaxParams = 1000

// Parse decodes the form-encoded body and the raw query string of a request.
// A name may occur once in each; where both carry it, the body wins.
// Malformed escapes, invalid UTF-8 and repeated names are errors.
func Parse(body []byte, rawQuery string) (Params, error) {
	p := make(Params, 8)
	fromQuery, err := decodeInto(Params{}, rawQuery, "query string")
	if err != nil {
		return nil, err
	}
	if _, err := decodeInto(p, string(body), "body"); err != nil {
		return nil, err
	}
	for k, v := range fromQuery {
		if _, ok := p[k]; !ok {
			p[k] = v
		}
	}
	if len(p) > MaxParams {
		return nil, &Error{http.StatusBadRequest, "InvalidParameterValue", "The request has more than " + strconv.Itoa(MaxParams) + " parameters."}
	}
	return p, nil
}

func decodeInto(p Params, s, where string) (Params, error) {
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		dk, ok1 := unescape(k)
		dv, ok2 := unescape(v)
		if !ok1 || !ok2 {
			return nil, &Error{http.StatusNotFound, "MalformedQueryString", "The " + where + " has a malformed percent-encoding."}
		}
		if !utf8.ValidString(dk) || !utf8.ValidString(dv) {
			return nil, &Error{http.StatusBadRequest, "InvalidParameterValue", "Parameter values must be valid UTF-8."}
		}
		if _, dup := p[dk]; dup {
			return nil, &Error{http.StatusBadRequest, "InvalidParameterValue", "The parameter " + clip(dk) + " occurs more than once in the " + where + "."}
		}
		p[dk] = dv
		if len(p) > MaxParams {
			return nil, &Error{http.StatusBadRequest, "InvalidParameterValue", "The request has more than " + strconv.Itoa(MaxParams) + " parameters."}
		}
	}
	return p, nil
}

// unescape decodes form encoding: %XX and '+' for a space.
func unescape(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
				return "", false
			}
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Members returns the values of a list parameter sent as name.member.1,
// name.member.2, … in order. It stops at the first missing index.
func (p Params) Members(name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[name+".member."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

// Timestamp formats t as the XML protocols send it: ISO 8601 in UTC.
func Timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// Namespaces of the services iamd serves.
const (
	NamespaceIAM = "https://iam.amazonaws.com/doc/2010-05-08/"
	NamespaceSTS = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// EncodeResult returns the XML document of a successful response:
// <OpResponse xmlns=ns><OpResult>result</OpResult><ResponseMetadata>…
// The Result element is left out when result is nil (operations with no output).
func EncodeResult(ns, op string, result any, requestID string) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(512)
	buf.WriteString(`<` + op + `Response xmlns="` + ns + `">`)
	if a, ok := result.(Appender); ok {
		buf.WriteString("<" + op + "Result>")
		a.AppendXML(&buf)
		buf.WriteString("</" + op + "Result>")
	} else if result != nil {
		enc := xml.NewEncoder(&buf)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: op + "Result"}}); err != nil {
			return nil, err
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
	}
	buf.WriteString(`<ResponseMetadata><RequestId>`)
	xml.EscapeText(&buf, []byte(requestID))
	buf.WriteString(`</RequestId></ResponseMetadata></` + op + `Response>`)
	return buf.Bytes(), nil
}

// EncodeError returns the XML document of an error response. typ is
// "Sender" or "Receiver".
func EncodeError(ns, typ, code, message, requestID string) []byte {
	var buf bytes.Buffer
	buf.WriteString(`<ErrorResponse xmlns="` + ns + `"><Error><Type>` + typ + `</Type><Code>`)
	xml.EscapeText(&buf, []byte(code))
	buf.WriteString(`</Code><Message>`)
	xml.EscapeText(&buf, []byte(message))
	buf.WriteString(`</Message></Error><RequestId>`)
	xml.EscapeText(&buf, []byte(requestID))
	buf.WriteString(`</RequestId></ErrorResponse>`)
	return buf.Bytes()
}

// Write sends an XML document with the request ID header.
func Write(w http.ResponseWriter, status int, doc []byte, requestID string) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-Requestid", requestID)
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	w.WriteHeader(status)
	w.Write(doc)
}
