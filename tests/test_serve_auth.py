#!/usr/bin/python3
"""`scivec serve` and who may call it (issue 14, item 9):

- --host takes host names (localhost) as well as literal addresses; an
  unknown name is refused with a one-line reason;
- binding beyond loopback without a key prints a warning on stderr (none on
  loopback, none with a key);
- with --api-key-file every route but /health and the page's own files
  needs `Authorization: Bearer KEY`: without it, with another scheme or a
  wrong key (also one differing only in its last byte, or a prefix of it):
  401 JSON with WWW-Authenticate; with it: the answer;
- a key file that is empty or holds spaces is refused at start.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_util  # noqa: E402
import test_query as tq  # noqa: E402
from test_query import check  # noqa: E402

KEY = "s3cret-key-0123456789abcdef"


def check_hosts(out):
    srv = serve_util.Server(out, "--threads", "1", "--host", "localhost", host="localhost")
    try:
        status, health = srv.json("GET", "/health")
        check(status == 200 and health["papers"] == 300, f"--host localhost: {status}")
    finally:
        check(srv.stop() == 0, "--host localhost stops")
    check("warning" not in srv.stderr_text(), f"no warning on loopback: {srv.stderr_text()}")

    srv = serve_util.Server(out, "--threads", "1", "--host", "0.0.0.0", host="0.0.0.0")
    try:
        time.sleep(0.3)
        check("warning: --host 0.0.0.0 reaches beyond this machine and there is no --api-key-file"
              in srv.stderr_text(), f"warning without a key: {srv.stderr_text()!r}")
        status, _ = srv.json("GET", "/similar/" + "0704.0001")
        check(status == 200, f"no key, no authentication: {status}")
    finally:
        srv.stop()

    p = subprocess.run([tq.SCIVEC, "serve", out, "--port", "0", "--host", "no-such-host.invalid"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 2 and "--host 'no-such-host.invalid':" in p.stderr
          and len(p.stderr.strip().splitlines()) == 1, f"unknown host: {p.returncode} {p.stderr!r}")


def check_key(out, tmp):
    key_file = os.path.join(tmp, "key")
    with open(key_file, "w") as f:
        f.write(KEY + "\n")
    srv = serve_util.Server(out, "--threads", "1", "--host", "0.0.0.0", "--api-key-file", key_file,
                            host="0.0.0.0")
    try:
        time.sleep(0.3)
        check("warning" not in srv.stderr_text(), f"no warning with a key: {srv.stderr_text()!r}")
        status, _ = srv.json("GET", "/health")
        check(status == 200, f"/health needs no key: {status}")
        status, _, page = srv.request("GET", "/")
        check(status == 200 and b"app.js" in page, f"the page needs no key: {status}")
        wrong = [None, "Basic " + KEY, "Bearer", "Bearer " + KEY[:-1], "Bearer " + KEY[:-1] + "X",
                 "Bearer " + KEY + "X", "Bearer " + KEY.upper()]
        for path, method, body in (("/similar/0704.0001?k=2", "GET", None), ("/search?q=x", "GET", None),
                                   ("/papers/0704.0001", "GET", None), ("/metrics", "GET", None),
                                   ("/embed", "POST", {"inputs": "x"}), ("/nope", "GET", None)):
            for auth in wrong:
                headers = {"Authorization": auth} if auth else {}
                status, h, data = srv.request(method, path, body, headers=headers)
                check(status == 401 and b'"code":401' in data and h.get("www-authenticate") == "Bearer",
                      f"{method} {path} with {auth!r}: {status} {data[:120]!r}")
            status, _, data = srv.request(method, path, body, headers={"Authorization": "Bearer " + KEY})
            want = 404 if path == "/nope" else 200
            check(status == want, f"{method} {path} with the key: {status} {data[:120]!r}")
        status, _, _ = srv.request("GET", "/health", headers={"Authorization": "bearer " + KEY})
        check(status == 200, "the scheme name is case-insensitive")
    finally:
        check(srv.stop() == 0, "stops")
    check("refused 401 GET /search?q=x" in srv.stderr_text(), "401s are logged")

    for content, why in (("", "16 to 1000 characters"), ("short\n", "16 to 1000 characters"),
                         ("a key with spaces in it\n", "character 2 of the key")):
        with open(key_file, "w") as f:
            f.write(content)
        p = subprocess.run([tq.SCIVEC, "serve", out, "--port", "0", "--api-key-file", key_file],
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 2 and why in p.stderr, f"key file {content!r}: {p.returncode} {p.stderr!r}")
    p = subprocess.run([tq.SCIVEC, "serve", out, "--port", "0", "--api-key-file", key_file + ".missing"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 2 and "cannot open it" in p.stderr, f"missing key file: {p.stderr!r}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        serve_util.make_dir(out)
        check_hosts(out)
        check_key(out, tmp)
    print(f"{tq.passed} passed, {tq.failures} failed")
    return 1 if tq.failures else 0


if __name__ == "__main__":
    sys.exit(main())
