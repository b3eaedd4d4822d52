"""ANN search parameters (issue 14, item 5): an IVF or HNSW index is not
searched at FAISS's defaults (nprobe 1 gave recall@10 0.33). The build
chooses nprobe / efSearch for recall@10 >= 0.95 against exact search on a
sample, stores it in the index and metadata.json (shown by info); --nprobe /
--ef-search on similar and search, and nprobe / ef_search on the API, set it
per query. Recall here is measured by Python's faiss against IndexFlatIP on
embeddings.npy, independently of scivec.

Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
import csv
import json
import os
import subprocess
import sys
import tempfile

import faiss
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import FIX, MODEL, SCIVEC, check, report  # noqa: E402
import serve_util  # noqa: E402


def run(*args):
    return subprocess.run([SCIVEC, *args], capture_output=True, text=True)


def recall_at_10(index, emb, queries):
    exact = faiss.IndexFlatIP(emb.shape[1])
    exact.add(emb)
    d_exact, _ = exact.search(emb[queries], 10)
    _, ids = index.search(emb[queries], 10)
    found = 0
    for q, row in enumerate(ids):
        true = emb[row[row >= 0]] @ emb[queries[q]]
        found += int((true >= d_exact[q, 9] - 1e-5).sum())   # ties are not misses
    return found / (len(queries) * 10)


def main():
    with open(os.path.join(FIX, "data", "arxiv-papers.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    n = 2000
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "papers.csv")
        with open(src, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows[:n + 1])
        queries = np.random.default_rng(7).choice(n, 300, replace=False)
        outs = {}
        for factory, param in (("IVF64,Flat", "nprobe"), ("HNSW32", "efSearch")):
            out = os.path.join(tmp, factory.replace(",", "_"))
            outs[factory] = out
            p = run("embed", src, "--model", MODEL, "--out", out, "--max-length", "32", "--index", factory)
            check(p.returncode == 0 and f"index search: {param} " in p.stderr, f"{factory}: {p.stderr[-300:]!r}")
            meta = json.load(open(os.path.join(out, "metadata.json")))["index"]
            value = meta.get("search_params", {}).get(param)
            check(isinstance(value, int) and value >= 1 and meta.get("recall_at_10", 0) >= 0.95
                  and meta.get("recall_sample") == 200 and meta.get("recall_target") == 0.95,
                  f"{factory} metadata: {meta}")
            index = faiss.read_index(os.path.join(out, "papers.index"))
            emb = np.load(os.path.join(out, "embeddings.npy"))
            stored = (faiss.extract_index_ivf(index).nprobe if param == "nprobe"
                      else faiss.downcast_index(index).hnsw.efSearch)
            check(stored == value, f"{factory}: the index file holds {param} {stored}, metadata {value}")
            r = recall_at_10(index, emb, queries)
            check(r >= 0.93, f"{factory}: recall@10 {r:.3f} with the chosen {param} {value}")
            if param == "nprobe":
                faiss.extract_index_ivf(index).nprobe = 1
                r1 = recall_at_10(index, emb, queries)
                check(r1 < r, f"nprobe 1 recall {r1:.3f} not below the chosen one's {r:.3f}")
                print(f"{factory}: nprobe {value} recall@10 {r:.3f} (nprobe 1: {r1:.3f})")
            else:
                print(f"{factory}: efSearch {value} recall@10 {r:.3f}")
            info = run("info", out)
            check(f"index.search_params.{param}" in info.stdout and "index.recall_at_10" in info.stdout,
                  f"info does not show the search parameter: {info.stdout[-600:]}")

        # Per query: --nprobe 64 visits every list, so similar is exact search.
        ivf = outs["IVF64,Flat"]
        emb = np.load(os.path.join(ivf, "embeddings.npy"))
        exact = faiss.IndexFlatIP(emb.shape[1])
        exact.add(emb)
        pid = rows[1][rows[0].index("paper_id")]
        _, want = exact.search(emb[:1], 6)
        want_ids = [rows[1 + i][rows[0].index("paper_id")] for i in want[0] if i != 0][:5]
        p = run("similar", ivf, pid, "--nprobe", "64", "--json")
        got = [h["paper_id"] for h in json.loads(p.stdout)] if p.returncode == 0 else p.stderr
        check(got == want_ids, f"similar --nprobe 64: {got} vs exact {want_ids}")
        p = run("search", ivf, "graph networks", "--nprobe", "2", "-k", "3")
        check(p.returncode == 0, f"search --nprobe: {p.stderr!r}")
        for args, words in ((("--ef-search", "10"), "ef_search applies to HNSW"),
                            (("--nprobe", "65"), "from 1 to the 64 lists"),
                            (("--nprobe", "0"), "expected a whole number >= 1")):
            p = run("similar", ivf, pid, *args)
            check(p.returncode != 0 and words in p.stderr, f"similar {args}: {p.returncode} {p.stderr!r}")
        p = run("search", outs["HNSW32"], "graph", "--ef-search", "200", "-k", "3")
        check(p.returncode == 0, f"search --ef-search: {p.stderr!r}")
        p = run("similar", outs["HNSW32"], pid, "--nprobe", "4")
        check(p.returncode != 0 and "nprobe applies to IVF" in p.stderr, f"nprobe on HNSW: {p.stderr!r}")

        srv = serve_util.Server(ivf, "--threads", "1")
        try:
            status, body = srv.json("GET", f"/similar/{pid}?k=5&nprobe=64")
            got = [h["paper_id"] for h in body.get("results", [])] if status == 200 else body
            check(got == want_ids, f"/similar nprobe=64: {status} {got}")
            for query, code in (("nprobe=0", 422), ("nprobe=x", 400), ("ef_search=32", 422), ("nprobe=65", 422)):
                status, body = srv.json("GET", f"/similar/{pid}?{query}")
                check(status == code, f"/similar?{query}: {status} {body!r}")
            status, body = srv.json("GET", "/search?q=graph&k=3&nprobe=8")
            check(status == 200 and len(body.get("results", [])) == 3, f"/search nprobe=8: {status} {body!r}")
        finally:
            srv.stop()

    return report("test_index_search_params.py")


if __name__ == "__main__":
    sys.exit(main())
