"""fake_hub.py - a small stand-in for huggingface.co on loopback, for the
download tests: the hub's URL layout, headers and redirects, plus faults the
tests switch on.

    /usr/bin/python3 fake_hub.py --repo test-org/tiny-scibert=DIR [--repo ...]
                                 [--max-seconds 600]

Prints "PORT <n>" on stdout once listening on 127.0.0.1 (ephemeral port),
and exits after --max-seconds whatever happens (so a crashed test never
leaves it behind).

What it serves, as the real hub does:
  GET  /api/models/{repo}/revision/{rev}   {"id", "sha", "siblings": [{"rfilename"}]}
       unknown repo: 404 + X-Error-Code: RepoNotFound (401 like the real hub
       when "hide_missing" is on); unknown revision: 404 + RevisionNotFound
  HEAD|GET /{repo}/resolve/{rev}/{file}
       small files: 200, ETag "<git blob sha1>", X-Repo-Commit, Content-Length
       LFS files (*.safetensors, *.bin, ...): 302 to http://localhost:<port>/cdn/<sha256>
       (absolute URL on another origin, like the real CDN, so clients drop the
       token), X-Linked-Etag "<sha256>", X-Linked-Size, X-Repo-Commit
  GET  /cdn/<sha256>   the bytes, with Range (206 + Content-Range)
Revisions: "main", "v1.0" and the commit itself.

Test controls (not part of the hub protocol):
  POST /_control  JSON, any of:
       {"token": "hf_x" | null}     require "Authorization: Bearer hf_x"
       {"cut_after": N, "cut_times": K}  the next K CDN answers send N bytes
                                    of the body, then drop the connection
       {"corrupt": true|false}      CDN answers flip every byte's low bit
       {"hide_missing": true}       unknown repos answer 401 as huggingface.co
       {"extra_siblings": [names]}  listed in every revision (hostile names)
       {"api_body": "text"}         the revision API answers this (200)
       {"etag": "text"}             every resolve answer carries this ETag
       {"salt": "text"}             every revision moves to another commit
                                    (same files: a new snapshot, the same blobs)
       {"slow": seconds}            CDN answers pause this long per 256 kB
  GET  /_log      JSON list of {"method", "path", "range", "auth"} seen
  POST /_reset    clears the log and all faults
"""
import argparse
import hashlib
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LFS_SUFFIXES = (".safetensors", ".bin", ".h5", ".msgpack", ".onnx", ".pt", ".ckpt")


