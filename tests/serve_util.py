"""Shared by the `scivec serve` tests: an output directory of 300 real papers
(HuggingFace's own embeddings of their abstracts, written by Python in the
format `scivec embed` writes: tests/test_query.py), a server started on an
ephemeral loopback port and stopped at the end, and a small HTTP client.
"""
import ast
import csv
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_query as tq  # noqa: E402

import numpy as np  # noqa: E402


def make_dir(path):
    """Writes the output directory; returns (papers, unit vectors). Authors
    come from data/arxiv-sample.csv into paper_columns, as embed keeps every
    input column."""
    papers = tq.load_papers()
    vectors = tq.normalized(np.stack([p["vector"] for p in papers]))
    shutil.rmtree(path, ignore_errors=True)
    tq.write_dir(path, papers, vectors)
    csv.field_size_limit(1 << 30)
    with open(os.path.join(tq.REPO, "data", "arxiv-sample.csv"), newline="", encoding="utf-8") as f:
        authors = {r["paper_id"]: r["authors"] for r in csv.DictReader(f)}
    db = sqlite3.connect(os.path.join(path, "papers.db"))
    for i, p in enumerate(papers):
        p["authors"] = ast.literal_eval(authors[p["paper_id"]])
        db.execute("INSERT INTO paper_columns VALUES (?,?,?)", (i, "authors", authors[p["paper_id"]]))
    db.commit()
    db.close()
    return papers, vectors


class Server:
    """`scivec serve DIR --port 0 ...`, its port read from its first line."""

    def __init__(self, directory, *args, timeout=60, host="127.0.0.1", env=None):
        self.proc = subprocess.Popen([tq.SCIVEC, "serve", directory, "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)
        self.port = None
        self.headers = {}   # sent with every request (e.g. Authorization)
        deadline = time.time() + timeout
        line = ""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if line or self.proc.poll() is not None:
                break
        if f"listening on http://{host}:" not in line:
            self.proc.kill()
            err = self.proc.stderr.read()
            raise RuntimeError(f"scivec serve did not start: {line!r} {err}")
        self.port = int(line.rsplit(":", 1)[1].strip().rstrip("/"))
        # stderr is read all along (a full pipe would block the server's log).
        self.err_lines = []
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.err_lines.append(line)

    def stderr_text(self):
        return "".join(self.err_lines)

    def request(self, method, path, body=None, headers=None, timeout=60):
        """(status, headers dict, body bytes). path is sent as given."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
        resp = conn.getresponse()
        data = resp.read()
        result = (resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        conn.close()
        return result

    def json(self, method, path, body=None, **kw):
        status, headers, data = self.request(method, path, body, **kw)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data

    def raw_json(self, data, timeout=10):
        """Sends raw bytes; returns (status, JSON body or None, raw reply)."""
        reply = self.raw(data, timeout)
        head, _, body = reply.partition(b"\r\n\r\n")
        try:
            status = int(head.split(b" ", 2)[1])
        except (IndexError, ValueError):
            return None, None, reply
        try:
            return status, json.loads(body), reply
        except ValueError:
            return status, None, reply

    def raw(self, data, timeout=10):
        """Sends raw bytes; returns what comes back (status line first)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        try:
            s.sendall(data)
            chunks = []
            while True:
                try:
                    chunk = s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            s.close()

    def alive(self):
        return self.proc.poll() is None

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def stop(self):
        """SIGTERM, then the exit status (it must exit by itself)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._drain.join(10)
                return None
        self._drain.join(10)
        return self.proc.returncode
