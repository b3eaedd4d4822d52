#!/usr/bin/python3
"""scivec search: the query text is embedded with the model, pooling,
normalisation and length limit recorded in metadata.json, then searched.

The output directory is written by Python (see test_query.py) from
HuggingFace's own mean-pooled embeddings of 300 arXiv abstracts with
tests/fixtures/models/tiny-scibert. Searching for an abstract's text must
therefore find that paper first at cosine ~1 (within 1e-4, the parity
tolerance of the forward pass), and every score must be the true cosine
between HF's vector of the query text and the paper's vector.
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_query as tq  # noqa: E402  (the shared fixture writer and checks)
from test_query import check, run, check_top_k  # noqa: E402



def check_search(base, papers):
    vectors = np.load(os.path.join(base, "embeddings.npy"))
    for row in (0, 42, 299):
        rc, out, err = run("search", base, papers[row]["abstract"], "-k", "5", "--json", "--threads", "1")
        check(rc == 0, f"search abstract {row}: exit {rc}: {err}")
        if rc:
            continue
        got = json.loads(out)
        # The abstract's own HF embedding is in the index: it must come first, at cosine ~1.
        check(len(got) == 5 and got[0]["paper_id"] == papers[row]["paper_id"],
              f"search abstract {row}: first hit {got[0]['paper_id'] if got else None}")
        check(got and abs(got[0]["score"] - 1.0) <= 1e-4, f"search abstract {row}: score {got[0]['score']}")
        check_top_k(got, papers, vectors, vectors[row], 5, lambda i: True, -1,
                    f"search abstract {row}", tol=1e-4)
    rc, out, err = run("search", base, papers[5]["abstract"], "-k", "4", "--json", "--category", "quant-ph")
    got = json.loads(out) if rc == 0 else []
    check(rc == 0 and len(got) == 4 and all("quant-ph" in g["categories"] for g in got),
          f"search with a filter: {rc} {err}")
    rc, out, err = run("search", base, "quantum entanglement of photons", "-k", "3")
    check(rc == 0 and out.count("[0.") + out.count("[1.") + out.count("[-0.") == 3,
          f"search text output: {rc} {out} {err}")
    rc, out, err = run("search", base, "anything", "--model", "/nonexistent-model")
    check(rc != 0 and len(err.strip().splitlines()) == 1, f"search with a missing model: {rc} {err}")


    # The model can be named explicitly, and a model of another width is refused.
    rc, out, err = run("search", base, papers[0]["abstract"], "-k", "1", "--json", "--model", tq.TINY)
    check(rc == 0 and papers[0]["paper_id"] in out and "warning" not in err, f"search --model: {rc} {err}")
    # Other weights than the papers' (the f16 copy): answered, with a warning naming both.
    f16 = os.path.join(tq.FIXTURES, "models", "tiny-scibert-f16")
    rc, out, err = run("search", base, "quantum", "-k", "1", "--json", "--model", f16)
    check(rc == 0 and "warning" in err and "tiny-scibert-f16" in err, f"search other weights: {rc} {err}")


def main():
    papers = tq.load_papers()
    raw = np.stack([p["vector"] for p in papers])
    tmp = tempfile.mkdtemp(prefix="scivec-search-")
    try:
        flat = os.path.join(tmp, "flat")
        tq.write_dir(flat, papers, tq.normalized(raw))
        check_search(flat, papers)
    finally:
        shutil.rmtree(tmp)
    print(f"{tq.passed} passed, {tq.failures} failed")
    return 1 if tq.failures else 0


if __name__ == "__main__":
    sys.exit(main())
