"""test_specter2_hub.py - SPECTER2's recipe against a fake hub serving tiny
models under the real repo ids, laid out as AdapterHub publishes adapters
(adapter_config.json + pytorch_adapter.bin, next to a README, a prediction
head and .gitattributes that scivec must not download):

  allenai/specter2_base                     tiny-scibert
  allenai/specter2                          proximity        (model_name allenai/specter2_base)
  allenai/specter2_adhoc_query              adhoc_query      (model_name allenai/specter2_base)
  allenai/specter2_aug2023refresh_base      tiny-scibert
  allenai/specter2_aug2023refresh           bottleneck8      (model_name ..._aug2023refresh_base)
  allenai/specter2_aug2023refresh_adhoc_query  adhoc_query   (model_name ..._aug2023refresh_base)

Checks: `embed --recipe specter2` downloads base, proximity and adhoc_query,
embeds papers through proximity (AdapterHub's golden vectors) and records
adhoc_query for queries; `search` and the server's /search embed the query
through adhoc_query (AdapterHub's golden query vector, and equal to
`scivec encode --adapter allenai/specter2_adhoc_query`); the aug2023refresh
base gets its own adapters; a local folder is matched by its config.json's
_name_or_path, never by its name; mismatched pairs are refused naming both (by the
table, by adapter_config.json's model_name, by hidden_size); offline or with
the hub unreachable and the adapters not cached, one line naming the
`scivec fetch` commands and no output; `--adapter none` gives base vectors
and is recorded.

Run by CTest with /usr/bin/python3 (numpy); env SCIVEC, SV_FIXTURES, SV_TESTS.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from urllib.parse import quote

import numpy as np

from hub_util import Hub, free_port, scivec_env
from testlib import SCIVEC, FIX, MODEL, check, report

ADAPTERS = os.path.join(FIX, "models", "tiny-scibert-adapters")
GOLDEN = os.path.join(FIX, "golden", "tiny-scibert-adapters")
BASE, AUG_BASE = "allenai/specter2_base", "allenai/specter2_aug2023refresh_base"


def adapter_repo(folder, src, model_name):
    """An adapter repo as AdapterHub's push_adapter_to_hub lays it out."""
    shutil.copytree(src, folder)
    path = os.path.join(folder, "adapter_config.json")
    with open(path) as f:
        config = json.load(f)
    config["model_name"] = model_name
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write("# Adapter for %s\n" % model_name)
    with open(os.path.join(folder, "head_config.json"), "w") as f:
        json.dump({"config": None, "hidden_size": config["hidden_size"],
                   "model_class": "BertAdapterModel", "model_name": model_name,
                   "model_type": "bert", "name": config["name"]}, f)
    with open(os.path.join(folder, "pytorch_model_head.bin"), "wb") as f:
        f.write(b"not read by scivec" * 100)
    with open(os.path.join(folder, ".gitattributes"), "w") as f:
        f.write("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    return folder


def run(args, env, stdin=b""):
    p = subprocess.run([SCIVEC] + args, input=stdin, capture_output=True, env=env, timeout=300)
    err = p.stderr.decode()
    check("Sanitizer" not in err and "runtime error" not in err, "%s: %s" % (args, err[-3000:]))
    return p.returncode, p.stdout.decode(), err


def cached_repos(cache):
    return sorted(d[len("models--"):].replace("--", "/") for d in os.listdir(cache)
                  if d.startswith("models--")) if os.path.isdir(cache) else []


def one_line(err):
    return len(err.strip().splitlines()) == 1


tmp = tempfile.mkdtemp(prefix="scivec-specter2-hub-")
hub = None
try:
    repos = {BASE: MODEL, AUG_BASE: MODEL}
    for repo, src, base in (("allenai/specter2", "proximity", BASE),
                            ("allenai/specter2_adhoc_query", "adhoc_query", BASE),
                            ("allenai/specter2_aug2023refresh", "bottleneck8", AUG_BASE),
                            ("allenai/specter2_aug2023refresh_adhoc_query", "adhoc_query", AUG_BASE)):
        repos[repo] = adapter_repo(os.path.join(tmp, "repos", repo), os.path.join(ADAPTERS, src), base)
    hub = Hub(repos)

    # papers as title [SEP] abstract: AdapterHub's golden pair vectors
    pair_rows = [json.loads(l) for l in open(os.path.join(FIX, "golden", "tokens_pair.jsonl"),
                                             encoding="utf-8")]
    n_pairs = 40
    papers_csv = os.path.join(tmp, "papers.csv")
    with open(papers_csv, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["paper_id", "title", "abstract"])
        for i, r in enumerate(pair_rows[:n_pairs]):
            w.writerow(["p%d" % i, r["title"], r["abstract"]])

    def golden_pairs(adapter):
        return np.load(os.path.join(GOLDEN, adapter, "pairs_single_sep_embeddings_cls.npy"))[:n_pairs]

    # --- the recipe downloads base, proximity and adhoc_query ------------------
    cache = os.path.join(tmp, "cache")
    env = scivec_env(cache, hub.url)
    out = os.path.join(tmp, "out")
    rc, _, err = run(["embed", papers_csv, "--model", BASE, "--recipe", "specter2",
                      "--no-normalize", "--out", out], env)
    check(rc == 0, "recipe specter2 online: exit %d: %s" % (rc, err))
    check(cached_repos(cache) == sorted([BASE, "allenai/specter2", "allenai/specter2_adhoc_query"]),
          "downloaded %s" % cached_repos(cache))
    fetched = [e["path"] for e in hub.log() if e["method"] == "GET"]
    check(not any(p.endswith(("README.md", "head_config.json", "pytorch_model_head.bin",
                              ".gitattributes")) for p in fetched),
          "downloaded files scivec does not read: %s" % fetched)
    meta = json.load(open(os.path.join(out, "metadata.json"))) if rc == 0 else {}
    ad = meta.get("adapters") or {}
    check((ad.get("papers") or {}).get("ref") == "allenai/specter2" and
          (ad.get("papers") or {}).get("name") == "proximity", "adapters.papers %s" % ad)
    check((ad.get("queries") or {}).get("ref") == "allenai/specter2_adhoc_query" and
          (ad.get("queries") or {}).get("name") == "adhoc_query", "adapters.queries %s" % ad)
    if rc == 0:
        vectors = np.load(os.path.join(out, "embeddings.npy"))
        diff = float(np.abs(vectors - golden_pairs("proximity")).max())
        print("recipe specter2 papers vs AdapterHub proximity: max|diff| %.2e" % diff)
        check(diff <= 1e-4, "papers through proximity: max|diff| %g" % diff)

        # search embeds the query through adhoc_query: AdapterHub's golden
        # vector, and what `scivec encode --adapter` gives for the same text
        rows = [json.loads(l) for l in open(os.path.join(FIX, "golden", "tokens.jsonl"),
                                            encoding="utf-8")]
        qi = next(i for i, r in enumerate(rows) if r["id"].startswith("abs-"))
        query = rows[qi]["text"]
        golden_q = np.load(os.path.join(GOLDEN, "adhoc_query", "embeddings_cls.npy"))[qi]
        enc_out = os.path.join(tmp, "q.npy")
        rc, _, err = run(["encode", "--model", BASE, "--adapter", "allenai/specter2_adhoc_query",
                          "--pooling", "cls", "--out", enc_out],
                         env, (json.dumps({"text": query}) + "\n").encode())
        check(rc == 0, "encode --adapter adhoc_query: %s" % err)
        q_enc = np.load(enc_out)[0] if rc == 0 else golden_q
        check(float(np.abs(q_enc - golden_q).max()) <= 1e-4, "encode --adapter vs golden query")
        normed = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        rc, stdout, err = run(["search", out, "-k", "5", "--json", "--", query], env)
        check(rc == 0 and "adhoc_query" in err, "search: exit %d: %s" % (rc, err))
        hits = json.loads(stdout) if rc == 0 else []
        check(len(hits) == 5, "search hits %s" % hits)
        for h in hits:
            row = int(h["paper_id"][1:])
            want = float(normed[row] @ (q_enc / np.linalg.norm(q_enc)))
            check(abs(h["score"] - want) <= 1e-5,
                  "search score %s %g, cosine with encode --adapter adhoc_query %g"
                  % (h["paper_id"], h["score"], want))
        prox_q = np.load(os.path.join(GOLDEN, "proximity", "embeddings_cls.npy"))[qi]
        if hits:
            other = float(normed[int(hits[0]["paper_id"][1:])] @ (prox_q / np.linalg.norm(prox_q)))
            check(abs(hits[0]["score"] - other) > 1e-3, "search scores equal proximity's")

        # the server's /search: the same query vector (same library call)
        from serve_util import Server
        server = Server(out, "--threads", "1")
        try:
            status, served = server.json("GET", "/search?k=5&q=" + quote(query))
            got = served.get("results", served) if isinstance(served, dict) else served
            check(status == 200 and [h["paper_id"] for h in got] == [h["paper_id"] for h in hits]
                  and all(abs(a["score"] - b["score"]) <= 1e-5 for a, b in zip(got, hits)),
                  "serve /search %s %s vs search %s" % (status, served, hits))
        finally:
            server.stop()

    # --- aug2023refresh: its own adapters, never the original ones -------------
    out_aug = os.path.join(tmp, "out-aug")
    rc, _, err = run(["embed", papers_csv, "--model", AUG_BASE, "--recipe", "specter2",
                      "--no-normalize", "--out", out_aug], env)
    check(rc == 0, "recipe specter2 aug2023refresh: exit %d: %s" % (rc, err))
    if rc == 0:
        ad = json.load(open(os.path.join(out_aug, "metadata.json")))["adapters"]
        check(ad["papers"]["ref"] == "allenai/specter2_aug2023refresh" and
              ad["queries"]["ref"] == "allenai/specter2_aug2023refresh_adhoc_query",
              "aug2023refresh adapters %s" % ad)
        diff = float(np.abs(np.load(os.path.join(out_aug, "embeddings.npy"))
                            - golden_pairs("bottleneck8")).max())
        check(diff <= 1e-4, "aug2023refresh papers (bottleneck8 served): max|diff| %g" % diff)

    # --- a local folder whose config.json says it is allenai/specter2_base ------
    local_base = os.path.join(tmp, "local-specter2-base")
    shutil.copytree(MODEL, local_base)
    config = json.load(open(os.path.join(local_base, "config.json")))
    config["_name_or_path"] = BASE
    json.dump(config, open(os.path.join(local_base, "config.json"), "w"))
    out_local = os.path.join(tmp, "out-local")
    rc, _, err = run(["embed", papers_csv, "--model", local_base, "--recipe", "specter2",
                      "--no-normalize", "--out", out_local], env)
    check(rc == 0, "recipe specter2 on a local folder: exit %d: %s" % (rc, err))
    if rc == 0:
        ad = json.load(open(os.path.join(out_local, "metadata.json")))["adapters"]
        check(ad["papers"]["ref"] == "allenai/specter2" and
              ad["queries"]["ref"] == "allenai/specter2_adhoc_query", "local folder adapters %s" % ad)
    # a folder saying nothing gets no family (never a substring of its name)
    plain = os.path.join(tmp, "specter2_base")
    shutil.copytree(MODEL, plain)
    out_plain = os.path.join(tmp, "out-plain")
    rc, _, err = run(["embed", papers_csv, "--model", plain, "--recipe", "specter2",
                      "--out", out_plain], env)
    check(rc == 0 and "not a base model of the adapter family table" in err,
          "folder named specter2_base: %d %s" % (rc, err))
    if rc == 0:
        ad = json.load(open(os.path.join(out_plain, "metadata.json")))["adapters"]
        check(ad["papers"] is None and ad["queries"] is None, "plain folder adapters %s" % ad)

    # --- mismatched pairs, refused naming both ----------------------------------
    text = b'{"text": "x"}\n'
    enc_out = os.path.join(tmp, "mismatch.npy")
    rc, _, err = run(["encode", "--model", BASE, "--adapter", "allenai/specter2_aug2023refresh",
                      "--out", enc_out], env, text)
    check(rc != 0 and one_line(err) and "allenai/specter2_aug2023refresh" in err
          and BASE in err and not os.path.exists(enc_out), "table mismatch: %d %s" % (rc, err))
    local = adapter_repo(os.path.join(tmp, "local-aug"), os.path.join(ADAPTERS, "proximity"), AUG_BASE)
    rc, _, err = run(["encode", "--model", BASE, "--adapter", local, "--out", enc_out], env, text)
    check(rc != 0 and one_line(err) and AUG_BASE in err and BASE in err and "model_name" in err
          and not os.path.exists(enc_out), "model_name mismatch: %d %s" % (rc, err))
    wide = adapter_repo(os.path.join(tmp, "local-wide"), os.path.join(ADAPTERS, "proximity"), BASE)
    with open(os.path.join(wide, "adapter_config.json")) as f:
        config = json.load(f)
    config["hidden_size"] = 768
    with open(os.path.join(wide, "adapter_config.json"), "w") as f:
        json.dump(config, f)
    rc, _, err = run(["encode", "--model", BASE, "--adapter", wide, "--out", enc_out], env, text)
    check(rc != 0 and one_line(err) and "768" in err and "64" in err and BASE in err
          and not os.path.exists(enc_out), "hidden_size mismatch: %d %s" % (rc, err))

    # --- offline / unreachable without the adapters: one line naming fetch ------
    cache2 = os.path.join(tmp, "cache2")
    rc, _, err = run(["fetch", BASE, "--quiet"], scivec_env(cache2, hub.url))
    check(rc == 0, "fetch base: %s" % err)
    dead = "http://127.0.0.1:%d" % free_port()
    for name, env2 in (("HF_HUB_OFFLINE=1", scivec_env(cache2, hub.url, HF_HUB_OFFLINE="1")),
                       ("hub unreachable", scivec_env(cache2, dead))):
        out2 = os.path.join(tmp, "out-offline")
        rc, _, err = run(["embed", papers_csv, "--model", BASE, "--recipe", "specter2",
                          "--out", out2], env2)
        check(rc != 0 and one_line(err) and "scivec fetch allenai/specter2" in err
              and "scivec fetch allenai/specter2_adhoc_query" in err
              and "--adapter none" in err, "%s: exit %d: %s" % (name, rc, err))
        check(not os.path.exists(os.path.join(out2, "embeddings.npy")),
              "%s: wrote embeddings anyway" % name)
        # --adapter none: the base model, recorded
        out3 = os.path.join(tmp, "out-none")
        shutil.rmtree(out3, ignore_errors=True)
        rc, _, err = run(["embed", papers_csv, "--model", BASE, "--recipe", "specter2",
                          "--adapter", "none", "--no-normalize", "--out", out3], env2)
        check(rc == 0, "%s --adapter none: %d %s" % (name, rc, err))
        if rc == 0:
            ad = json.load(open(os.path.join(out3, "metadata.json")))["adapters"]
            check(ad == {"papers": None, "queries": None, "choice": "none (--adapter none)"},
                  "--adapter none recorded %s" % ad)
            base_vecs = np.load(os.path.join(out3, "embeddings.npy"))
            check(float(np.abs(base_vecs - golden_pairs("proximity")).max()) > 1e-2,
                  "--adapter none gave adapter vectors")
    check(cached_repos(cache2) == [BASE], "offline runs downloaded %s" % cached_repos(cache2))
finally:
    if hub:
        hub.stop()
    shutil.rmtree(tmp, ignore_errors=True)

sys.exit(report("test_specter2_hub"))
