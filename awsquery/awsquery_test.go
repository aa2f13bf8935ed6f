package awsquery

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"

	"iamd/internal/captures"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, body, query string
		want              Params
		code              string
	}{
		{name: "botocore", body: "Action=CreateAccessKey&Version=2010-05-08&UserName=Bob",
			want: Params{"Action": "CreateAccessKey", "Version": "2010-05-08", "UserName": "Bob"}},
		{name: "plus and escapes", body: "Path=%2Fa+b%2F&Marker=abc%2F%3D%2B",
			want: Params{"Path": "/a b/", "Marker": "abc/=+"}},
		{name: "empty list", body: "Tags=&Action=CreateUser", want: Params{"Tags": "", "Action": "CreateUser"}},
		{name: "presigned query", query: "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Date=20261124T073036Z",
			want: Params{"Action": "GetCallerIdentity", "Version": "2011-06-15", "X-Amz-Date": "20261124T073036Z"}},
		{name: "body wins", body: "Action=GetUser", query: "Action=ListUsers&Version=2010-05-08",
			want: Params{"Action": "GetUser", "Version": "2010-05-08"}},
		{name: "empty pairs", body: "&&Action=GetUser&", want: Params{"Action": "GetUser"}},
		{name: "repeated", body: "UserName=a&UserName=b", code: "InvalidParameterValue"},
		{name: "repeated in query", query: "a=1&a=2", code: "InvalidParameterValue"},
		{name: "bad escape", body: "UserName=%zz", code: "MalformedQueryString"},
		{name: "short escape", body: "UserName=%4", code: "MalformedQueryString"},
		{name: "invalid utf-8", body: "UserName=%ff%fe", code: "InvalidParameterValue"},
		{name: "raw invalid utf-8", body: "UserName=\xff", code: "InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body), tt.query)
			if tt.code != "" {
				e, ok := err.(*Error)
				if !ok || e.Code != tt.code {
					t.Fatalf("got %v, want code %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestMembers(t *testing.T) {
	p := Params{"Tags.member.1.Key": "a", "L.member.1": "x", "L.member.2": "y", "L.member.4": "z"}
	if got := p.Members("L"); strings.Join(got, ",") != "x,y" {
		t.Fatalf("Members = %v", got)
	}
}

func TestEncodeResult(t *testing.T) {
	type user struct {
		UserName string
		Arn      string
	}
	type res struct {
		User        user
		Users       []user `xml:"Users>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}
	doc, err := EncodeResult(NamespaceIAM, "GetUser", res{User: user{"a<b", "arn"}, Users: []user{}}, "rid-1")
	if err != nil {
		t.Fatal(err)
	}
	want := `<GetUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetUserResult><User><UserName>a&lt;b</UserName><Arn>arn</Arn></User><Users></Users><IsTruncated>false</IsTruncated></GetUserResult><ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata></GetUserResponse>`
	if string(doc) != want {
		t.Fatalf("got\n%s\nwant\n%s", doc, want)
	}
	doc, err = EncodeResult(NamespaceIAM, "DeleteUser", nil, "rid-2")
	if err != nil || string(doc) != `<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>rid-2</RequestId></ResponseMetadata></DeleteUserResponse>` {
		t.Fatalf("no-output response: %s %v", doc, err)
	}
}

func TestEncodeError(t *testing.T) {
	doc := EncodeError(NamespaceSTS, "Sender", "InvalidClientTokenId", "bad <token>", "rid")
	var v struct {
		Error     struct{ Type, Code, Message string }
		RequestId string
	}
	if err := xml.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	if v.Error.Code != "InvalidClientTokenId" || v.Error.Message != "bad <token>" || v.Error.Type != "Sender" || v.RequestId != "rid" {
		t.Fatalf("decoded %+v from %s", v, doc)
	}
	_ = http.StatusOK
}

func FuzzParse(f *testing.F) {
	f.Add("Action=CreateAccessKey&UserName=Bob&Version=2010-05-08", "")
	f.Add("Path=%2Fa+b%2F&Tags.member.1.Key=k", "X-Amz-Signature=abc")
	f.Add("%", "%%%")
	f.Add("a=\xff&a=1", "=&=")
	for _, c := range queryCaptures() {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, body, query string) {
		p, err := Parse([]byte(body), query)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		for k, v := range p {
			if !isUTF8(k) || !isUTF8(v) {
				t.Fatalf("invalid UTF-8 passed: %q=%q", k, v)
			}
		}
		p.Members("L")
	})
}

// queryCaptures are the bodies and query strings of the captured IAM and
// STS requests of real clients.
func queryCaptures() [][2]string {
	cs, _ := captures.Load()
	var out [][2]string
	for _, c := range cs {
		if c.Service == "lightsail" {
			continue
		}
		if r, body, err := c.Request(); err == nil {
			out = append(out, [2]string{string(body), r.URL.RawQuery})
		}
	}
	return out
}

func isUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
