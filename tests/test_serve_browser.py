#!/usr/bin/python3
"""The web page of `scivec serve` in a real browser: headless Chromium
(Debian's `chromium`) driven over the DevTools protocol (a tiny websocket
client below: no extra packages) against a test server.

It types a paper's abstract into the search box and submits the form, checks
the results shown (that paper first, its title, authors, categories, year and
arXiv link), clicks "More like this" on the first result and checks the page
shows what GET /similar answers, marks two results Like and one Dislike, clicks
"Recommend papers" and checks the page shows what POST /recommend answers.
Screenshots are saved in the working directory (the build's tests/ folder
under ctest) as serve_browser_*.png.

Without chromium this test prints SKIP loudly and exits 77, which CTest
reports as failed unless SKIP_RETURN_CODE is set: never a silent pass.
"""
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_util  # noqa: E402
import test_query as tq  # noqa: E402
from test_query import check  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class DevTools:
    """One websocket to a page target; send() waits for the matching reply."""

    def __init__(self, ws_url):
        u = urllib.parse.urlparse(ws_url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("devtools closed the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"devtools handshake: {head[:200]!r}")
        self.buf = head.split(b"\r\n\r\n", 1)[1]
        self.next_id = 0

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("devtools connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _recv_message(self):
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 8:
                raise RuntimeError("devtools sent close")
            if opcode in (0, 1, 2):
                parts.append(payload)
                if b0 & 0x80:
                    return json.loads(b"".join(parts))

    def send(self, method, **params):
        self.next_id += 1
        data = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        n = len(data)
        header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                  bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                                  bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
        while True:
            msg = self._recv_message()
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def js(self, expression):
        r = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"JS {expression[:80]}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, condition, what, timeout=30):
        """Polls a JS condition (bounded)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.js(condition):
                    return True
            except RuntimeError:
                pass   # the page is navigating
            time.sleep(0.1)
        check(False, f"timed out waiting for {what}")
        return False

    def screenshot(self, path):
        data = base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])
        with open(path, "wb") as f:
            f.write(data)
        check(data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, f"screenshot {path}: {len(data)} bytes")
        print(f"screenshot: {path}")


SHOWN = """Array.from(document.querySelectorAll('li.result')).map(li => ({
  id: li.dataset.paperId,
  title: li.querySelector('.title').textContent,
  href: li.querySelector('.title').getAttribute('href'),
  authors: li.querySelector('.authors').textContent,
  categories: Array.from(li.querySelectorAll('.category')).map(c => c.textContent),
  year: li.querySelector('.year').textContent,
  score: li.querySelector('.score').textContent,
  snippet: li.querySelector('.snippet') ? li.querySelector('.snippet').textContent : null,
}))"""


def start_chromium(profile):
    proc = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                             "--no-first-run", "--disable-background-networking",
                             "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                             f"--user-data-dir={profile}", "--remote-debugging-port=0",
                             "--window-size=1200,1400", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stderr.readline()
        m = re.search(r"DevTools listening on (ws://\S+)", line)
        if m:
            return proc, m.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("chromium did not start its DevTools server")


def page_target(browser_ws):
    port = urllib.parse.urlparse(browser_ws).port
    deadline = time.time() + 30
    while time.time() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            pages = [t for t in json.load(r) if t.get("type") == "page"]
        if pages:
            return pages[0]["webSocketDebuggerUrl"]
        time.sleep(0.2)
    raise RuntimeError("chromium shows no page")


def check_shown(shown, want, papers_by_id, label):
    check([s["id"] for s in shown] == [w["paper_id"] for w in want],
          f"{label}: page shows {[s['id'] for s in shown]}, API answers {[w['paper_id'] for w in want]}")
    for s in shown:
        p = papers_by_id.get(s["id"])
        if not p:
            continue
        ok = (s["title"] == p["title"] and s["href"] == f"https://arxiv.org/abs/{p['paper_id']}"
              and s["authors"] == ", ".join(p["authors"]) and s["categories"] == p["categories"].split()
              and s["year"] == str(p["year"]))
        check(ok, f"{label}: {s['id']} shown as {s}")


def check_api_key(dt, out, tmp, by_id):
    """A server with --api-key-file: the page asks for the key once (a
    prompt, answered over DevTools), keeps it for the tab and sends it."""
    key = "browser-test-key-0123456789"
    key_file = os.path.join(tmp, "key")
    with open(key_file, "w") as f:
        f.write(key + "\n")
    srv = serve_util.Server(out, "--threads", "1", "--api-key-file", key_file)
    try:
        base = f"http://127.0.0.1:{srv.port}"
        dt.send("Page.navigate", url=base + "/?" + urllib.parse.urlencode({"q": "quantum field theory"}))
        answered, deadline = False, time.time() + 20
        while not answered and time.time() < deadline:
            try:
                dt.send("Page.handleJavaScriptDialog", accept=True, promptText=key)
                answered = True
            except RuntimeError:   # no dialog open yet
                time.sleep(0.1)
        check(answered, "the page asked for the API key")
        dt.wait_for("document.body && document.body.dataset.state === 'done'", "results with the key")
        shown = dt.js(SHOWN)
        status, want = srv.json("GET", "/search?q=quantum+field+theory",
                                headers={"Authorization": "Bearer " + key})
        check(status == 200 and [s["id"] for s in shown] == [r["paper_id"] for r in want["results"]],
              f"with the key: {len(shown)} shown, API {status}")
        check(dt.js("sessionStorage.getItem('scivec-api-key')") == key, "the key is kept in sessionStorage")
        # Asked once: the next view runs without a prompt (a prompt would
        # block the page and this wait would time out).
        first = shown[0]["id"] if shown else "x"
        dt.send("Page.navigate", url=base + f"/?similar={first}")
        check(dt.wait_for("document.body && document.body.dataset.state === 'done'", "a second view"),
              "a second view without asking again")
        check(len(dt.js(SHOWN)) == 10, "the second view shows its results")
        status, _ = srv.json("GET", f"/similar/{first}")
        check(status == 401, f"the API itself still needs the key: {status}")
    finally:
        check(srv.stop() == 0, "the key server stops")


def main():
    if not CHROMIUM:
        print("SKIP: chromium is not installed (apt-get install chromium); the browser test did NOT run",
              file=sys.stderr)
        print("SKIP: chromium is not installed; the browser test did NOT run")
        return 77
    artifacts = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        papers, vectors = serve_util.make_dir(out)
        by_id = {p["paper_id"]: p for p in papers}
        srv = serve_util.Server(out, "--threads", "1")
        browser = None
        try:
            browser, ws = start_chromium(os.path.join(tmp, "profile"))
            dt = DevTools(page_target(ws))
            dt.send("Page.enable")
            base = f"http://127.0.0.1:{srv.port}"

            # 1. Search through the form: the abstract of paper 17 finds it first.
            dt.send("Page.navigate", url=base + "/")
            dt.wait_for("document.body && document.body.dataset.state === 'done'", "the empty page")
            target = papers[17]
            # (what a person would type: a search box has no line breaks, and
            # whitespace is whitespace to the tokenizer)
            typed = " ".join(target["abstract"].split())
            dt.js(f"document.getElementById('q').value = {json.dumps(typed)};"
                  "document.getElementById('search-form').requestSubmit(); true")
            dt.wait_for("location.search.includes('q=') && document.body.dataset.state === 'done'",
                        "search results")
            shown = dt.js(SHOWN)
            searched = dt.js("new URLSearchParams(location.search).get('q')")
            check(searched == typed, f"the page searched for {searched[:60]!r}")
            status, want = srv.json("GET", "/search?" + urllib.parse.urlencode({"q": searched}))
            check(status == 200, f"/search: {status}")
            check(shown and shown[0]["id"] == target["paper_id"], f"search: first shown {shown[:1]}")
            check(len(shown) == 10, f"search: {len(shown)} results shown")
            check_shown(shown, want["results"], by_id, "search")
            heading = dt.js("document.getElementById('heading').textContent")
            check(typed[:30] in heading, f"search heading: {heading[:80]}")
            check(shown and shown[0]["score"] == "1.0000", f"search: the abstract's own score {shown[:1]}")
            dt.screenshot(os.path.join(artifacts, "serve_browser_search.png"))

            # 2. "More like this" on the first result (a real click).
            first = shown[0]["id"] if shown else target["paper_id"]
            dt.js("document.querySelector('li.result .more-like-this').click(); true")
            dt.wait_for("location.search.includes('similar=') && document.body.dataset.state === 'done'",
                        "similar results")
            shown = dt.js(SHOWN)
            status, want = srv.json("GET", f"/similar/{first}")
            check(status == 200 and len(want["results"]) == 10, f"/similar/{first}: {status}")
            check(first not in [s["id"] for s in shown], "more like this: the paper itself is not listed")
            check_shown(shown, want["results"], by_id, "more like this")
            dt.screenshot(os.path.join(artifacts, "serve_browser_similar.png"))

            # 3. Like results 1 and 2, Dislike result 3, then "Recommend papers".
            liked = [shown[0]["id"], shown[1]["id"]]
            disliked = [shown[2]["id"]]
            dt.js("const b = document.querySelectorAll('li.result');"
                  "b[0].querySelector('.pick-positive').click(); b[1].querySelector('.pick-positive').click();"
                  "b[2].querySelector('.pick-negative').click(); true")
            picks = dt.js("Array.from(document.querySelectorAll('#pick-list li')).map(li => "
                          "[li.dataset.kind, li.textContent])")
            check(len(picks) == 3 and [k for k, _ in picks] == ["positive", "positive", "negative"],
                  f"picks shown: {picks}")
            check(dt.js("!document.getElementById('picks').hidden"), "the picks panel is visible")
            dt.js("document.getElementById('recommend-button').click(); true")
            dt.wait_for("location.search.includes('recommend=1') && document.body.dataset.state === 'done'",
                        "recommendations")
            shown = dt.js(SHOWN)
            status, want = srv.json("POST", "/recommend", {"positive": liked, "negative": disliked})
            check(status == 200 and len(want["results"]) == 10, f"/recommend: {status}")
            check(not ({s["id"] for s in shown} & set(liked + disliked)), "recommend: the picks are not listed")
            check_shown(shown, want["results"], by_id, "recommend")
            dt.screenshot(os.path.join(artifacts, "serve_browser_recommend.png"))

            # 4. The number of results chosen on the page: k = 5, then 20;
            # each result shows the start of its abstract (the API's snippet,
            # which is the abstract's first words).
            dt.send("Page.navigate", url=base + "/?" + urllib.parse.urlencode({"q": "graph neural networks"}))
            dt.wait_for("document.body && document.body.dataset.state === 'done'", "search for k")
            for k in ("5", "20"):
                dt.js(f"const s = document.getElementById('k'); s.value = '{k}';"
                      "s.dispatchEvent(new Event('change')); true")
                dt.wait_for(f"new URLSearchParams(location.search).get('k') === '{k}' && "
                            "document.body.dataset.state === 'done'", f"k={k}")
                shown = dt.js(SHOWN)
                status, want = srv.json("GET", "/search?" + urllib.parse.urlencode(
                    {"q": "graph neural networks", "k": k}))
                check(status == 200 and len(shown) == int(k) == len(want["results"]),
                      f"k={k}: {len(shown)} shown, {len(want['results'])} from the API")
                check([s["id"] for s in shown] == [r["paper_id"] for r in want["results"]], f"k={k}: ids")
                for s_, r in zip(shown, want["results"]):
                    words = " ".join(by_id[r["paper_id"]]["abstract"].split())
                    snip = (s_["snippet"] or "").removesuffix("...")
                    check(s_["snippet"] == r["snippet"] and len(snip) > 40 and words.startswith(snip),
                          f"k={k}: snippet of {r['paper_id']}: {s_['snippet']!r}")
                check(dt.js("document.getElementById('k').value") == k, f"k={k}: the chooser shows it")

            # 5. An error is shown, not swallowed.
            dt.send("Page.navigate", url=base + "/?similar=no-such-paper")
            dt.wait_for("document.body && document.body.dataset.state === 'error'", "the error state")
            message = dt.js("document.getElementById('status').textContent")
            check("unknown paper id 'no-such-paper'" in (message or ""), f"error shown: {message}")

            check_api_key(dt, out, tmp, by_id)
        finally:
            if browser:
                browser.terminate()
                try:
                    browser.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    browser.kill()
            rc = srv.stop()
        check(rc == 0, f"server exit status {rc}")
    print(f"{tq.passed} passed, {tq.failures} failed")
    return 1 if tq.failures else 0


if __name__ == "__main__":
    sys.exit(main())
