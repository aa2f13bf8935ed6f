"""What the end-to-end suites share: free loopback ports and waiting for a
process to listen."""

import socket
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what, log):
    """Waits up to 30 s for 127.0.0.1:port to accept; else raises with the log."""
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(what + " did not start: " + open(log).read())
