"""test_encode_cli.py - `scivec encode` end to end: JSON Lines in, a .npy that
numpy.load opens out, compared with HuggingFace's golden vectors.

Run by CTest with /usr/bin/python3 (numpy); env SCIVEC (the binary) and
SV_FIXTURES.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

SCIVEC = os.environ["SCIVEC"]
FIX = os.environ["SV_FIXTURES"]
MODEL = os.path.join(FIX, "models", "tiny-scibert")
GOLDEN = os.path.join(FIX, "golden", "tiny-scibert")

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, file=sys.stderr)


def run(args, stdin_text):
    return subprocess.run([SCIVEC, "encode"] + args, input=stdin_text.encode(),
                          capture_output=True, timeout=300)


def jsonl(texts, pairs=None):
    lines = []
    for i, t in enumerate(texts):
        obj = {"text": t}
        if pairs is not None and pairs[i] is not None:
            obj["text_pair"] = pairs[i]
        lines.append(json.dumps(obj))
    return "\n".join(lines) + "\n"


# golden rows: line i of tokens.jsonl = row i of embeddings_*.npy
rows = [json.loads(l) for l in open(os.path.join(FIX, "golden", "tokens.jsonl"), encoding="utf-8")]
picked = [i for i, r in enumerate(rows)
          if r["id"] in ("edge-empty", "edge-ascii-simple", "edge-accents-1", "edge-cjk-mixed-latin",
                         "edge-very-long-text", "abs-0704.0001", "abs-0704.0002")]
picked += [i for i, r in enumerate(rows) if r["id"].startswith("abs-")][5:25]
texts = [rows[i]["text"] for i in picked]
check(len(picked) >= 25, "picked %d golden texts" % len(picked))

with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "x.npy")

    # --pooling cls and mean against the golden rows
    for pooling in ("cls", "mean", "pooler"):
        p = run(["--model", MODEL, "--pooling", pooling, "--out", out], jsonl(texts))
        err = p.stderr.decode()
        check(p.returncode == 0, "%s: exit %d: %s" % (pooling, p.returncode, err))
        if p.returncode != 0:
            continue
        check("pooling: %s (--pooling)" % pooling in err, "%s: stderr names the pooling: %r" % (pooling, err))
        check("truncated: 1" in err, "%s: one truncated input (edge-very-long-text): %r" % (pooling, err))
        got = np.load(out)
        golden = np.load(os.path.join(GOLDEN, "embeddings_%s.npy" % pooling))[picked]
        check(got.dtype == np.float32 and got.shape == golden.shape,
              "%s: shape %s dtype %s" % (pooling, got.shape, got.dtype))
        if got.shape == golden.shape:
            diff = float(np.abs(got - golden).max())
            print("encode --pooling %-6s %d texts: max abs diff %.2e" % (pooling, len(texts), diff))
            check(diff <= 1e-4, "%s: max abs diff %g" % (pooling, diff))
        check(not os.path.exists(out + ".tmp"), "temporary file left behind")

    # the default pooling: mean, and stderr says why
    p = run(["--model", MODEL, "--out", out, "--threads", "1", "--batch-tokens", "64"], jsonl(texts))
    err = p.stderr.decode()
    check(p.returncode == 0, "default: %s" % err)
    check("pooling: mean (sentence-transformers default)" in err, "default reason: %r" % err)
    if p.returncode == 0:
        golden = np.load(os.path.join(GOLDEN, "embeddings_mean.npy"))[picked]
        diff = float(np.abs(np.load(out) - golden).max())
        check(diff <= 1e-4, "default mean, 1 thread, 64-token batches: %g" % diff)

    # --normalize: unit norms, same direction as the golden rows
    p = run(["--model", MODEL, "--pooling", "cls", "--normalize", "--out", out], jsonl(texts))
    check(p.returncode == 0, "normalize: %s" % p.stderr.decode())
    if p.returncode == 0:
        got = np.load(out)
        norms = np.linalg.norm(got, axis=1)
        check(np.abs(norms - 1).max() < 1e-5, "norms %s" % norms)
        golden = np.load(os.path.join(GOLDEN, "embeddings_cls.npy"))[picked]
        golden = golden / np.linalg.norm(golden, axis=1, keepdims=True)
        check(np.abs(got - golden).max() < 1e-4, "normalized vs golden")

    # pairs: title + abstract as text / text_pair
    pair_rows = [json.loads(l) for l in open(os.path.join(FIX, "golden", "tokens_pair.jsonl"), encoding="utf-8")][:8]
    p = run(["--model", MODEL, "--pooling", "cls", "--out", out],
            jsonl([r["title"] for r in pair_rows], [r["abstract"] for r in pair_rows]))
    check(p.returncode == 0, "pairs: %s" % p.stderr.decode())
    if p.returncode == 0:
        golden = np.load(os.path.join(GOLDEN, "pairs_pair_embeddings_cls.npy"))[:8]
        diff = float(np.abs(np.load(out) - golden).max())
        print("encode text_pair cls 8 pairs: max abs diff %.2e" % diff)
        check(diff <= 1e-4, "pairs: %g" % diff)

    # --max-length cuts: the very long text to 16 tokens counts as truncated
    p = run(["--model", MODEL, "--max-length", "16", "--out", out], jsonl(texts[:3]))
    check(p.returncode == 0 and "max length 16" in p.stderr.decode(), "max-length: %s" % p.stderr.decode())

    # empty input: a valid [0, hidden] array
    p = run(["--model", MODEL, "--out", out], "")
    check(p.returncode == 0, "empty input: %s" % p.stderr.decode())
    if p.returncode == 0:
        check(np.load(out).shape == (0, 64), "empty input shape %s" % (np.load(out).shape,))

    # failures: one line on stderr, non-zero exit, no output file (not even .tmp)
    bad = os.path.join(tmp, "bad.npy")
    cases = [
        (["--model", os.path.join(tmp, "no-such-model"), "--out", bad], jsonl(texts), "bad model path"),
        (["--model", MODEL, "--out", bad], jsonl(texts) + "not json\n", "bad JSON line"),
        (["--model", MODEL, "--out", bad], '{"title": "x"}\n', "no text"),
        (["--model", MODEL, "--out", bad, "--pooling", "avg"], jsonl(texts), "bad pooling"),
        (["--model", MODEL, "--out", bad, "--threads", "-1"], jsonl(texts), "bad threads"),
        (["--model", MODEL], jsonl(texts), "no --out"),
        (["--model", os.path.join(FIX, "hf-produced", "camphr-ner-bert-tf4.8.2"), "--out", bad],
         jsonl(texts), "vocab larger than the embedding"),
        (["--model", MODEL, "--out", os.path.join(tmp, "no-dir", "x.npy")], jsonl(texts), "unwritable out"),
    ]
    for args, stdin_text, what in cases:
        p = run(args, stdin_text)
        err = p.stderr.decode().strip()
        check(p.returncode != 0, "%s: exit 0" % what)
        last = err.splitlines()[-1] if err else ""
        check(last.startswith("scivec encode:") and len(last) > 20, "%s: error line %r" % (what, err))
        check(not os.path.exists(bad) and not os.path.exists(bad + ".tmp"), "%s: output left behind" % what)
    p = run(["--model", os.path.join(tmp, "no-such-model"), "--out", bad], jsonl(texts))
    check(len(p.stderr.decode().strip().splitlines()) == 1, "bad model: exactly one line: %r" % p.stderr.decode())
    p = run(["--model", os.path.join(FIX, "hf-produced", "camphr-ner-bert-tf4.8.2"), "--out", bad], jsonl(texts))
    check("405" in p.stderr.decode() and "402" in p.stderr.decode(), "camphr message: %r" % p.stderr.decode())

    # an existing output survives a failed run untouched
    with open(bad, "wb") as f:
        f.write(b"keep")
    run(["--model", MODEL, "--out", bad], jsonl(texts) + "not json\n")
    check(open(bad, "rb").read() == b"keep", "a failed run replaced an existing output")

if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
print("all passed")
