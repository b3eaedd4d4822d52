"""test_st_modules.py - sentence-transformers folders as sentence-transformers
3.x runs them, built around tests/fixtures/models/tiny-scibert.

The expected vectors come from HuggingFace's last hidden states
(tests/fixtures/golden/tiny-scibert/last_hidden_state_*.npy, made by
transformers) and the formulas of sentence-transformers' own source:
models/Pooling.py (cls = h[0]; mean = sum / n; max; mean_sqrt_len_tokens =
sum / sqrt(n); weightedmean = sum_t (t+1) h[t] / sum_t (t+1); lasttoken =
h[n-1], all with an all-ones attention mask), models/Dense.py
(activation(W x + b), W [out, in], the activation saved by class name),
models/Normalize.py (F.normalize), SentenceTransformer.encode (prompt +
text, tokenized together: the prompt's tokens count against
max_seq_length). Never from scivec's own output of the same path: where a
forward of a changed text is needed, the comparison is with the plain
folder on the text sentence-transformers would build.

Also: a module scivec cannot run and an unknown activation are refused by
name; several pooling modes refuse the default; do_lower_case with a cased
tokenizer is refused; prompts recorded by embed drive `scivec search`; the
fake hub serves an ST repo and its Dense weights are downloaded.

Run by CTest with /usr/bin/python3 (numpy); env SCIVEC, SV_FIXTURES, SV_TESTS.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

from hub_util import Hub, scivec_env
from testlib import SCIVEC, FIX, MODEL, check, report

GOLDEN = os.path.join(FIX, "golden", "tiny-scibert")
ROWS = {json.loads(l)["id"]: json.loads(l)
        for l in open(os.path.join(FIX, "golden", "tokens.jsonl"), encoding="utf-8")}
IDS = ["abs-0704.0001", "edge-ascii-simple"]
H = [np.load(os.path.join(GOLDEN, "last_hidden_state_%s.npy" % i)).astype(np.float64) for i in IDS]
TEXTS = [ROWS[i]["text"] for i in IDS]
MODES = ["cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens",
         "weightedmean_tokens", "lasttoken"]


def pool(h, mode):
    n = h.shape[0]
    if mode == "cls_token":
        return h[0]
    if mode == "mean_tokens":
        return h.sum(0) / n
    if mode == "max_tokens":
        return h.max(0)
    if mode == "mean_sqrt_len_tokens":
        return h.sum(0) / np.sqrt(n)
    if mode == "weightedmean_tokens":
        w = np.arange(1, n + 1, dtype=np.float64)[:, None]
        return (h * w).sum(0) / w.sum()
    if mode == "lasttoken":
        return h[n - 1]
    raise ValueError(mode)


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def st_folder(path, modes=("mean_tokens",), dense=(), normalize=False, bert_config=None,
              st_config=None, extra_module=None, include_prompt=None):
    """tiny-scibert as an ST folder: Transformer, Pooling, Dense..., Normalize."""
    shutil.copytree(MODEL, path)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]
    os.makedirs(os.path.join(path, "1_Pooling"))
    pooling = {"word_embedding_dimension": 64}
    pooling.update({"pooling_mode_" + m: m in modes for m in MODES})
    if include_prompt is not None:
        pooling["include_prompt"] = include_prompt
    json.dump(pooling, open(os.path.join(path, "1_Pooling", "config.json"), "w"))
    modules.append({"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"})
    for k, (w, b, act) in enumerate(dense):
        folder = "%d_Dense" % (2 + k)
        os.makedirs(os.path.join(path, folder))
        json.dump({"in_features": w.shape[1], "out_features": w.shape[0], "bias": b is not None,
                   "activation_function": act}, open(os.path.join(path, folder, "config.json"), "w"))
        tensors = {"linear.weight": w}
        if b is not None:
            tensors["linear.bias"] = b
        write_safetensors(os.path.join(path, folder, "model.safetensors"), tensors)
        modules.append({"idx": len(modules), "name": str(len(modules)), "path": folder,
                        "type": "sentence_transformers.models.Dense"})
    if extra_module:
        modules.append(dict(extra_module, idx=len(modules), name=str(len(modules))))
    if normalize:
        modules.append({"idx": len(modules), "name": str(len(modules)), "path": "%d_Normalize" % len(modules),
                        "type": "sentence_transformers.models.Normalize"})
    json.dump(modules, open(os.path.join(path, "modules.json"), "w"))
    if bert_config is not None:
        json.dump(bert_config, open(os.path.join(path, "sentence_bert_config.json"), "w"))
    if st_config is not None:
        json.dump(st_config, open(os.path.join(path, "config_sentence_transformers.json"), "w"))
    return path


def encode(model, texts, *args, env=None):
    out = os.path.join(tmp, "enc.npy")
    if os.path.exists(out):
        os.remove(out)
    lines = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    p = subprocess.run([SCIVEC, "encode", "--model", model, "--out", out] + list(args),
                       input=lines.encode(), capture_output=True, timeout=300, env=env)
    err = p.stderr.decode()
    check("Sanitizer" not in err and "runtime error" not in err, "sanitizer: %s" % err)
    return (np.load(out) if p.returncode == 0 else None), p.returncode, err


def close(got, want, what, tol=1e-4):
    if got is None:
        check(False, "%s: no output" % what)
        return
    diff = float(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64)).max())
    check(got.shape == np.asarray(want).shape and diff <= tol,
          "%s: shape %s vs %s, max|diff| %g" % (what, got.shape, np.asarray(want).shape, diff))


tmp = tempfile.mkdtemp(prefix="scivec-st-")
hub = None
try:
    rng = np.random.default_rng(15)

    # every pooling mode of 1_Pooling, as the folder's default
    for mode in MODES:
        folder = st_folder(os.path.join(tmp, "pool-" + mode), modes=(mode,))
        got, rc, err = encode(folder, TEXTS)
        close(got, np.stack([pool(h, mode) for h in H]), "1_Pooling %s" % mode)
    # several modes concatenate in sentence-transformers: the default refuses, naming them
    folder = st_folder(os.path.join(tmp, "pool-two"), modes=("cls_token", "mean_tokens"))
    got, rc, err = encode(folder, TEXTS)
    check(rc != 0 and "pooling_mode_cls_token" in err and "pooling_mode_mean_tokens" in err,
          "two pooling modes: %d %s" % (rc, err))
    got, rc, err = encode(folder, TEXTS, "--pooling", "weightedmean")
    close(got, np.stack([pool(h, "weightedmean_tokens") for h in H]), "--pooling weightedmean")

    # Normalize: unit vectors whether or not --normalize is asked
    folder = st_folder(os.path.join(tmp, "norm"), normalize=True)
    mean = np.stack([pool(h, "mean_tokens") for h in H])
    got, rc, err = encode(folder, TEXTS)
    close(got, mean / np.linalg.norm(mean, axis=1, keepdims=True), "Normalize module")

    # Dense (tanh, with bias) -> Dense (identity, no bias) -> Normalize
    w1 = rng.standard_normal((16, 64)).astype(np.float32) * 0.2
    b1 = rng.standard_normal(16).astype(np.float32) * 0.1
    w2 = rng.standard_normal((8, 16)).astype(np.float32) * 0.3
    folder = st_folder(os.path.join(tmp, "dense"), modes=("cls_token",),
                       dense=[(w1, b1, "torch.nn.modules.activation.Tanh"),
                              (w2, None, "torch.nn.modules.linear.Identity")], normalize=True)
    cls = np.stack([pool(h, "cls_token") for h in H])
    y = np.tanh(cls @ w1.T.astype(np.float64) + b1) @ w2.T.astype(np.float64)
    got, rc, err = encode(folder, TEXTS)
    close(got, y / np.linalg.norm(y, axis=1, keepdims=True), "Dense tanh -> Dense identity -> Normalize")
    for act, fn in (("torch.nn.modules.activation.ReLU", lambda x: np.maximum(x, 0)),
                    ("torch.nn.modules.activation.Sigmoid", lambda x: 1 / (1 + np.exp(-x)))):
        folder = st_folder(os.path.join(tmp, "dense-" + act.rsplit(".", 1)[1]),
                           dense=[(w1, b1, act)])
        got, rc, err = encode(folder, TEXTS)
        close(got, fn(mean @ w1.T.astype(np.float64) + b1), "Dense %s" % act)
    folder = st_folder(os.path.join(tmp, "dense-softplus"),
                       dense=[(w1, b1, "torch.nn.modules.activation.Softplus")])
    got, rc, err = encode(folder, TEXTS)
    check(rc != 0 and "Softplus" in err and len(err.strip().splitlines()) == 1,
          "unknown activation: %d %s" % (rc, err))

    # a module scivec cannot run: refused by name, never skipped
    folder = st_folder(os.path.join(tmp, "layernorm"), extra_module={
        "path": "2_LayerNorm", "type": "sentence_transformers.models.LayerNorm"})
    got, rc, err = encode(folder, TEXTS)
    check(rc != 0 and "LayerNorm" in err and len(err.strip().splitlines()) == 1,
          "unknown module: %d %s" % (rc, err))

    # sentence_bert_config.json: max_seq_length truncates like --max-length on the plain folder
    folder = st_folder(os.path.join(tmp, "maxlen"), bert_config={"max_seq_length": 8,
                                                                  "do_lower_case": True})
    got, rc, err = encode(folder, TEXTS)
    want, _, _ = encode(MODEL, TEXTS, "--pooling", "mean", "--max-length", "8")
    check(rc == 0 and "max length 8" in err, "max_seq_length 8: %d %s" % (rc, err))
    if want is not None:
        close(got, want, "max_seq_length 8 = --max-length 8", tol=0)
        check(float(np.abs(want[0] - mean[0]).max()) > 1e-3, "max_seq_length did not truncate")
    # do_lower_case with a tokenizer that keeps case: refused by name
    folder = st_folder(os.path.join(tmp, "cased"), bert_config={"do_lower_case": True})
    cfg_path = os.path.join(folder, "tokenizer_config.json")
    cfg = json.load(open(cfg_path))
    cfg["do_lower_case"] = False
    json.dump(cfg, open(cfg_path, "w"))
    got, rc, err = encode(folder, TEXTS)
    check(rc != 0 and "do_lower_case" in err, "do_lower_case with a cased tokenizer: %d %s" % (rc, err))

    # prompts: the default prompt goes before each text, its tokens count against max_seq_length
    prompts = {"prompts": {"query": "query: ", "passage": ""}, "default_prompt_name": "query"}
    folder = st_folder(os.path.join(tmp, "prompts"), st_config=prompts)
    got, rc, err = encode(folder, TEXTS)
    want, _, _ = encode(MODEL, ["query: " + t for t in TEXTS], "--pooling", "mean")
    if want is not None:
        close(got, want, "default prompt = plain folder on 'query: ' + text", tol=0)
        check(float(np.abs(want - mean).max()) > 1e-3, "the prompt changed nothing")
    got, rc, err = encode(folder, TEXTS, "--prompt", "passage")
    close(got, mean, "--prompt passage (empty)")
    got, rc, err = encode(folder, TEXTS, "--prompt", "nope")
    check(rc != 0 and "nope" in err and "query" in err and "passage" in err,
          "unknown prompt: %d %s" % (rc, err))
    folder_short = st_folder(os.path.join(tmp, "prompts-short"), st_config=prompts,
                             bert_config={"max_seq_length": 8})
    got, rc, err = encode(folder_short, TEXTS)
    want, _, _ = encode(MODEL, ["query: " + t for t in TEXTS], "--pooling", "mean",
                        "--max-length", "8")
    if want is not None:
        close(got, want, "prompt tokens count against max_seq_length", tol=0)
    folder = st_folder(os.path.join(tmp, "no-include"), st_config=prompts, include_prompt=False)
    got, rc, err = encode(folder, TEXTS)
    check(rc != 0 and "include_prompt" in err, "include_prompt false: %d %s" % (rc, err))

    # embed records the prompts; search embeds the query with the queries' one
    folder = os.path.join(tmp, "prompts")
    papers = os.path.join(tmp, "papers.csv")
    with open(papers, "w", encoding="utf-8") as f:
        f.write("paper_id,title,abstract\n")
        for i, r in enumerate([r for k, r in ROWS.items() if k.startswith("abs-")][:12]):
            f.write('p%d,"t","%s"\n' % (i, r["text"].replace('"', '""')))
    out = os.path.join(tmp, "out")
    p = subprocess.run([SCIVEC, "embed", papers, "--model", folder, "--out", out, "--prompt",
                        "passage", "--query-prompt", "query"], capture_output=True, timeout=300)
    check(p.returncode == 0, "embed with prompts: %s" % p.stderr.decode())
    if p.returncode == 0:
        meta = json.load(open(os.path.join(out, "metadata.json")))
        check(meta.get("prompts") == {"papers": {"name": "passage", "text": ""},
                                      "queries": {"name": "query", "text": "query: "}},
              "metadata prompts %s" % meta.get("prompts"))
        q = "quark gluon plasma"
        p = subprocess.run([SCIVEC, "search", out, q, "-k", "3", "--json"], capture_output=True,
                           timeout=300)
        hits = json.loads(p.stdout) if p.returncode == 0 else []
        want, _, _ = encode(MODEL, ["query: " + q], "--pooling", "mean", "--normalize")
        vecs = np.load(os.path.join(out, "embeddings.npy"))
        check(len(hits) == 3, "search with prompts: %s" % p.stderr.decode())
        for h in hits:
            check(want is not None and abs(h["score"] - float(vecs[int(h["paper_id"][1:])] @ want[0])) <= 1e-5,
                  "search score %s with the query prompt" % h)

    # the hub: an ST repo with Dense downloads the module's weights and prompts
    repo_dir = st_folder(os.path.join(tmp, "hub-repo"), modes=("cls_token",),
                         dense=[(w1, b1, "torch.nn.modules.activation.Tanh")], st_config=prompts)
    hub = Hub({"test-org/tiny-st-dense": repo_dir})
    env = scivec_env(os.path.join(tmp, "cache"), hub.url)
    got, rc, err = encode("test-org/tiny-st-dense", TEXTS, "--prompt", "passage", env=env)
    close(got, np.tanh(cls @ w1.T.astype(np.float64) + b1), "Dense from the hub")
finally:
    if hub:
        hub.stop()
    shutil.rmtree(tmp, ignore_errors=True)

sys.exit(report("test_st_modules"))
