// Command orders is the iamdauth example of docs/http-apis.md: an HTTP service that
// serves only requests signed with iamd keys whose policies allow
// execute-api:Invoke on the route. It asks iamd, through its
// --gateway-socket, with its own key from the environment (one allowed
// iamd:DecideRequests), and never holds a caller's secret.
//
//	AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… go run ./examples/orders -account 123456789012
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"

	"iamd/gateway"
	"iamd/iamdauth"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "address to listen on")
	endpoint := flag.String("iamd", "unix:///tmp/iamd-gw.sock", "iamd's gateway protocol: unix:///path to --gateway-socket")
	account := flag.String("account", "", "the account's 12-digit ID, for the routes' ARNs")
	flag.Parse()
	if len(*account) != 12 {
		log.Fatal("-account: the account's 12-digit ID is required")
	}
	ctx := context.Background()
	client, err := gateway.NewClient(*endpoint, nil, os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	auth := iamdauth.New(ctx, iamdauth.Config{IAMD: client, Service: "execute-api", Region: "us-east-1",
		Decide: func(r *http.Request) (string, string) {
			return "execute-api:Invoke", "arn:aws:execute-api:us-east-1:" + *account + ":orders/prod/" + r.Method + r.URL.Path
		}})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		caller, _ := iamdauth.CallerFrom(r.Context())
		fmt.Fprintf(w, "orders of %s\n", caller.ARN)
	})
	log.Fatal(http.ListenAndServe(*addr, auth.Handler(mux)))
}
