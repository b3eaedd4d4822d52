"""test_adapter_cli.py - bottleneck adapters through the command line:

- `scivec encode --adapter DIR` gives AdapterHub's golden vectors (proximity,
  and prx-noprefix = the same weights saved as "[PRX]" without "bert.");
- `scivec embed --recipe specter2 --adapter proximity` (title[SEP]abstract,
  CLS) gives the golden single_sep pair vectors, and metadata.json records the
  adapters (path + name) for papers and queries;
- `scivec search` applies the recorded query adapter (adhoc_query), or the
  papers' adapter when no query adapter was recorded: its scores equal the
  cosine of `scivec encode --adapter <that one> --normalize` with the rows;
- a broken adapter is refused with one line naming the config key.

Run by CTest with /usr/bin/python3 (numpy); env SCIVEC and SV_FIXTURES.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

SCIVEC = os.environ["SCIVEC"]
FIX = os.environ["SV_FIXTURES"]
MODEL = os.path.join(FIX, "models", "tiny-scibert")
ADAPTERS = os.path.join(FIX, "models", "tiny-scibert-adapters")
GOLDEN = os.path.join(FIX, "golden", "tiny-scibert-adapters")

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, file=sys.stderr)


def run(args, stdin_text=None):
    p = subprocess.run([SCIVEC] + args, input=stdin_text.encode() if stdin_text else None,
                       capture_output=True, timeout=600)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def encode(tmp, texts, *args):
    out = os.path.join(tmp, "enc.npy")
    lines = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    rc, _, err = run(["encode", "--model", MODEL, "--out", out] + list(args), lines)
    check(rc == 0, "encode %s: exit %d: %s" % (args, rc, err))
    return (np.load(out) if rc == 0 else None), err


rows = [json.loads(l) for l in open(os.path.join(FIX, "golden", "tokens.jsonl"), encoding="utf-8")]
picked = [i for i, r in enumerate(rows) if r["id"].startswith("abs-")][:40]
picked += [i for i, r in enumerate(rows) if r["id"] in ("edge-empty", "edge-ascii-simple",
                                                          "edge-accents-1")]
texts = [rows[i]["text"] for i in picked]
pair_rows = [json.loads(l) for l in open(os.path.join(FIX, "golden", "tokens_pair.jsonl"),
                                         encoding="utf-8")]

tmp = tempfile.mkdtemp(prefix="scivec-adapter-cli-")
try:
    # encode --adapter: golden CLS and mean rows
    golden_cls = np.load(os.path.join(GOLDEN, "proximity", "embeddings_cls.npy"))[picked]
    golden_mean = np.load(os.path.join(GOLDEN, "proximity", "embeddings_mean.npy"))[picked]
    for folder in ("proximity", "prx-noprefix"):
        for pooling, golden in (("cls", golden_cls), ("mean", golden_mean)):
            got, err = encode(tmp, texts, "--pooling", pooling, "--adapter",
                              os.path.join(ADAPTERS, folder))
            if got is not None:
                diff = float(np.abs(got - golden).max())
                print("encode --adapter %s --pooling %s: max|diff| %.2e" % (folder, pooling, diff))
                check(diff <= 1e-4, "encode %s %s: max|diff| %g" % (folder, pooling, diff))
                check("adapter:" in err, "encode does not say which adapter runs: %s" % err)
    base, _ = encode(tmp, texts, "--pooling", "cls")
    if base is not None:
        check(float(np.abs(base - golden_cls).max()) > 0.5, "no --adapter gave adapter vectors")

    # a broken adapter: one line naming the key, no output file
    bad = os.path.join(tmp, "bad-adapter")
    shutil.copytree(os.path.join(ADAPTERS, "proximity"), bad)
    with open(os.path.join(bad, "adapter_config.json")) as f:
        config = json.load(f)
    config["config"]["non_linearity"] = "gelu"
    with open(os.path.join(bad, "adapter_config.json"), "w") as f:
        json.dump(config, f)
    out = os.path.join(tmp, "bad.npy")
    rc, _, err = run(["encode", "--model", MODEL, "--out", out, "--adapter", bad], '{"text": "x"}\n')
    check(rc != 0 and "non_linearity" in err and not os.path.exists(out),
          "bad adapter: exit %d: %s" % (rc, err))
    rc, _, err = run(["encode", "--model", MODEL, "--out", out, "--adapter",
                      os.path.join(tmp, "no-such-adapter")], '{"text": "x"}\n')
    check(rc != 0 and "no-such-adapter" in err, "missing adapter: exit %d: %s" % (rc, err))

    # embed --recipe specter2 --adapter proximity: the golden single_sep pair vectors
    n_pairs = 60
    papers_csv = os.path.join(tmp, "papers.csv")
    with open(papers_csv, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["paper_id", "title", "abstract"])
        for i, r in enumerate(pair_rows[:n_pairs]):
            w.writerow(["p%d" % i, r["title"], r["abstract"]])
    golden_pairs = np.load(os.path.join(GOLDEN, "proximity",
                                        "pairs_single_sep_embeddings_cls.npy"))[:n_pairs]
    out_dir = os.path.join(tmp, "emb")
    rc, _, err = run(["embed", papers_csv, "--model", MODEL, "--out", out_dir, "--recipe",
                      "specter2", "--no-normalize", "--adapter", os.path.join(ADAPTERS, "proximity"),
                      "--query-adapter", os.path.join(ADAPTERS, "adhoc_query")])
    check(rc == 0, "embed: exit %d: %s" % (rc, err))
    if rc == 0:
        vectors = np.load(os.path.join(out_dir, "embeddings.npy"))
        diff = float(np.abs(vectors - golden_pairs).max()) if vectors.shape == golden_pairs.shape else 1e9
        print("embed --recipe specter2 --adapter proximity: max|diff| %.2e" % diff)
        check(diff <= 1e-4, "embed specter2 pairs: max|diff| %g" % diff)
        meta = json.load(open(os.path.join(out_dir, "metadata.json")))
        ad = meta.get("adapters") or {}
        papers_ad, queries_ad = ad.get("papers") or {}, ad.get("queries") or {}
        check(papers_ad.get("name") == "proximity" and
              os.path.samefile(papers_ad.get("path", "/nonexistent"), os.path.join(ADAPTERS, "proximity")),
              "metadata adapters.papers: %s" % papers_ad)
        check(queries_ad.get("name") == "adhoc_query" and
              os.path.samefile(queries_ad.get("path", "/nonexistent"), os.path.join(ADAPTERS, "adhoc_query")),
              "metadata adapters.queries: %s" % queries_ad)

        # search applies adhoc_query: its scores are the cosines with that query vector
        query = "photon pairs at hadron colliders"
        rc, stdout, err = run(["search", out_dir, query, "-k", "5", "--json"])
        check(rc == 0 and "adhoc_query" in err, "search: exit %d: %s" % (rc, err))
        hits = json.loads(stdout) if rc == 0 else []
        q, _ = encode(tmp, [query], "--pooling", "cls", "--normalize", "--adapter",
                      os.path.join(ADAPTERS, "adhoc_query"))
        q_base, _ = encode(tmp, [query], "--pooling", "cls", "--normalize")
        if hits and q is not None:
            normed = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
            for h in hits:
                row = int(h["paper_id"][1:])
                want = float(normed[row] @ q[0])
                check(abs(h["score"] - want) <= 1e-4,
                      "search score %s: %g, cosine with the adhoc_query vector %g" % (h["paper_id"], h["score"], want))
            other = float(normed[int(hits[0]["paper_id"][1:])] @ q_base[0])
            check(abs(hits[0]["score"] - other) > 1e-3, "search scores do not depend on the adapter")

        # scivec serve applies the same recorded query adapter: /search equals `scivec search`
        from serve_util import Server
        from urllib.parse import quote
        server = Server(out_dir, "--threads", "1")
        try:
            status, served = server.json("GET", "/search?k=5&q=" + quote(query))
            check(status == 200, "serve /search: %s %s" % (status, served))
            got = served.get("results", served) if isinstance(served, dict) else served
            if status == 200 and hits:
                check([h["paper_id"] for h in got] == [h["paper_id"] for h in hits],
                      "serve /search ids %s vs search %s" % ([h["paper_id"] for h in got], [h["paper_id"] for h in hits]))
                check(all(abs(a["score"] - b["score"]) <= 1e-5 for a, b in zip(got, hits)),
                      "serve /search scores differ from search's (adapter not applied?)")
        finally:
            server.stop()

    # without --query-adapter, search uses the papers' adapter
    out_dir2 = os.path.join(tmp, "emb2")
    rc, _, err = run(["embed", papers_csv, "--model", MODEL, "--out", out_dir2, "--recipe",
                      "specter2", "--adapter", os.path.join(ADAPTERS, "prx-noprefix")])
    check(rc == 0, "embed 2: exit %d: %s" % (rc, err))
    if rc == 0:
        meta = json.load(open(os.path.join(out_dir2, "metadata.json")))
        check(meta["adapters"]["queries"] is None and meta["adapters"]["papers"]["name"] == "[PRX]",
              "metadata 2: %s" % meta.get("adapters"))
        query = "quantum chromodynamics"
        rc, stdout, err = run(["search", out_dir2, query, "-k", "3", "--json"])
        check(rc == 0 and "[PRX]" in err and "papers" in err, "search 2: exit %d: %s" % (rc, err))
        hits = json.loads(stdout) if rc == 0 else []
        q, _ = encode(tmp, [query], "--pooling", "cls", "--normalize", "--adapter",
                      os.path.join(ADAPTERS, "proximity"))
        vectors = np.load(os.path.join(out_dir2, "embeddings.npy"))
        for h in hits:
            want = float(vectors[int(h["paper_id"][1:])] @ q[0])
            check(abs(h["score"] - want) <= 1e-4, "search 2 score %s: %g vs %g" % (h["paper_id"], h["score"], want))

    # a plain embed records no adapters, and search runs the base model
    out_dir3 = os.path.join(tmp, "emb3")
    rc, _, err = run(["embed", papers_csv, "--model", MODEL, "--out", out_dir3])
    check(rc == 0, "embed 3: exit %d: %s" % (rc, err))
    if rc == 0:
        meta = json.load(open(os.path.join(out_dir3, "metadata.json")))
        check(meta["adapters"] == {"papers": None, "queries": None, "choice": "none (no --adapter)"},
              "metadata 3: %s" % meta.get("adapters"))
        rc, stdout, err = run(["search", out_dir3, "quantum", "-k", "1"])
        check(rc == 0 and "adapter" not in err, "search 3: exit %d: %s" % (rc, err))

    # ORG/NAME from the HF cache (offline): --adapter allenai/specter2, and recipe
    # specter2 on allenai/specter2_base picking the cached proximity adapter itself
    hub = os.path.join(tmp, "hub")
    for repo, src in (("allenai/specter2_base", MODEL),
                      ("allenai/specter2", os.path.join(ADAPTERS, "proximity")),
                      ("allenai/specter2_adhoc_query", os.path.join(ADAPTERS, "adhoc_query"))):
        folder = os.path.join(hub, "models--" + repo.replace("/", "--"))
        shutil.copytree(src, os.path.join(folder, "snapshots", "0123abcd"))
        # as AdapterHub records the base model the real adapters were trained on
        config_path = os.path.join(folder, "snapshots", "0123abcd", "adapter_config.json")
        if os.path.exists(config_path):
            with open(config_path) as f:
                config = json.load(f)
            config["model_name"] = "allenai/specter2_base"
            with open(config_path, "w") as f:
                json.dump(config, f)
        os.makedirs(os.path.join(folder, "refs"))
        with open(os.path.join(folder, "refs", "main"), "w") as f:
            f.write("0123abcd")
    env = dict(os.environ, HF_HUB_CACHE=hub, HF_HUB_OFFLINE="1")
    out = os.path.join(tmp, "hub.npy")
    p = subprocess.run([SCIVEC, "encode", "--model", "allenai/specter2_base", "--adapter",
                        "allenai/specter2", "--pooling", "cls", "--out", out],
                       input="".join(json.dumps({"text": t}) + "\n" for t in texts).encode(),
                       capture_output=True, timeout=300, env=env)
    check(p.returncode == 0, "encode --adapter allenai/specter2 from the cache: %s" % p.stderr.decode())
    if p.returncode == 0:
        diff = float(np.abs(np.load(out) - golden_cls).max())
        check(diff <= 1e-4, "cached allenai/specter2: max|diff| %g" % diff)
    out_dir4 = os.path.join(tmp, "emb4")
    p = subprocess.run([SCIVEC, "embed", papers_csv, "--model", "allenai/specter2_base", "--out",
                        out_dir4, "--recipe", "specter2", "--no-normalize"],
                       capture_output=True, timeout=300, env=env)
    err = p.stderr.decode()
    check(p.returncode == 0 and "allenai/specter2" in err, "embed recipe specter2 from the cache: %s" % err)
    if p.returncode == 0:
        meta = json.load(open(os.path.join(out_dir4, "metadata.json")))
        check((meta["adapters"]["papers"] or {}).get("ref") == "allenai/specter2" and
              (meta["adapters"]["queries"] or {}).get("ref") == "allenai/specter2_adhoc_query",
              "recipe specter2 adapters: %s" % meta["adapters"])
        diff = float(np.abs(np.load(os.path.join(out_dir4, "embeddings.npy")) - golden_pairs).max())
        check(diff <= 1e-4, "recipe specter2 with the cached adapter: max|diff| %g" % diff)
    # --adapter none: the base model, and stderr says so
    out_dir5 = os.path.join(tmp, "emb5")
    p = subprocess.run([SCIVEC, "embed", papers_csv, "--model", "allenai/specter2_base", "--out",
                        out_dir5, "--recipe", "specter2", "--adapter", "none"],
                       capture_output=True, timeout=300, env=env)
    check(p.returncode == 0 and "--adapter none" in p.stderr.decode(), "--adapter none: %s" % p.stderr.decode())
    if p.returncode == 0:
        meta = json.load(open(os.path.join(out_dir5, "metadata.json")))
        check(meta["adapters"]["papers"] is None and meta["adapters"]["queries"] is None and
              meta["adapters"]["choice"] == "none (--adapter none)",
              "--adapter none recorded %s" % meta["adapters"])
finally:
    shutil.rmtree(tmp, ignore_errors=True)

if failures:
    print("%d failures" % len(failures))
    sys.exit(1)
print("all adapter CLI checks passed")
