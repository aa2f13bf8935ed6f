package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// certReloader serves a certificate from files, reading them again when
// they change (checked at most once a second) or on SIGHUP, so that a
// renewed certificate is used without a restart. A failed reload keeps
// the certificate in use.
type certReloader struct {
	certFile, keyFile string
	onError           func(error)

	mu      sync.Mutex
	cert    *tls.Certificate
	mtime   time.Time
	checked time.Time
	stop    chan struct{}
}

func newCertReloader(certFile, keyFile string, onError func(error)) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, onError: onError, stop: make(chan struct{})}
	if err := r.load(); err != nil {
		return nil, err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-hup:
				if err := r.load(); err != nil {
					r.onError(err)
				}
			case <-r.stop:
				return
			}
		}
	}()
	return r, nil
}

func (r *certReloader) close() { close(r.stop) }

func (r *certReloader) load() error {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("--tls-cert %s, --tls-key %s: %w", r.certFile, r.keyFile, err)
	}
	fi, err := os.Stat(r.certFile)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.cert, r.mtime = &cert, fi.ModTime()
	r.mu.Unlock()
	return nil
}

// getCertificate is tls.Config.GetCertificate.
func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	check := time.Since(r.checked) > time.Second
	if check {
		r.checked = time.Now()
	}
	mtime := r.mtime
	r.mu.Unlock()
	if check {
		if fi, err := os.Stat(r.certFile); err == nil && !fi.ModTime().Equal(mtime) {
			if err := r.load(); err != nil {
				r.onError(err)
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cert, nil
}

func (r *certReloader) config() *tls.Config {
	return &tls.Config{GetCertificate: r.getCertificate, MinVersion: tls.VersionTLS12}
}
