package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"
)

// startNull starts the do-nothing reference handler in a process of its
// own (this program with -serve-null), as iamd and moto run: it reads the
// body, picks a canned answer by Action and writes it. No signature check,
// no storage: the ceiling a separate Go HTTP server reaches with this client.
func startNull() (*target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(self, "-serve-null", addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	if err := waitListening(addr); err != nil {
		stop()
		return nil, fmt.Errorf("null handler: %w", err)
	}
	return &target{name: "null", endpoint: "http://" + addr, id: "AKIANULLNULLNULLNULL", secret: "null", stop: stop}, nil
}

// serveNull runs the do-nothing handler until killed.
func serveNull(addr string) error {
	return http.ListenAndServe(addr, http.HandlerFunc(nullHandler))
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitListening(addr string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const (
	nullMeta = `<ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ResponseMetadata>`
	nullKey  = `<AccessKey><UserName>u</UserName><AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId><Status>Active</Status><SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey><CreateDate>2026-11-24T00:00:00Z</CreateDate></AccessKey>`
)

var nullAnswers = map[string]string{
	"GetCallerIdentity": `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:root</Arn><UserId>123456789012</UserId><Account>123456789012</Account></GetCallerIdentityResult>` + nullMeta + `</GetCallerIdentityResponse>`,
	"CreateAccessKey":   `<CreateAccessKeyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateAccessKeyResult>` + nullKey + `</CreateAccessKeyResult>` + nullMeta + `</CreateAccessKeyResponse>`,
	"DeleteAccessKey":   `<DeleteAccessKeyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">` + nullMeta + `</DeleteAccessKeyResponse>`,
	"ListAccessKeys":    `<ListAccessKeysResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListAccessKeysResult><AccessKeyMetadata><member><UserName>u</UserName><AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId><Status>Active</Status><CreateDate>2026-11-24T00:00:00Z</CreateDate></member></AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult>` + nullMeta + `</ListAccessKeysResponse>`,
	"CreateUser":        `<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateUserResult><User><Path>/</Path><UserName>u</UserName><UserId>AIDAEXAMPLE0000000000</UserId><Arn>arn:aws:iam::123456789012:user/u</Arn><CreateDate>2026-11-24T00:00:00Z</CreateDate></User></CreateUserResult>` + nullMeta + `</CreateUserResponse>`,
}

func nullHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	q, _ := url.ParseQuery(string(body))
	answer, ok := nullAnswers[q.Get("Action")]
	if !ok {
		http.Error(w, "unknown action", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, answer)
}

// startMoto starts moto_server on a free port; it checks no signatures.
func startMoto(ctx context.Context) (*target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "moto_server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "MOTO_ACCOUNT_ID=123456789012")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("moto_server: %w", err)
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			return nil, fmt.Errorf("moto_server did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &target{name: "moto", endpoint: endpoint, id: "AKIAMOTOMOTOMOTOMOTO", secret: strings.Repeat("m", 40),
		stop: func() { cmd.Process.Kill(); cmd.Wait() }}, nil
}
