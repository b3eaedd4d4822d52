#!/usr/bin/python3
"""Slow clients cannot freeze `scivec serve` (issue 14, item 6).

500 connections that send one header byte every 2 s, opened by this process
on loopback and closed by it at the end:

A. all from one client address (127.0.0.2): at most
   --max-connections-per-client (default 128) are kept, the rest are closed
   at once;
B. spread over 10 addresses (127.0.0.3-12, 50 each): all are kept.

Throughout, /health from 127.0.0.1 answers 200 within 1 s every time; and
after --request-timeout-s (6 s here) every slow connection has been closed
by the server, counted in /metrics. A client that sends a whole request
slowly but within the deadline gets its answer.
"""
import errno
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_util  # noqa: E402
import test_query as tq  # noqa: E402
from test_query import check  # noqa: E402

N_SLOW = 500
DEADLINE_S = 6
HEAD = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: "


def is_closed(s):
    """Whether the server has closed this socket (EOF or reset)."""
    try:
        return s.recv(1, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


class SlowClients:
    def __init__(self, port, addresses):
        self.socks = []
        for i in range(N_SLOW):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((addresses[i % len(addresses)], 0))
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            s.settimeout(None)   # (MSG_DONTWAIT below, not a timeout)
            self.socks.append(s)
        self.sent = 0

    def trickle(self):
        """One more header byte on every open connection."""
        for s in self.socks:
            try:
                s.send(HEAD[self.sent % len(HEAD):][:1], socket.MSG_DONTWAIT)
            except OSError:
                pass
        self.sent += 1

    def n_open(self):
        return sum(not is_closed(s) for s in self.socks)

    def close(self):
        for s in self.socks:
            s.close()


def health_ms(srv):
    t = time.monotonic()
    try:
        status, _, _ = srv.request("GET", "/health", timeout=5)
    except OSError as e:
        return None, repr(e)
    return (time.monotonic() - t) * 1000, status


def run(srv, what, addresses, want_open):
    t0 = time.monotonic()
    slow = SlowClients(srv.port, addresses)
    worst, failures, polls = 0.0, [], 0
    next_byte = t0
    open_early = None
    while time.monotonic() - t0 < DEADLINE_S + 3:
        if time.monotonic() >= next_byte:
            slow.trickle()
            next_byte += 2
        ms, status = health_ms(srv)
        polls += 1
        if ms is None or status != 200 or ms > 1000:
            failures.append((round(time.monotonic() - t0, 1), ms, status))
        elif ms > worst:
            worst = ms
        if open_early is None and time.monotonic() - t0 > 3:
            open_early = slow.n_open()
        time.sleep(0.2)
    open_late = slow.n_open()
    slow.close()
    print(f"{what}: /health polled {polls} times, slowest {worst:.1f} ms; slow connections open "
          f"after 3 s: {open_early}, after {DEADLINE_S + 3} s: {open_late}")
    check(not failures and polls >= 20, f"{what}: /health within 1 s every time: {failures[:5]}")
    check(want_open(open_early), f"{what}: {open_early} slow connections kept after 3 s")
    check(open_late == 0, f"{what}: {open_late} slow connections still open after the deadline")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        serve_util.make_dir(out)
        srv = serve_util.Server(out, "--threads", "1", "--request-timeout-s", str(DEADLINE_S))
        try:
            run(srv, "500 from one address", ["127.0.0.2"], lambda n: n == 128)
            run(srv, "500 from 10 addresses", [f"127.0.0.{i}" for i in range(3, 13)], lambda n: n == N_SLOW)
            # A whole request sent slowly, within the deadline: answered.
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            req = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            for i in range(0, len(req), 10):
                s.sendall(req[i:i + 10])
                time.sleep(0.5)
            reply = s.recv(4096)
            s.close()
            check(reply.startswith(b"HTTP/1.1 200"), f"a slow but timely request: {reply[:60]!r}")
            _, _, metrics = srv.request("GET", "/metrics")
            closed = [float(line.split()[1]) for line in metrics.decode().splitlines()
                      if line.startswith("scivec_http_deadline_closed_total ")]
            check(closed and closed[0] >= 128 + N_SLOW, f"metrics: deadline closures {closed}")
            check(srv.alive(), "the server is up")
        finally:
            rc = srv.stop()
        check(rc == 0, f"exit status {rc}")
        err = srv.stderr_text()
        check(len(err.splitlines()) < 200, f"the log stays small: {len(err.splitlines())} lines")
    print(f"{tq.passed} passed, {tq.failures} failed")
    return 1 if tq.failures else 0


if __name__ == "__main__":
    sys.exit(main())
