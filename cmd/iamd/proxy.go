package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"iamd/gateway"
	"iamd/proxy"
	"iamd/server"
)

// ProxyConfig is how iamd proxy is started.
type ProxyConfig struct {
	Addr, AuthAddr            string
	Upstream, APIID, Stage    string
	IAMD, Region              string
	ClientCert, ClientKey, CA string
	AccessKeyID               string
	SecretAccessKey           string `json:"-"`
	LogFormat                 string
}

// ParseProxyConfig reads iamd proxy's flags, each defaulting to its
// IAMD_PROXY_… variable; the key to ask iamd with is AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY.
func ParseProxyConfig(args []string, getenv func(string) string, stderr io.Writer) (ProxyConfig, error) {
	env := envOr(getenv)
	var c ProxyConfig
	fs := flag.NewFlagSet("iamd proxy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.Addr, "addr", env("IAMD_PROXY_ADDR", "127.0.0.1:8700"), "listen address of the front (IAMD_PROXY_ADDR)")
	fs.StringVar(&c.AuthAddr, "auth-addr", env("IAMD_PROXY_AUTH_ADDR", ""), "if set, serve the decision alone here, for nginx auth_request and Caddy forward_auth (IAMD_PROXY_AUTH_ADDR)")
	fs.StringVar(&c.Upstream, "upstream", env("IAMD_PROXY_UPSTREAM", ""), "URL of the API the front forwards allowed requests to (IAMD_PROXY_UPSTREAM)")
	fs.StringVar(&c.APIID, "api-id", env("IAMD_PROXY_API_ID", ""), "the API's ID in execute-api ARNs (IAMD_PROXY_API_ID)")
	fs.StringVar(&c.Stage, "stage", env("IAMD_PROXY_STAGE", ""), "the API's stage in execute-api ARNs (IAMD_PROXY_STAGE)")
	fs.StringVar(&c.IAMD, "iamd", env("IAMD_PROXY_IAMD", ""), "iamd's object-gateway protocol: unix:///path/to/socket, or https://host:port with mutual TLS (IAMD_PROXY_IAMD)")
	fs.StringVar(&c.Region, "region", env("IAMD_PROXY_REGION", "us-east-1"), "the API's region; signatures must be scoped to it (IAMD_PROXY_REGION)")
	fs.StringVar(&c.ClientCert, "iamd-client-cert", env("IAMD_PROXY_IAMD_CLIENT_CERT", ""), "client certificate for an https:// --iamd (IAMD_PROXY_IAMD_CLIENT_CERT)")
	fs.StringVar(&c.ClientKey, "iamd-client-key", env("IAMD_PROXY_IAMD_CLIENT_KEY", ""), "its private key (IAMD_PROXY_IAMD_CLIENT_KEY)")
	fs.StringVar(&c.CA, "iamd-ca", env("IAMD_PROXY_IAMD_CA", ""), "CA bundle iamd's certificate must chain to (IAMD_PROXY_IAMD_CA)")
	fs.StringVar(&c.LogFormat, "log-format", env("IAMD_PROXY_LOG_FORMAT", "text"), "log format: text or json (IAMD_PROXY_LOG_FORMAT)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "usage: iamd proxy --upstream URL --api-id ID --stage NAME --iamd unix:///path [flags]")
			fs.PrintDefaults()
			return c, errHelp
		}
		return c, fmt.Errorf("%v (iamd proxy -h lists the flags)", err)
	}
	c.AccessKeyID, c.SecretAccessKey = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q (iamd proxy -h lists the flags)", fs.Arg(0))
	case c.Upstream == "" || c.APIID == "" || c.Stage == "" || c.IAMD == "":
		return c, errors.New("iamd proxy needs --upstream, --api-id, --stage and --iamd")
	case c.AccessKeyID == "" || c.SecretAccessKey == "":
		return c, errors.New("iamd proxy asks iamd with the key in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: set both")
	case !reRegion.MatchString(c.Region):
		return c, fmt.Errorf("--region %q is not a region name", c.Region)
	}
	if u, err := url.Parse(c.Upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("--upstream must be an http:// or https:// URL, not %q", c.Upstream)
	}
	return c, nil
}

// runProxy serves the front until ctx ends.
func runProxy(ctx context.Context, c ProxyConfig, stderr io.Writer) error {
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(h)
	var tc *tls.Config
	if c.ClientCert != "" {
		cert, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
		if err != nil {
			return fmt.Errorf("--iamd-client-cert: %w", err)
		}
		tc = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if c.CA != "" {
			pem, err := os.ReadFile(c.CA)
			if err != nil {
				return fmt.Errorf("--iamd-ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			tc.RootCAs.AppendCertsFromPEM(pem)
		}
	}
	client, err := gateway.NewClient(c.IAMD, tc, c.AccessKeyID, c.SecretAccessKey)
	if err != nil {
		return fmt.Errorf("--iamd: %w", err)
	}
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	v, err := client.Version(vctx)
	cancel()
	if err != nil {
		return fmt.Errorf("--iamd %s: %w", c.IAMD, err)
	}
	up, _ := url.Parse(c.Upstream)
	p := proxy.New(ctx, proxy.Config{Upstream: up, APIID: c.APIID, Stage: c.Stage, Region: c.Region, IAMD: client, Account: v.AccountID, Logger: log})
	// Both listeners are open before either serves: once the first line
	// is logged, every address answers.
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var aln net.Listener
	if c.AuthAddr != "" {
		if aln, err = net.Listen("tcp", c.AuthAddr); err != nil {
			ln.Close()
			return fmt.Errorf("--auth-addr: %w", err)
		}
	}
	// The front streams bodies of up to 1 GiB both ways: its read and
	// write bounds are the body's, its header and idle bounds everyone's.
	front := server.NewHTTPServer(p, log)
	front.ReadTimeout, front.WriteTimeout, front.MaxHeaderBytes = 10*time.Minute, 0, 64<<10
	servers := []*http.Server{front}
	go front.Serve(server.LimitListener(ln, server.MaxConnections))
	if aln != nil {
		as := server.NewHTTPServer(p.AuthHandler(), log)
		as.MaxHeaderBytes = 64 << 10
		servers = append(servers, as)
		go as.Serve(server.LimitListener(aln, server.MaxConnections))
		log.Info("iamd proxy decisions", "addr", aln.Addr().String())
	}
	log.Info("iamd proxy listening", "addr", ln.Addr().String(), "upstream", up.Redacted(), "api_id", c.APIID, "stage", c.Stage, "account", v.AccountID)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		s.Shutdown(sctx)
	}
	return nil
}
