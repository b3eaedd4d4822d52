"""What the tests that download share: tests/fake_hub.py started on loopback
with a given set of repos (Hub), the environment that points scivec at it
and at a private cache (scivec_env), and a port nothing listens on
(free_port). Not a test itself (CTest runs tests/test_*.py only)."""
import json
import os
import socket
import subprocess
import urllib.request

TESTS = os.environ.get("SV_TESTS", os.path.dirname(os.path.abspath(__file__)))
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Hub:
    """fake_hub.py serving repos, a dict {"ORG/NAME": folder}."""

    def __init__(self, repos):
        args = ["/usr/bin/python3", os.path.join(TESTS, "fake_hub.py"), "--max-seconds", "300"]
        for repo_id, folder in repos.items():
            args += ["--repo", repo_id + "=" + folder]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise SystemExit("fake hub did not start: %r %s" % (line, self.proc.stderr.read()))
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def post(self, path, obj=None):
        req = urllib.request.Request(self.url + path, data=json.dumps(obj or {}).encode(),
                                     method="POST")
        NO_PROXY.open(req, timeout=10).read()

    def control(self, **opts):
        self.post("/_control", opts)

    def reset(self):
        self.post("/_reset")

    def log(self):
        return json.loads(NO_PROXY.open(self.url + "/_log", timeout=10).read())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there afterwards
    return port


def scivec_env(cache, endpoint, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HF_") and not k.lower().endswith("_proxy")
           and k != "HUGGING_FACE_HUB_TOKEN"}
    env["HOME"] = os.path.join(os.path.dirname(cache), "home")  # no real token file
    env["HF_HUB_CACHE"] = cache
    env["HF_ENDPOINT"] = endpoint
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra)
    return env