class Repo:
    def __init__(self, repo_id, folder):
        self.repo_id = repo_id
        self.files = {}  # rfilename -> bytes
        for root, _, names in os.walk(folder):
            for name in sorted(names):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, folder).replace(os.sep, "/")
                with open(path, "rb") as f:
                    self.files[rel] = f.read()
        digest = hashlib.sha1(repo_id.encode())
        for rel in sorted(self.files):
            digest.update(rel.encode() + b"\0" + hashlib.sha256(self.files[rel]).digest())
        self.commit = digest.hexdigest()

    def revision(self, rev, salt=""):
        commit = hashlib.sha1((self.commit + salt).encode()).hexdigest() if salt else self.commit
        return commit if rev in ("main", "v1.0", commit) else None

    @staticmethod
    def is_lfs(name):
        return name.endswith(LFS_SUFFIXES)

    @staticmethod
    def git_blob_sha1(data):
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class State:
    def __init__(self, repos):
        self.repos = repos
        self.by_sha256 = {}
        for repo in repos.values():
            for data in repo.files.values():
                self.by_sha256[hashlib.sha256(data).hexdigest()] = data
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.log = []
            self.token = None
            self.cut_after = 0
            self.cut_times = 0
            self.corrupt = False
            self.hide_missing = False
            self.extra_siblings = []
            self.api_body = None
            self.etag = None
            self.salt = ""
            self.slow = 0


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-hub/1"

    def log_message(self, fmt, *args):  # quiet: the tests read /_log
        pass

    @property
    def state(self):
        return self.server.state

    def record(self):
        with self.state.lock:
            self.state.log.append({"method": self.command, "path": self.path,
                                   "range": self.headers.get("Range"),
                                   "auth": self.headers.get("Authorization")})

    def reply(self, code, body=b"", headers=None, head_only=False):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head_only:
            self.wfile.write(body)

    def error(self, code, error_code, message, head_only=False):
        body = json.dumps({"error": message}).encode()
        self.reply(code, body, {"Content-Type": "application/json",
                                "X-Error-Code": error_code, "X-Error-Message": message},
                   head_only)

    def authorized(self, head_only):
        want = self.state.token
        if want is None:
            return True
        got = self.headers.get("Authorization")
        if got == "Bearer " + want:
            return True
        if got is None:
            self.error(401, "", "Access to this model requires a token", head_only)
        else:
            self.error(401, "", "Invalid credentials in Authorization header", head_only)
        return False

    def find_repo(self, org_name, head_only):
        repo = self.state.repos.get(org_name)
        if repo is None:
            code = 401 if self.state.hide_missing else 404
            self.error(code, "RepoNotFound", "Repository not found", head_only)
        return repo

    # --- routes -----------------------------------------------------------

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/_reset":
            self.state.reset()
            return self.reply(200, b"{}")
        if self.path == "/_control":
            opts = json.loads(body or b"{}")
            with self.state.lock:
                for key in ("token", "cut_after", "cut_times", "corrupt", "hide_missing",
                            "extra_siblings", "api_body", "etag", "salt", "slow"):
                    if key in opts:
                        setattr(self.state, key, opts[key])
            return self.reply(200, b"{}")
        self.reply(404)

    def do_HEAD(self):
        self.route(head_only=True)

    def do_GET(self):
        if self.path == "/_log":
            with self.state.lock:
                body = json.dumps(self.state.log).encode()
            return self.reply(200, body, {"Content-Type": "application/json"})
        self.route(head_only=False)

    def route(self, head_only):
        self.record()
        path = self.path.split("?", 1)[0]
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) == 6 and parts[4] == "revision":
            return self.api_revision(parts[2] + "/" + parts[3], parts[5], head_only)
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve(parts[0] + "/" + parts[1], parts[3], "/".join(parts[4:]), head_only)
        if len(parts) == 2 and parts[0] == "cdn":
            return self.cdn(parts[1], head_only)
        self.error(404, "", "no such route", head_only)

    def api_revision(self, org_name, rev, head_only):
        if not self.authorized(head_only):
            return
        repo = self.find_repo(org_name, head_only)
        if repo is None:
            return
        commit = repo.revision(rev, self.state.salt)
        if commit is None:
            return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev, head_only)
        if self.state.api_body is not None:
            return self.reply(200, self.state.api_body.encode(), {"Content-Type": "application/json"},
                              head_only)
        names = sorted(repo.files) + list(self.state.extra_siblings)
        info = {"_id": "fake", "id": repo.repo_id, "modelId": repo.repo_id, "sha": commit,
                "siblings": [{"rfilename": name} for name in names]}
        self.reply(200, json.dumps(info).encode(), {"Content-Type": "application/json"}, head_only)

    def resolve(self, org_name, rev, name, head_only):
        if not self.authorized(head_only):
            return
        repo = self.find_repo(org_name, head_only)
        if repo is None:
            return
        commit = repo.revision(rev, self.state.salt)
        if commit is None:
            return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev, head_only)
        data = repo.files.get(name)
        if data is None:
            return self.error(404, "EntryNotFound", "Entry not found", head_only)
        if self.state.etag is not None:
            return self.reply(200, data, {"ETag": self.state.etag, "X-Repo-Commit": commit}, head_only)
        if repo.is_lfs(name):
            sha = hashlib.sha256(data).hexdigest()
            # another host name for the same server: a CDN is another origin
            cdn = "%s:%d" % (self.server.cdn_host, self.server.server_port)
            return self.reply(302, b"", {
                "Location": "http://%s/cdn/%s?response-content-disposition=%s" % (cdn, sha, name),
                "X-Repo-Commit": commit, "X-Linked-Etag": '"%s"' % sha,
                "X-Linked-Size": str(len(data)), "ETag": '"%s"' % repo.git_blob_sha1(b"pointer " + sha.encode()),
                "Content-Length": "0"}, head_only)
        self.reply(200, data, {"ETag": '"%s"' % repo.git_blob_sha1(data), "X-Repo-Commit": commit,
                               "Content-Type": "application/octet-stream"}, head_only)

    def cdn(self, sha, head_only):
        data = self.state.by_sha256.get(sha)
        if data is None:
            return self.reply(404, b"NoSuchKey")
        with self.state.lock:
            corrupt = self.state.corrupt
            cut = self.state.cut_after if self.state.cut_times > 0 and not head_only else 0
            if cut:
                self.state.cut_times -= 1
        if corrupt:
            data = bytes(b ^ 1 for b in data)
        start, code, headers = 0, 200, {"ETag": '"%s"' % sha, "Accept-Ranges": "bytes"}
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                return self.reply(416, b"", {"Content-Range": "bytes */%d" % len(data)})
            code = 206
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
        body = data[start:]
        headers["Content-Length"] = str(len(body))
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if head_only:
            return
        if cut and cut < len(body):
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)  # the transfer ends short of Content-Length
            return
        if self.state.slow:
            for i in range(0, len(body), 1 << 18):
                self.wfile.write(body[i:i + (1 << 18)])
                self.wfile.flush()
                time.sleep(self.state.slow)
            return
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a client that hangs up mid-body (a test aborting on purpose) is no error
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", action="append", default=[], help="ORG/NAME=FOLDER")
    ap.add_argument("--max-seconds", type=float, default=600)
    ap.add_argument("--cdn-host", default="localhost",
                    help="host name in CDN redirects (another origin than 127.0.0.1)")
    args = ap.parse_args()
    repos = {}
    for spec in args.repo:
        repo_id, folder = spec.split("=", 1)
        repos[repo_id] = Repo(repo_id, folder)
    server = Server(("127.0.0.1", 0), Handler)
    server.state = State(repos)
    server.cdn_host = args.cdn_host
    timer = threading.Timer(args.max_seconds, server.shutdown)
    timer.daemon = True
    timer.start()
    print("PORT %d" % server.server_port, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
