// Package captures loads the requests captured from real AWS clients (the
// aws CLI v1 and v2, boto3, aws-sdk-go-v2, the JS SDK v3, R paws) that
// ../shared/testdata/captures holds beside the repository, for tests and
// as seeds of the fuzz targets of every parser of untrusted input.
package captures

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Capture is one captured request as MANIFEST.json describes it.
type Capture struct {
	File          string   `json:"file"`
	Kind          string   `json:"kind"` // header-signed or presigned-url
	Client        string   `json:"client"`
	Service       string   `json:"service"`
	Operation     string   `json:"operation"`
	Region        string   `json:"region"`
	AccessKeyID   string   `json:"access_key_id"`
	Secret        string   `json:"secret"`
	SigningTime   string   `json:"signing_time"`
	Method        string   `json:"method"`
	SignedHeaders []string `json:"signed_headers"`

	dir string
}

// Dir is where the captures are: ../shared/testdata/captures beside the
// repository root, found from the working directory up.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "testdata", "captures"), nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("captures: no go.mod above " + wd)
		}
	}
}

// Load reads the manifest.
func Load() ([]Capture, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "MANIFEST.json"))
	if err != nil {
		return nil, err
	}
	var m struct{ Captures []Capture }
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for i := range m.Captures {
		m.Captures[i].dir = dir
	}
	return m.Captures, nil
}

// Time is the moment the request was signed.
func (c Capture) Time() time.Time {
	t, _ := time.Parse("20060102T150405Z", c.SigningTime)
	return t
}

// Request returns the request as a server receives it, and its body.
func (c Capture) Request() (*http.Request, []byte, error) {
	raw, err := os.ReadFile(filepath.Join(c.dir, c.File))
	if err != nil {
		return nil, nil, err
	}
	if c.Kind == "presigned-url" {
		u, err := url.Parse(strings.TrimSpace(string(raw)))
		if err != nil {
			return nil, nil, err
		}
		r := &http.Request{Method: c.Method, URL: u, Host: u.Host, RequestURI: u.RequestURI(), Header: http.Header{},
			Body: http.NoBody, RemoteAddr: "127.0.0.1:1"}
		return r, nil, nil
	}
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.RemoteAddr = "127.0.0.1:1"
	return r, body, nil
}
