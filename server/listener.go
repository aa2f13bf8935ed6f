package server

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Bounds on every listener iamd opens, the main port's and every other
// (metrics, pprof, the gateway protocol, Keystone, iamd proxy's): no port
// may be a way around another's. A client that has not sent its headers
// within 10 s (32 KiB at most), or its whole request within 30 s, is cut
// off, as is a connection idle for 2 minutes; an answer must be taken
// within 30 s. MaxConnections is the default number of connections a
// listener holds open at once.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 2 * time.Minute
	MaxHeaderBytes    = 32 << 10
	MaxConnections    = 1024
)

// NewHTTPServer returns an http.Server for h with the bounds above; its
// errors go to log at WARN.
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	s := &http.Server{Handler: h, ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout, WriteTimeout: WriteTimeout,
		IdleTimeout: IdleTimeout, MaxHeaderBytes: MaxHeaderBytes}
	if log != nil {
		s.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	return s
}

// LimitListener returns a Listener that holds at most n connections open at
// once: past that, Accept waits until one closes, and new connections wait
// in the kernel's backlog. With the header and body timeouts it bounds what
// clients that never authenticate can make the server hold.
func LimitListener(l net.Listener, n int) net.Listener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
