"""What the end-to-end suites share: free loopback ports and waiting for a
process to be ready, never for a port alone (a server may accept
connections before it serves: iamd binds its port before it writes the
root's credentials)."""

import http.client
import socket
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port, what, log, path="/", ready=lambda status: True, timeout=30):
    """Waits until GET http://127.0.0.1:port<path> is answered with a status
    that ready accepts (any, by default: the server answers HTTP); else
    raises with the log."""
    deadline = time.time() + timeout
    last = "no answer"
    while time.time() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", path)
            status = conn.getresponse().status
            if ready(status):
                return
            last = f"status {status}"
        except OSError as e:
            last = str(e)
        finally:
            conn.close()
        time.sleep(0.05)
    with open(log) as f:
        raise RuntimeError(f"{what} was not ready on 127.0.0.1:{port}{path} ({last}): " + f.read())


def wait_iamd(port, log, timeout=30):
    """Waits until iamd serve says it is ready (GET /readyz answers 200):
    it serves only once its root credentials are written."""
    wait_http(port, "iamd", log, "/readyz", lambda status: status == 200, timeout)
