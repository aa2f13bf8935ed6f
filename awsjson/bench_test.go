package awsjson

import (
	"encoding/json"
	"testing"
	"time"
)

func BenchmarkDecode(b *testing.B) {
	body := []byte(`{"bucketName": "my-bucket", "bundleId": "small_1_0", "tags": [{"key": "team", "value": "a"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		var r req
		if err := Decode(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	type key struct {
		AccessKeyID string `json:"accessKeyId"`
		Status      string `json:"status"`
		CreatedAt   Time   `json:"createdAt"`
	}
	v := struct {
		AccessKeys []key `json:"accessKeys"`
	}{[]key{{"AKIAAAAAAAAAAAAAAAAA", "Active", Time(time.Now())}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}
