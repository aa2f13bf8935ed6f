// Command iamd-s3load measures an S3 endpoint with several keys in turn:
// small-object GET and PUT rates, and large-object MiB/s, each as the
// median of rounds that alternate between the keys, with ratios to the
// first key. It is how docs/PERFORMANCE.md compares requests versitygw
// asks iamd about with requests signed by versitygw's own root.
//
//	iamd-s3load -endpoint http://127.0.0.1:7070 -bucket b \
//	    -key root=ID:SECRET -key bucket-key=ID:SECRET -op get,put
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

type key struct{ label, endpoint, bucket, id, secret string }

type keys []key

func (k *keys) String() string { return fmt.Sprint(*k) }

// Set parses label=ID:SECRET, or label=ID:SECRET@endpoint/bucket for a key
// of another endpoint.
func (k *keys) Set(v string) error {
	label, rest, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want label=ID:SECRET[@http://host:port/bucket]")
	}
	cred, at, _ := strings.Cut(rest, "@")
	id, secret, ok := strings.Cut(cred, ":")
	if !ok {
		return errors.New("want label=ID:SECRET[@http://host:port/bucket]")
	}
	nk := key{label: label, id: id, secret: secret}
	if at != "" {
		i := strings.LastIndexByte(at, '/')
		nk.endpoint, nk.bucket = at[:i], at[i+1:]
	}
	*k = append(*k, nk)
	return nil
}

func main() {
	var ks keys
	endpoint := flag.String("endpoint", "http://127.0.0.1:7070", "S3 endpoint of keys that name none")
	bucket := flag.String("bucket", "", "bucket of keys that name none")
	flag.Var(&ks, "key", "label=ID:SECRET[@endpoint/bucket], repeatable; ratios are to the first")
	ops := flag.String("op", "get,put", "comma-separated: get, put (small objects), get-large, put-large")
	size := flag.Int("size", 4096, "small object size in bytes")
	large := flag.Int("large", 64<<20, "large object size in bytes")
	conc := flag.Int("c", 8, "concurrent clients, one connection each")
	dur := flag.Duration("d", 5*time.Second, "measured time per round")
	rounds := flag.Int("rounds", 3, "rounds per key, alternating keys; the median is reported")
	var cpus procs
	flag.Var(&cpus, "cpu", "name=PID: report that process's CPU time per request (repeatable)")
	flag.Parse()
	if len(ks) == 0 {
		fmt.Fprintln(os.Stderr, "iamd-s3load: give at least one -key")
		os.Exit(2)
	}
	for i := range ks {
		if ks[i].endpoint == "" {
			ks[i].endpoint, ks[i].bucket = *endpoint, *bucket
		}
	}
	for _, op := range strings.Split(*ops, ",") {
		if err := measure(op, ks, *size, *large, *conc, *dur, *rounds, cpus); err != nil {
			fmt.Fprintln(os.Stderr, "iamd-s3load:", err)
			os.Exit(1)
		}
	}
}

func client(k key) *s3.Client {
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(k.endpoint), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider(k.id, k.secret, ""),
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		HTTPClient:                 &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}},
	})
}

type result struct {
	ops, bytes, failed int64
	d                  time.Duration
	cpu                []time.Duration // per process of -cpu
}

// procs are the processes whose CPU time is reported.
type procs []struct {
	name string
	pid  int
}

func (p *procs) String() string { return fmt.Sprint(*p) }

func (p *procs) Set(v string) error {
	name, pid, _ := strings.Cut(v, "=")
	n, err := strconv.Atoi(pid)
	if err != nil {
		return errors.New("want name=PID")
	}
	*p = append(*p, struct {
		name string
		pid  int
	}{name, n})
	return nil
}

func measure(op string, ks keys, size, large, conc int, d time.Duration, rounds int, cpus procs) error {
	n := size
	if strings.HasSuffix(op, "-large") {
		n, conc = large, 1
	}
	body := bytes.Repeat([]byte("x"), n)
	ctx := context.Background()
	for _, k := range ks { // the object GET reads, put by each key itself
		if _, err := client(k).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(k.bucket), Key: aws.String("load/" + op), Body: bytes.NewReader(body)}); err != nil {
			return fmt.Errorf("%s: setting up %s: %w", k.label, op, err)
		}
	}
	all := make(map[string][]result)
	for r := 0; r < rounds; r++ {
		for _, k := range ks {
			all[k.label] = append(all[k.label], run(op, k, body, conc, d, cpus))
		}
	}
	fmt.Printf("%s (%d bytes, %d clients, median of %d × %v):\n", op, n, conc, rounds, d)
	var base float64
	for i, k := range ks {
		rs := all[k.label]
		sort.Slice(rs, func(a, b int) bool { return rs[a].ops < rs[b].ops })
		m := rs[len(rs)/2]
		rate := float64(m.ops) / m.d.Seconds()
		if i == 0 {
			base = rate
		}
		line := fmt.Sprintf("  %-22s %9.1f ops/s", k.label, rate)
		if n >= 1<<20 {
			line += fmt.Sprintf("  %8.1f MiB/s", float64(m.bytes)/m.d.Seconds()/(1<<20))
		}
		line += fmt.Sprintf("  %5.2f× %s", rate/base, ks[0].label)
		if m.failed > 0 {
			line += fmt.Sprintf("  (%d failed)", m.failed)
		}
		for i, p := range cpus {
			if m.ops > 0 {
				line += fmt.Sprintf("  %s CPU %v/req", p.name, (m.cpu[i] / time.Duration(m.ops)).Round(time.Microsecond))
			}
		}
		fmt.Println(line)
	}
	return nil
}

func run(op string, k key, body []byte, conc int, d time.Duration, cpus procs) result {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var ops, n, failed atomic.Int64
	var wg sync.WaitGroup
	cpu0 := make([]time.Duration, len(cpus))
	for i, p := range cpus {
		cpu0[i] = cpuTime(p.pid)
	}
	start := time.Now()
	for range conc {
		c := client(k)
		wg.Go(func() {
			for ctx.Err() == nil {
				var err error
				var got int64
				if strings.HasPrefix(op, "get") {
					var out *s3.GetObjectOutput
					if out, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(k.bucket), Key: aws.String("load/" + op)}); err == nil {
						got, err = io.Copy(io.Discard, out.Body)
						out.Body.Close()
					}
				} else {
					_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(k.bucket), Key: aws.String("load/" + op), Body: bytes.NewReader(body)})
					got = int64(len(body))
				}
				switch {
				case ctx.Err() != nil:
				case err != nil:
					failed.Add(1)
				default:
					ops.Add(1)
					n.Add(got)
				}
			}
		})
	}
	wg.Wait()
	res := result{ops: ops.Load(), bytes: n.Load(), failed: failed.Load(), d: time.Since(start)}
	for i, p := range cpus {
		res.cpu = append(res.cpu, cpuTime(p.pid)-cpu0[i])
	}
	return res
}

// cpuTime is the user and system CPU time of process pid, from /proc.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * time.Second / 100 // clock ticks (USER_HZ = 100)
}
