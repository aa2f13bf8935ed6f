package awsquery

import "testing"

func BenchmarkParse(b *testing.B) {
	body := []byte("Action=CreateAccessKey&UserName=Bob&Version=2010-05-08&Path=%2Fteam-a%2F")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body, ""); err != nil {
			b.Fatal(err)
		}
	}
}

type benchKey struct {
	UserName, AccessKeyId, Status, CreateDate string
}

type benchList struct {
	AccessKeyMetadata []benchKey `xml:"AccessKeyMetadata>member"`
	IsTruncated       bool
}

// BenchmarkEncodeResultReflect is encoding/xml's path, used by most results.
func BenchmarkEncodeResultReflect(b *testing.B) {
	r := benchList{AccessKeyMetadata: []benchKey{{"Bob", "AKIAAAAAAAAAAAAAAAAA", "Active", "2026-11-24T08:00:00Z"}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeResult(NamespaceIAM, "ListAccessKeys", r, "00000000-0000-4000-8000-000000000000"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeError(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		EncodeError(NamespaceIAM, "Sender", "NoSuchEntity", "The user with name bob cannot be found.", "00000000-0000-4000-8000-000000000000")
	}
}
