package awsjson

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"iamd/internal/captures"
)

type req struct {
	BucketName  *string `json:"bucketName"`
	ForceDelete *bool   `json:"forceDelete"`
	Tags        []struct {
		Key   *string `json:"key"`
		Value *string `json:"value"`
	} `json:"tags"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"botocore spacing", `{"bucketName": "b", "forceDelete": true}`, true},
		{"empty body", ``, true},
		{"empty object", `{}`, true},
		{"unknown member", `{"bucketName":"b","includeCors":true}`, true},
		{"null member", `{"bucketName":null}`, true},
		{"array", `[]`, false},
		{"string", `"x"`, false},
		{"truncated", `{"bucketName":`, false},
		{"trailing", `{} {}`, false},
		{"wrong type", `{"bucketName": 5}`, false},
		{"wrong nested type", `{"tags": [{"key": 1}]}`, false},
		{"invalid utf-8", "{\"bucketName\":\"\xff\"}", false},
	}
	for _, tt := range tests {
		var r req
		err := Decode([]byte(tt.body), &r)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v", tt.name, err)
		}
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Type != "SerializationException" || e.Status != 400 {
				t.Errorf("%s: %#v", tt.name, err)
			}
		}
	}
}

func TestTarget(t *testing.T) {
	if op, err := Target("Lightsail_20161128.GetBuckets", "Lightsail_20161128"); err != nil || op != "GetBuckets" {
		t.Fatalf("%q %v", op, err)
	}
	for _, h := range []string{"", "Lightsail_20161128", "Lightsail_20161128.", "DynamoDB_20120810.GetItem"} {
		if _, err := Target(h, "Lightsail_20161128"); err == nil || err.(*Error).Type != "UnknownOperationException" {
			t.Errorf("%q: %v", h, err)
		}
	}
}

func TestTime(t *testing.T) {
	b, _ := json.Marshal(Time(time.UnixMilli(1479816991349)))
	if string(b) != "1479816991.349" {
		t.Fatalf("%s", b)
	}
}

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, 400, ErrorBody{Type: "NotFoundException", Message: "The bucket does not exist: b", Code: "NotFound"}, "rid")
	if w.Header().Get("X-Amzn-ErrorType") != "NotFoundException" || w.Header().Get("Content-Type") != ContentType || w.Header().Get("X-Amzn-RequestId") != "rid" {
		t.Fatalf("headers %v", w.Header())
	}
	var e map[string]string
	json.Unmarshal(w.Body.Bytes(), &e)
	if e["__type"] != "NotFoundException" || e["message"] != "The bucket does not exist: b" || e["code"] != "NotFound" {
		t.Fatalf("body %s", w.Body.String())
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"bucketName": "b", "forceDelete": true, "tags": [{"key": "k", "value": "v"}]}`))
	f.Add([]byte(`{"bucketName":null}`))
	f.Add([]byte("{\"\xff\":1}"))
	f.Add([]byte(`[{}]`))
	if cs, err := captures.Load(); err == nil {
		for _, c := range cs {
			if _, body, err := c.Request(); err == nil && c.Service == "lightsail" {
				f.Add(body)
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r req
		if err := Decode(body, &r); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
		}
	})
}
