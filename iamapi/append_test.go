package iamapi

import (
	"bytes"
	"encoding/xml"
	"testing"
)

// TestAppendXMLMatchesEncodingXML: the hand-written encoder writes what
// encoding/xml writes for the same result, escaping included.
func TestAppendXMLMatchesEncodingXML(t *testing.T) {
	for _, r := range []createAccessKeyResult{
		{accessKey{UserName: "Bob", AccessKeyId: "AKIAAAAAAAAAAAAAAAAA", Status: "Active", SecretAccessKey: "a+b/c", CreateDate: "2026-11-24T08:00:00Z"}},
		{accessKey{AccessKeyId: "AKIAAAAAAAAAAAAAAAAA", Status: "Active", SecretAccessKey: "x", CreateDate: "2026-11-24T08:00:00Z"}},
	} {
		want, _ := xml.Marshal(r)
		var buf bytes.Buffer
		buf.WriteString("<createAccessKeyResult>")
		r.AppendXML(&buf)
		buf.WriteString("</createAccessKeyResult>")
		if buf.String() != string(want) {
			t.Errorf("AppendXML:\n%s\nencoding/xml:\n%s", buf.String(), want)
		}
	}
	for _, r := range []listAccessKeysResult{
		{AccessKeyMetadata: []accessKey{}},
		{AccessKeyMetadata: []accessKey{{UserName: `a<b>&"c'`, AccessKeyId: "AKIAAAAAAAAAAAAAAAAA", Status: "Active", CreateDate: "2026-11-24T08:00:00Z"},
			{AccessKeyId: "AKIABBBBBBBBBBBBBBBB", Status: "Inactive", CreateDate: "2026-11-24T08:00:01Z"}}, IsTruncated: true, Marker: "m\n\t&"},
	} {
		want, err := xml.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.WriteString("<listAccessKeysResult>")
		r.AppendXML(&buf)
		buf.WriteString("</listAccessKeysResult>")
		if buf.String() != string(want) {
			t.Errorf("AppendXML:\n%s\nencoding/xml:\n%s", buf.String(), want)
		}
	}
}
