#!/usr/bin/python3
"""`scivec serve` over HTTP against independent references:

- /similar and /search answers equal faiss.read_index(...).search and numpy
  brute force (ids, scores to 1e-5; the search text is a paper's abstract,
  whose HuggingFace embedding must come back first at cosine 1 +- 1e-4);
- /v1/embeddings and /embed vectors equal HuggingFace's golden embeddings
  (tests/fixtures/golden, tiny-scibert mean pooling) to 1e-4, base64 equal
  to floats, usage = HF token counts;
- /recommend equals numpy: unit(mean(unit pos) - mean(unit neg)), top k
  without the inputs;
- malformed requests get the documented 4xx status and message, the server
  stays up, /metrics counts them, SIGTERM stops it with exit status 0.
"""
import base64
import json
import os
import sys
import tempfile
import threading
import time

import faiss
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_util  # noqa: E402
import test_query as tq  # noqa: E402
from test_query import check  # noqa: E402

GOLDEN = os.path.join(tq.FIXTURES, "golden")


def golden_texts():
    """(text, HF mean embedding, HF token count) for texts a JSON API can
    carry: non-empty, no NUL, within 512 tokens; not those where scivec
    follows HF's fast tokenizer rather than the slow one that made the golden
    data (docs/TOKENIZER.md)."""
    mean = np.load(os.path.join(GOLDEN, "tiny-scibert", "embeddings_mean.npy"))
    with open(os.path.join(GOLDEN, "tokenizer_crosscheck_fast_rust.json"), encoding="utf-8") as f:
        fast_differs = set(json.load(f)["summary"]["texts"]["ids"])
    out = []
    with open(os.path.join(GOLDEN, "tokens.jsonl"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            rec = json.loads(line)
            if rec["text"] and "\0" not in rec["text"] and len(rec["input_ids"]) <= 512 \
                    and rec["n_tokens_untruncated"] <= 512 and rec["id"] not in fast_differs:
                out.append((rec["text"], mean[i], len(rec["input_ids"])))
    return out


def check_similar(srv, papers, vectors, out):
    index = faiss.read_index(os.path.join(out, "papers.index"))
    for row in (0, 7, 150, 299):
        pid = papers[row]["paper_id"]
        status, got = srv.json("GET", f"/similar/{pid}?k=5")
        check(status == 200, f"similar {pid}: {status} {got}")
        if status != 200:
            continue
        scores, ids = index.search(vectors[row:row + 1], 6)
        want = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != row][:5]
        res = got["results"]
        check([r["paper_id"] for r in res] == [papers[i]["paper_id"] for i, _ in want],
              f"similar {pid}: ids {[r['paper_id'] for r in res]} != faiss")
        check(all(abs(r["score"] - s) <= 1e-5 for r, (_, s) in zip(res, want)), f"similar {pid}: scores")
        check([r["rank"] for r in res] == [1, 2, 3, 4, 5], f"similar {pid}: ranks")
        check(got["paper"]["paper_id"] == pid and got["paper"]["title"] == papers[row]["title"],
              f"similar {pid}: the query paper")
        for r in res:
            p = papers[[q["paper_id"] for q in papers].index(r["paper_id"])]
            check(r["title"] == p["title"] and r["categories"] == p["categories"].split()
                  and r["year"] == p["year"] and r["authors"] == p["authors"],
                  f"similar {pid}: fields of {r['paper_id']}: {r}")
            check(r["url"] == f"https://arxiv.org/abs/{r['paper_id']}", f"url of {r['paper_id']}")
            words = " ".join(p["abstract"].split())
            snip = r["snippet"].removesuffix("...")
            check(words.startswith(snip) and (snip == words or (r["snippet"].endswith("...")
                                                              and 150 <= len(snip.encode()) <= 300)),
                  f"snippet of {r['paper_id']}: {r['snippet']!r}")
    # Filters: the exact top k among the papers that pass.
    cases = [("category=quant-ph", lambda p: "quant-ph" in p["categories"].split()),
             ("category=cs", lambda p: any(c.startswith("cs.") for c in p["categories"].split())),
             ("year=2026", lambda p: p["year"] == 2026),
             ("category=hep-ph&category=quant-ph&year=2007-2025",
              lambda p: bool({"hep-ph", "quant-ph"} & set(p["categories"].split()))
              and p["year"] is not None and 2007 <= p["year"] <= 2025),
             ("category=hep-ph,quant-ph", lambda p: bool({"hep-ph", "quant-ph"} & set(p["categories"].split())))]
    for query, allowed in cases:
        status, got = srv.json("GET", f"/similar/{papers[3]['paper_id']}?k=6&{query}")
        check(status == 200, f"similar ?{query}: {status} {got}")
        if status == 200:
            tq.check_top_k(got["results"], papers, vectors, vectors[3], 6,
                           lambda i: allowed(papers[i]), 3, f"similar ?{query}")


def check_paper(srv, papers):
    p = papers[10]
    status, got = srv.json("GET", f"/papers/{p['paper_id']}")
    check(status == 200 and got["title"] == p["title"] and got["abstract"] == p["abstract"]
          and got["authors"] == p["authors"] and got["year"] == p["year"]
          and got["columns"]["paper_id"] == p["paper_id"], f"/papers: {status} {got}")


def check_search(srv, papers, vectors):
    for row in (0, 42, 299):
        q = papers[row]["abstract"]
        status, got = srv.json("GET", "/search?" + "&".join(
            ["q=" + "".join(f"%{b:02X}" for b in q.encode()), "k=5"]))
        check(status == 200, f"search abstract {row}: {status} {str(got)[:300]}")
        if status != 200:
            continue
        res = got["results"]
        check(res and res[0]["paper_id"] == papers[row]["paper_id"] and abs(res[0]["score"] - 1) <= 1e-4,
              f"search abstract {row}: first {res[0] if res else None}")
        check(got["query"] == q, f"search {row}: query echoed")
        tq.check_top_k(res, papers, vectors, vectors[row], 5, lambda i: True, -1,
                       f"search abstract {row}", tol=1e-4)
    # '+' is a space in a query string; a filter applies.
    status, got = srv.json("GET", "/search?q=quantum+entanglement&k=4&category=quant-ph")
    check(status == 200 and got["query"] == "quantum entanglement" and len(got["results"]) == 4
          and all("quant-ph" in r["categories"] for r in got["results"]), f"search +: {status} {got}")


def check_embeddings(srv):
    texts = golden_texts()
    check(len(texts) > 100, f"{len(texts)} golden texts")
    sample = texts[:30]
    status, got = srv.json("POST", "/v1/embeddings",
                           {"input": [t for t, _, _ in sample], "model": "whatever"})
    check(status == 200 and got["object"] == "list" and len(got["data"]) == len(sample),
          f"/v1/embeddings: {status} {str(got)[:300]}")
    if status == 200:
        worst = 0.0
        for i, (d, (_, want, _)) in enumerate(zip(got["data"], sample)):
            check(d["object"] == "embedding" and d["index"] == i, f"/v1/embeddings data[{i}]")
            v = np.array(d["embedding"], dtype=np.float64)
            worst = max(worst, float(np.abs(v - want / np.linalg.norm(want)).max()))
        check(worst <= 1e-4, f"/v1/embeddings vs HF (normalised): max diff {worst}")
        want_tokens = sum(n for _, _, n in sample)
        check(got["usage"] == {"prompt_tokens": want_tokens, "total_tokens": want_tokens},
              f"usage {got['usage']} != HF tokens {want_tokens}")
        check(got["model"] == tq.TINY, f"model {got['model']}")
        floats = [d["embedding"] for d in got["data"]]
        status, got64 = srv.json("POST", "/v1/embeddings", {"input": [t for t, _, _ in sample],
                                                             "encoding_format": "base64"})
        check(status == 200, f"base64: {status}")
        if status == 200:
            dec = [np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in got64["data"]]
            check(all(np.array_equal(a, np.array(b, dtype=np.float32)) for a, b in zip(dec, floats)),
                  "base64 embeddings equal the float ones")
    # A single string; TEI /embed raw (normalize false) equals HF's raw mean vectors.
    status, got = srv.json("POST", "/v1/embeddings", {"input": sample[0][0]})
    check(status == 200 and len(got["data"]) == 1, f"/v1/embeddings string input: {status}")
    status, got = srv.json("POST", "/embed", {"inputs": [t for t, _, _ in texts[30:60]], "normalize": False})
    check(status == 200 and isinstance(got, list) and len(got) == 30, f"/embed: {status} {str(got)[:200]}")
    if status == 200:
        diff = max(float(np.abs(np.array(v) - w).max()) for v, (_, w, _) in zip(got, texts[30:60]))
        check(diff <= 1e-4, f"/embed vs HF raw mean: max diff {diff}")
    status, got = srv.json("POST", "/embed", {"inputs": texts[3][0]})
    check(status == 200 and len(got) == 1 and abs(np.linalg.norm(got[0]) - 1) < 1e-5,
          f"/embed normalize default true: {status}")

    # Many clients at once: every answer is its text's vector (batching
    # never changes a vector), and the batcher ran some requests together.
    results, errors = {}, []

    def client(i):
        try:
            t, want, _ = texts[i % len(texts)]
            s, g = srv.json("POST", "/embed", {"inputs": [t], "normalize": False})
            results[i] = (s, g, want)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(48)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    check(not errors and len(results) == 48, f"concurrent clients: {errors[:3]}")
    bad = [i for i, (s, g, w) in results.items() if s != 200 or np.abs(np.array(g[0]) - w).max() > 1e-4]
    check(not bad, f"concurrent clients: wrong answers for {bad[:5]}")


def numpy_recommend(vectors, pos, neg, k, exclude):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    q = unit[pos].mean(axis=0) - (unit[neg].mean(axis=0) if neg else 0)
    q = q / np.linalg.norm(q)
    sims = unit.astype(np.float64) @ q.astype(np.float64)
    order = [int(i) for i in np.argsort(-sims) if int(i) not in exclude][:k]
    return q, [(i, float(sims[i])) for i in order]


def check_recommend(srv, papers, vectors):
    ids = [p["paper_id"] for p in papers]
    for pos, neg in (([5], []), ([5, 17, 200], [9]), ([1, 2], [3, 4, 250])):
        body = {"positive": [ids[i] for i in pos], "negative": [ids[i] for i in neg], "k": 7}
        status, got = srv.json("POST", "/recommend", body)
        check(status == 200, f"recommend {body}: {status} {got}")
        if status != 200:
            continue
        _, want = numpy_recommend(vectors, pos, neg, 7, set(pos) | set(neg))
        res = got["results"]
        check(len(res) == 7 and not ({r["paper_id"] for r in res} & {ids[i] for i in pos + neg}),
              f"recommend {pos}/{neg}: inputs excluded, 7 results")
        check(all(abs(r["score"] - s) <= 1e-5 for r, (_, s) in zip(res, want)),
              f"recommend {pos}/{neg}: scores {[r['score'] for r in res]} != numpy {[s for _, s in want]}")
        check(sum(r["paper_id"] == ids[i] for r, (i, _) in zip(res, want)) >= 6,
              f"recommend {pos}/{neg}: ids {[r['paper_id'] for r in res]} != numpy {[ids[i] for i, _ in want]}")
    # Semantic Scholar's names, and a filter.
    status, got = srv.json("POST", "/recommend", {"positivePaperIds": [ids[0]], "limit": 3,
                                                  "category": "quant-ph"})
    check(status == 200 and len(got["results"]) == 3
          and all("quant-ph" in r["categories"] for r in got["results"]), f"recommend S2 names: {status} {got}")


def check_errors(srv, papers):
    pid = papers[0]["paper_id"]
    long_text = "word " * 3000   # 15000 bytes > --max-text-bytes 8192
    cases = [
        ("GET", f"/similar/{pid}?k=0", None, 422, "k must be from 1 to 1000"),
        ("GET", f"/similar/{pid}?k=1000000000", None, 422, "k must be from 1 to 1000"),
        ("GET", f"/similar/{pid}?k=-3", None, 422, "k must be from 1"),
        ("GET", f"/similar/{pid}?k=ten", None, 400, "k must be a whole number"),
        ("GET", f"/similar/{pid}?k=99999999999999999999999", None, 422, "k must be from"),
        ("GET", "/similar/no-such-paper", None, 404, "unknown paper id 'no-such-paper'"),
        ("GET", "/papers/no-such-paper", None, 404, "unknown paper id"),
        ("GET", "/papers/../../etc/passwd", None, 400, "'.' or '..' segments"),
        ("GET", "/papers/%2e%2e/%2e%2e/etc/passwd", None, 400, "'.' or '..' segments"),
        ("GET", "/../etc/passwd", None, 400, "'.' or '..' segments"),
        ("GET", "/papers//x", None, 400, "empty segments"),
        ("GET", "/papers/%FF%FE", None, 400, "not valid UTF-8"),
        ("GET", "/papers/a%01b", None, 400, "control character"),
        ("GET", f"/similar/{pid}?year=twenty", None, 400, "year must be YEAR or FROM-TO"),
        ("GET", f"/similar/{pid}?year=2025-2020", None, 422, "is empty"),
        ("GET", f"/similar/{pid}?catgory=cs", None, 400, "unknown query argument 'catgory'"),
        ("GET", "/search", None, 400, "search needs q"),
        ("GET", "/search?q=%20%20", None, 422, "q is empty"),
        ("GET", "/search?q=%C3%28", None, 400, "query argument 'q' is not valid UTF-8 (byte 0)"),
        ("GET", f"/similar/{pid}?category=a%FFb", None, 400, "query argument 'category' is not valid UTF-8"),
        # A NUL cuts nothing short: it is refused (issue 14, item 7).
        ("GET", f"/papers/{pid}%00junk", None, 400, "holds a NUL byte"),
        ("GET", "/search?q=graph%00x", None, 400, "holds a NUL byte"),
        ("GET", f"/similar/{pid}?k=5%00&year=2020", None, 400, "holds a NUL byte"),
        ("GET", f"/similar/{pid}?ca%00t=cs", None, 400, "holds a NUL byte"),
        # Years: a clear message for a negative one (item 15).
        ("GET", f"/similar/{pid}?year=-5", None, 400, "year must not be negative (got '-5')"),
        ("GET", f"/similar/{pid}?year=2020-", None, 400, "year must be YEAR or FROM-TO"),
        ("GET", f"/similar/{pid}?year=12345", None, 400, "year must be YEAR or FROM-TO"),
        ("POST", "/recommend", {"positive": [pid], "year": -5}, 400, "year must not be negative"),
        ("GET", "/health?verbose=1", None, 400, "/health takes no query arguments"),
        ("GET", "/metrics?x", None, 400, "/metrics takes no query arguments"),
        # A 70 kB query: 413 from scivec, not the HTTP library's 414 (item 8).
        ("GET", "/search?q=" + "a" * 70000, None, 413, "q is 70000 bytes long (at most 8192)"),
        ("GET", "/search?q=" + "a" * 9000, None, 413, "q is 9000 bytes long"),
        ("GET", "/nope", None, 404, "no such endpoint"),
        ("POST", "/similar/x", None, 405, "takes GET"),
        ("GET", "/recommend", None, 405, "takes POST"),
        ("POST", "/recommend", "{bad json", 400, "not valid JSON"),
        ("POST", "/recommend", "[1,2]", 400, "must be a JSON object"),
        ("POST", "/recommend", '{"positive": ["x"]} trailing', 400, "data after its JSON value"),
        ("POST", "/recommend", None, 400, "needs a JSON object body"),
        ("POST", "/recommend", {"positive": []}, 422, "at least one positive"),
        ("POST", "/recommend", {"positive": [1]}, 422, "not a string"),
        ("POST", "/recommend", {"positive": ["nope"]}, 404, "unknown paper id 'nope'"),
        ("POST", "/recommend", {"positive": [pid], "k": 0}, 422, "k must be from 1"),
        ("POST", "/recommend", {"positive": [pid], "k": 1e9}, 422, "k must be from 1"),
        ("POST", "/recommend", {"positive": [pid], "k": 2.5}, 422, "whole number"),
        ("POST", "/recommend", {"positive": [pid], "negative": [pid]}, 422, "cancel out"),
        ("POST", "/recommend", {"positive": [pid] * 101}, 413, "at most 100"),
        # (found by fuzz_http: a bad category followed by a good year was ignored)
        ("POST", "/recommend", {"positive": [pid], "category": "a\u0001b", "year": 2024}, 400,
         "category holds a control character"),
        ("POST", "/v1/embeddings", {"input": ""}, 422, "empty string"),
        ("POST", "/v1/embeddings", {"input": []}, 422, "empty array"),
        ("POST", "/v1/embeddings", {"input": [[101, 102]]}, 422, "token arrays are not supported"),
        ("POST", "/v1/embeddings", {"input": 42}, 422, "string or an array of strings"),
        ("POST", "/v1/embeddings", {"inputs": "x"}, 422, "needs \"input\""),
        ("POST", "/v1/embeddings", {"input": "x", "encoding_format": "int8"}, 422, "\"float\" or \"base64\""),
        ("POST", "/v1/embeddings", {"input": ["x"] * 33}, 413, "holds 33 texts (at most 32"),
        ("POST", "/v1/embeddings", {"input": long_text}, 413, "15000 bytes long (at most 8192)"),
        ("POST", "/v1/embeddings", b'{"input": "\xff\xfe"}', 400, "not valid UTF-8 (byte 11)"),
        ("POST", "/embed", {"inputs": "x", "normalize": "yes"}, 422, "true or false"),
        ("POST", "/embed", '{"inputs": "x", }', 400, "not valid JSON"),
        ("POST", "/embed", "[" * 5000, 400, "not valid JSON"),
        ("POST", "/embed", {"inputs": "x" * 70000}, 413, "over 65536 bytes"),
        ("POST", "/embed?x=1", {"inputs": "x"}, 400, "JSON body, not the query string"),
        ("DELETE", "/health", None, 405, "takes GET"),
    ]
    for method, path, body, want_status, want_message in cases:
        status, headers, data = srv.request(method, path, body)
        try:
            got = json.loads(data)
            message = got["error"]["message"]
            ok_shape = got["error"]["code"] == status and headers.get("content-type") == "application/json"
        except (ValueError, KeyError, TypeError):
            message, ok_shape = data[:200], False
        check(status == want_status and ok_shape and want_message in message,
              f"{method} {path[:60]} {str(body)[:60]}: got {status} {message!r}, want {want_status} "
              f"{want_message!r}")
        if want_status == 405:
            check(headers.get("allow") in ("GET", "POST"), f"{method} {path}: Allow header {headers}")
    # Huge headers: 431 with a JSON body.
    status, got, reply = srv.raw_json(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000
                                      + b"\r\n\r\n")
    check(status == 431 and got and got["error"]["code"] == 431
          and "headers are 100" in got["error"]["message"], f"huge header: {reply[:200]!r}")
    check_framing(srv, pid)
    # A body over the limit, declared or chunked.
    status, _, data = srv.request("POST", "/embed", b'{"inputs": "' + b"a" * 70000 + b'"}')
    check(status == 413 and b"--max-body-bytes" in data, f"large body: {status} {data[:100]!r}")
    chunk = b"a" * 30000
    raw = b"POST /embed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    raw += (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 3 + b"0\r\n\r\n"
    reply = srv.raw(raw)
    check(reply.startswith(b"HTTP/1.1 413"), f"large chunked body: {reply[:60]!r}")
    # Garbage instead of HTTP.
    reply = srv.raw(b"\x00\xff\xfe garbage \r\n\r\n")
    check(reply == b"" or reply.startswith(b"HTTP/1.1 400"), f"garbage request: {reply[:60]!r}")
    check(srv.alive(), "the server survives malformed requests")


def check_framing(srv, pid):
    """What only raw bytes can send: a NUL byte in the target, ambiguous
    body framing (RFC 9112 section 6.3). Each is a JSON 400 that closes the
    connection, so a smuggled second request is never read."""
    body = b'{"inputs":"a"}'
    smuggled = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    cases = [
        ("raw NUL in the path", b"GET /papers/" + pid.encode() + b"\x00junk HTTP/1.1\r\nHost: x\r\n\r\n",
         "holds a NUL byte"),
        ("two Content-Length", b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n"
         b"Content-Length: 52\r\n\r\n" + body + smuggled, "Content-Length headers with different values"),
        ("Content-Length and chunked", b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n"
         b"Transfer-Encoding: chunked\r\n\r\ne\r\n" + body + b"\r\n0\r\n\r\n" + smuggled,
         "both Content-Length and Transfer-Encoding"),
    ]
    for what, data, message in cases:
        status, got, reply = srv.raw_json(data)
        check(status == 400 and got and message in got["error"]["message"]
              and b"\r\nConnection: close\r\n" in reply.split(b"\r\n\r\n")[0] + b"\r\n"
              and reply.count(b"HTTP/1.1 ") == 1, f"{what}: {reply[:300]!r}")
    # The same length twice is one length: accepted.
    status, got, reply = srv.raw_json(b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n"
                                      b"Content-Length: 14\r\nConnection: close\r\n\r\n" + body)
    check(status == 200 and isinstance(got, list) and len(got) == 1, f"repeated equal Content-Length: {reply[:100]!r}")


def check_log(srv):
    """One line per refused request, rate-limited (20 a second), none of the
    HTTP library's HTML."""
    time.sleep(1.1)   # a fresh second: these two lines get through
    srv.request("GET", "/search?q=graph%00x")
    srv.raw(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
    srv.raw(b"GET /health HTTP/7.1\r\nHost: x\r\n\r\n")   # refused by libmicrohttpd itself
    time.sleep(0.5)
    err = srv.stderr_text()
    check("<html" not in err.lower(), f"no HTML in the log: {err[:500]}")
    check("refused 400 GET /search?q=graph%00x: the path or a query argument holds a NUL byte" in err,
          f"the log names a refused request: {err[-800:]}")
    check("refused 431 GET /health: the request headers are" in err, "the log has the 431")
    check("scivec serve: http: Error processing request (HTTP response code is 505)" in err,
          f"libmicrohttpd's refusal on one line: {err[-500:]}")
    check("lines not logged: over 20 a second)" in err,
          "check_errors' burst of refusals was rate-limited")


def check_metrics(srv):
    status, headers, data = srv.request("GET", "/metrics")
    text = data.decode()
    check(status == 200 and headers.get("content-type", "").startswith("text/plain"), f"/metrics {status}")
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    check(values.get('scivec_http_requests_total{endpoint="similar",status="200"}', 0) >= 9,
          "metrics: similar 200 count")
    check(values.get('scivec_http_requests_total{endpoint="similar",status="422"}', 0) >= 4,
          "metrics: similar 422 count")
    check(values.get('scivec_http_request_duration_seconds_count{endpoint="search"}', 0) >= 4,
          "metrics: search latency count")
    check(values.get('scivec_http_request_duration_seconds_bucket{endpoint="search",le="+Inf"}') ==
          values.get('scivec_http_request_duration_seconds_count{endpoint="search"}'), "metrics: +Inf bucket")
    check(values.get("scivec_queue_depth") == 0 and values.get("scivec_queue_capacity") == 256,
          "metrics: queue gauges")
    check(values.get("scivec_batch_texts_count", 0) >= 1
          and values.get("scivec_batch_texts_sum", 0) >= 30 + 30 + 48, "metrics: batch sizes")
    # 48 concurrent one-text requests went through fewer model calls than requests?
    check(values.get("scivec_embed_requests_total", 0) > 0, "metrics: embed requests")
    check(any(k.startswith('scivec_model_info{model="') and 'pooling="mean"' in k and 'dim="64"' in k
              for k in values), "metrics: model info")


def check_overload(out):
    """A queue of one and a 50 ms timeout: concurrent long requests get 503
    (queue full or timed out) with Retry-After and a JSON reason; the server
    stays healthy and answers the next request."""
    srv = serve_util.Server(out, "--threads", "1", "--max-queue", "1", "--timeout-ms", "50",
                            "--max-inputs", "32", "--max-text-bytes", "8192")
    try:
        body = {"inputs": [("overload text number %d " % i) * 300 for i in range(32)], "normalize": False}
        answers = []

        def client():
            try:
                answers.append(srv.request("POST", "/embed", body))
            except OSError as e:
                answers.append((None, {}, repr(e).encode()))

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        statuses = sorted(a[0] for a in answers)
        check(len(answers) == 8 and set(statuses) <= {200, 503} and 503 in statuses,
              f"overload: statuses {statuses}")
        for status, headers, data in answers:
            if status == 503:
                message = json.loads(data)["error"]["message"]
                check(headers.get("retry-after") == "1" and
                      ("queue is full" in message or "did not finish within 50 ms" in message),
                      f"overload 503: {headers.get('retry-after')} {message}")
        status, health = srv.json("GET", "/health")
        check(status == 200 and health["queue_depth"] == 0, f"overload: health after {status} {health}")
        # (a long request already running is finished by the worker even when
        # its client timed out: the next one may wait for it, a bounded while)
        for _ in range(50):
            status, got = srv.json("POST", "/embed", {"inputs": "short"})
            if status == 200:
                break
            time.sleep(0.1)
        check(status == 200, f"overload: a short request after: {status} {got}")
        status, _, metrics = srv.request("GET", "/metrics")
        check(b'scivec_embed_rejected_total{reason="queue_full"}' in metrics, "overload: metrics")
    finally:
        rc = srv.stop()
    check(rc == 0, f"overload server exit status {rc}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        papers, vectors = serve_util.make_dir(out)
        srv = serve_util.Server(out, "--threads", "1", "--max-inputs", "32", "--max-text-bytes", "8192",
                                "--max-body-bytes", "65536")
        try:
            status, health = srv.json("GET", "/health")
            check(status == 200 and health["status"] == "ok" and health["papers"] == 300
                  and health["dim"] == 64, f"/health: {status} {health}")
            status, headers, page = srv.request("GET", "/")
            check(status == 200 and headers["content-type"].startswith("text/html")
                  and b"<script src=\"/app.js\">" in page, f"/: {status}")
            check("default-src 'self'" in headers.get("content-security-policy", ""), "/: CSP header")
            status, headers, js = srv.request("GET", "/app.js")
            check(status == 200 and b"/recommend" in js, f"/app.js: {status}")
            check_similar(srv, papers, vectors, out)
            check_paper(srv, papers)
            check_search(srv, papers, vectors)
            check_embeddings(srv)
            check_recommend(srv, papers, vectors)
            check_errors(srv, papers)
            check_metrics(srv)
            check_log(srv)
            status, health = srv.json("GET", "/health")
            check(status == 200, "healthy at the end")
        finally:
            rc = srv.stop()
            err = srv.stderr_text()
        check(rc == 0, f"SIGTERM: exit status {rc}: {err}")
        check_overload(out)
    print(f"{tq.passed} passed, {tq.failures} failed")
    return 1 if tq.failures else 0


if __name__ == "__main__":
    sys.exit(main())
