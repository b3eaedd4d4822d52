"""test_hub.py - models from the HuggingFace hub: `scivec fetch` and
`--model ORG/NAME` against tests/fake_hub.py on loopback (the hub's URL
layout, headers and CDN redirects), checking the cache is laid out exactly
as huggingface_hub lays it out, and the failure modes: hub unreachable,
offline, resume after a cut, corrupted bytes, 401 and 404, disk full.

Run by CTest with /usr/bin/python3 (numpy); env SCIVEC, SV_FIXTURES, SV_TESTS.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import hub_util
from hub_util import free_port, scivec_env

SCIVEC = os.environ["SCIVEC"]
FIX = os.environ["SV_FIXTURES"]
MODEL = os.path.join(FIX, "models", "tiny-scibert")
ADAPTER = os.path.join(FIX, "models", "tiny-scibert-adapters", "proximity")
REPO = "test-org/tiny-scibert"

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, file=sys.stderr)
    return cond


# --- the fake hub ------------------------------------------------------------



def make_sharded_st_repo(folder):
    """tiny-scibert as a sentence-transformers repo with sharded safetensors
    (split with the format's own rules: u64 header size, JSON header, data),
    CLS pooling in 1_Pooling/, and files scivec must not fetch."""
    os.makedirs(os.path.join(folder, "1_Pooling"))
    for name in ("config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
                 "pytorch_model.bin"):
        with open(os.path.join(MODEL, name), "rb") as src, open(os.path.join(folder, name), "wb") as dst:
            dst.write(src.read())
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write("# not needed\n")
    with open(os.path.join(folder, "flax_model.msgpack"), "wb") as f:
        f.write(b"\0" * 100)
    with open(os.path.join(folder, "modules.json"), "w") as f:
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}], f)
    with open(os.path.join(folder, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": 64, "pooling_mode_cls_token": True,
                   "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": False,
                   "pooling_mode_mean_sqrt_len_tokens": False}, f)
    blob = open(os.path.join(MODEL, "model.safetensors"), "rb").read()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    names = sorted(k for k in header if k != "__metadata__")
    shards = [names[:len(names) // 2], names[len(names) // 2:]]
    weight_map = {}
    for i, part in enumerate(shards):
        shard = "model-%05d-of-%05d.safetensors" % (i + 1, len(shards))
        h, chunks, offset = {"__metadata__": {"format": "pt"}}, [], 0
        for name in part:
            b, e = header[name]["data_offsets"]
            h[name] = dict(header[name], data_offsets=[offset, offset + e - b])
            chunks.append(data[b:e])
            offset += e - b
            weight_map[name] = shard
        hb = json.dumps(h).encode()
        hb += b" " * (-len(hb) % 8)
        with open(os.path.join(folder, shard), "wb") as f:
            f.write(len(hb).to_bytes(8, "little") + hb + b"".join(chunks))
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": len(data)}, "weight_map": weight_map}, f)


SHARDED_DIR = tempfile.mkdtemp(prefix="sv_hub_sharded_")
make_sharded_st_repo(os.path.join(SHARDED_DIR, "repo"))
SHARDED = os.path.join(SHARDED_DIR, "repo")


def Hub():
    return hub_util.Hub({REPO: MODEL, "test-org/tiny-adapter": ADAPTER,
                         "test-org/tiny-st-sharded": SHARDED,
                         "test-org/tiny-legacy": os.path.join(FIX, "models", "tiny-scibert-legacy")})


def run(args, env, stdin=b""):
    p = subprocess.run([SCIVEC] + args, input=stdin, capture_output=True, env=env, timeout=120)
    err = p.stderr.decode()
    # failure paths too must be clean when built with SCIVEC_SANITIZE
    check("Sanitizer" not in err and "runtime error" not in err, "%s: %s" % (args, err[-3000:]))
    return p.returncode, p.stdout.decode(), err


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def git_blob_sha1(path):
    with open(path, "rb") as f:
        data = f.read()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def final_files(dirpath):
    out = []
    for root, _, names in os.walk(dirpath):
        out += [os.path.join(root, n) for n in names]
    return out


def check_layout(cache, repo_folder, want_files, revision="main", src_dir=None):
    """The tree huggingface_hub writes: refs/<rev> = commit, snapshot entries
    as relative links to ../../blobs/<etag>, etag = sha256 for LFS files, git
    blob sha1 for small ones. Returns the snapshot folder."""
    root = os.path.join(cache, repo_folder)
    ref = os.path.join(root, "refs", revision)
    check(os.path.isfile(ref), "refs/%s exists" % revision)
    commit = open(ref).read() if os.path.isfile(ref) else ""
    check(len(commit) == 40 and all(c in "0123456789abcdef" for c in commit),
          "refs/%s holds a bare commit hash: %r" % (revision, commit))
    snap = os.path.join(root, "snapshots", commit)
    got = sorted(os.path.relpath(p, snap) for p in final_files(snap))
    check(got == sorted(want_files), "snapshot files %s, want %s" % (got, sorted(want_files)))
    for rel in got:
        link = os.path.join(snap, rel)
        check(os.path.islink(link), "%s is a symlink" % rel)
        target = os.readlink(link)
        src = os.path.join(src_dir or (MODEL if repo_folder.endswith("tiny-scibert") else ADAPTER), rel)
        lfs = rel.endswith((".safetensors", ".bin"))
        etag = sha256_of(src) if lfs else git_blob_sha1(src)
        depth = rel.count("/")
        check(target == "../" * (2 + depth) + "blobs/" + etag,
              "%s -> %s (want relative ../../blobs/%s)" % (rel, target, etag))
        check(open(link, "rb").read() == open(src, "rb").read(), "%s has the fixture's bytes" % rel)
    blobs = os.listdir(os.path.join(root, "blobs"))
    check(not [b for b in blobs if b.endswith(".incomplete")], "no .incomplete left: %s" % blobs)
    check(len(blobs) == len(want_files), "one blob per file: %s" % blobs)
    return snap


def encode(model, env):
    texts = ["Attention is all you need", "Deep residual learning for image recognition",
             "The ribosome: structure and function"]
    stdin = "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "x.npy")
        rc, _, err = run(["encode", "--model", model, "--pooling", "cls", "--out", out], env, stdin)
        if not check(rc == 0, "encode --model %s: exit %d: %s" % (model, rc, err)):
            return None
        return np.load(out)


MODEL_FILES = ["config.json", "model.safetensors", "special_tokens_map.json",
               "tokenizer_config.json", "vocab.txt"]
FOLDER = "models--test-org--tiny-scibert"

hub = Hub()
try:
    with tempfile.TemporaryDirectory() as tmp:
        # --- first download, then encode through the cache -------------------
        cache = os.path.join(tmp, "cache")
        env = scivec_env(cache, hub.url)
        rc, out, err = run(["fetch", REPO], env)
        check(rc == 0, "fetch: exit %d: %s" % (rc, err))
        snap = check_layout(cache, FOLDER, MODEL_FILES)
        check(out.strip() == snap, "fetch prints the snapshot folder: %r vs %r" % (out, snap))
        log = hub.log()
        paths = [e["path"] for e in log]
        check(not any("pytorch_model.bin" in p for p in paths),
              "pytorch_model.bin not fetched when model.safetensors exists")
        check(any(e["method"] == "GET" and e["path"].startswith("/cdn/") for e in log),
              "the weights came through the CDN redirect: %s" % paths)
        check(any(e["method"] == "HEAD" and e["path"].endswith("/resolve/%s/model.safetensors"
                                                                % os.path.basename(snap))
                  for e in log), "HEAD on resolve/<commit>/model.safetensors: %s" % paths)
        check(len(os.listdir(os.path.join(cache, ".locks", FOLDER))) >= 1,
              "lock files under .locks/ as huggingface_hub keeps them")

        direct = encode(MODEL, env)
        via_hub = encode(REPO, env)
        if direct is not None and via_hub is not None:
            check(np.array_equal(direct, via_hub), "encode via the cache equals the folder itself")
        n_before = len(hub.log())
        encode(REPO, env)
        check(len(hub.log()) == n_before, "a cached model makes no request: %s" % hub.log()[n_before:])

        # fetch again: asks the hub for the commit, downloads nothing
        hub.reset()
        rc, out2, err = run(["fetch", REPO], env)
        check(rc == 0 and out2 == out, "second fetch: %d %s %s" % (rc, out2, err))
        check([e["path"] for e in hub.log()] == ["/api/models/%s/revision/main" % REPO],
              "second fetch only asks for the revision: %s" % hub.log())

        # a tag and a pinned commit resolve to the same snapshot
        commit = os.path.basename(snap)
        rc, out3, err = run(["fetch", REPO + "@v1.0"], env)
        check(rc == 0 and out3 == out, "fetch @v1.0: %s %s" % (out3, err))
        check(open(os.path.join(cache, FOLDER, "refs", "v1.0")).read() == commit, "refs/v1.0")
        rc, out4, err = run(["fetch", REPO + "@" + commit], env)
        check(rc == 0 and out4 == out, "fetch @commit: %s %s" % (out4, err))
        check(not os.path.exists(os.path.join(cache, FOLDER, "refs", commit)),
              "no ref file for a commit (huggingface_hub writes none)")

        # an adapter repo through the same resolver
        rc, out5, err = run(["fetch", "test-org/tiny-adapter"], env)
        check(rc == 0, "fetch adapter: %s" % err)
        check_layout(cache, "models--test-org--tiny-adapter",
                     ["adapter_config.json", "pytorch_adapter.bin"])

        # sentence-transformers + sharded safetensors: the index's shards and
        # the Pooling module's config (a nested link), nothing else
        rc, out_st, err = run(["fetch", "test-org/tiny-st-sharded"], env)
        check(rc == 0, "fetch sharded: %s" % err)
        check_layout(cache, "models--test-org--tiny-st-sharded",
                     ["config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
                      "modules.json", "1_Pooling/config.json", "model.safetensors.index.json",
                      "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"],
                     src_dir=SHARDED)
        texts = [json.dumps({"text": t}) + "\n" for t in ("Graph neural networks", "Protein folding")]
        outs = {}
        for name, model, pool in (("direct", MODEL, ["--pooling", "cls"]),
                                  ("st", "test-org/tiny-st-sharded", [])):
            path = os.path.join(tmp, name + ".npy")
            rc, _, err = run(["encode", "--model", model, "--out", path] + pool, env,
                             "".join(texts).encode())
            check(rc == 0, "encode %s: %s" % (model, err))
            outs[name] = np.load(path) if rc == 0 else None
        if outs["direct"] is not None and outs["st"] is not None:
            check(np.array_equal(outs["direct"], outs["st"]),
                  "sharded sentence-transformers repo (its CLS pooling) equals the folder with --pooling cls")

        # no safetensors: pytorch_model.bin (here a legacy-format one)
        legacy_dir = os.path.join(FIX, "models", "tiny-scibert-legacy")
        rc, _, err = run(["fetch", "test-org/tiny-legacy"], env)
        check(rc == 0, "fetch legacy: %s" % err)
        check_layout(cache, "models--test-org--tiny-legacy", sorted(os.listdir(legacy_dir)),
                     src_dir=legacy_dir)
        legacy = encode("test-org/tiny-legacy", env)
        if direct is not None and legacy is not None:
            check(np.abs(direct - legacy).max() < 1e-5, "legacy .bin via the hub encodes as the folder")

        # --- the hub gone: offline and unreachable ---------------------------
        hub.stop()
        off_env = dict(env, HF_HUB_OFFLINE="1")
        offline = encode(REPO, off_env)
        if direct is not None and offline is not None:
            check(np.array_equal(direct, offline), "HF_HUB_OFFLINE=1 encodes from the cache")
        rc, out6, err = run(["fetch", REPO, "--offline"], env)
        check(rc == 0 and out6 == out, "fetch --offline with the hub stopped: %d %s" % (rc, err))
        rc, _, err = run(["fetch", "test-org/missing", "--offline"], env)
        check(rc != 0 and "is neither a directory nor in the HuggingFace cache" in err
              and "HF_HUB_OFFLINE" in err, "offline miss message: %s" % err)
        # cached model, hub unreachable, not offline: the cache answers
        dead = "http://127.0.0.1:%d" % free_port()
        offline = encode(REPO, scivec_env(cache, dead))
        check(offline is not None, "cached model used while the hub is unreachable")
        rc, _, err = run(["fetch", REPO], scivec_env(os.path.join(tmp, "empty"), dead))
        check(rc != 0 and "cannot reach the hub at " + dead in err
              and "to work offline copy the model folder and pass its path" in err,
              "unreachable hub message: %s" % err)
        check(err.count("\n") == 1, "one line: %r" % err)
        rc, _, err = run(["encode", "--model", "test-org/missing", "--out", os.path.join(tmp, "m.npy")],
                         scivec_env(os.path.join(tmp, "empty"), dead), b'{"text": "x"}\n')
        check(rc != 0 and "cannot reach the hub" in err, "encode with an unreachable hub: %s" % err)

    hub = Hub()
    with tempfile.TemporaryDirectory() as tmp:
        blob_name = sha256_of(os.path.join(MODEL, "model.safetensors"))
        size = os.path.getsize(os.path.join(MODEL, "model.safetensors"))

        # --- main moves to a new commit with the same files ------------------
        cache = os.path.join(tmp, "moved")
        env = scivec_env(cache, hub.url)
        rc, out, err = run(["fetch", REPO], env)
        check(rc == 0, "fetch before the move: %s" % err)
        hub.reset()
        hub.control(salt="next")
        check(encode(REPO, env) is not None and hub.log() == [],
              "--model uses the cached snapshot without asking: %s" % hub.log())
        rc, out2, err = run(["fetch", REPO], env)
        check(rc == 0 and out2 != out, "fetch follows main to the new commit: %s %s" % (out2, err))
        check(os.path.isdir(out.strip()), "the old snapshot stays")
        check(not [e for e in hub.log() if e["method"] == "GET" and "/api/" not in e["path"]],
              "no file downloaded again: %s" % hub.log())
        new_snap = check_layout(cache, FOLDER, MODEL_FILES)
        check(new_snap == out2.strip(), "refs/main names the new commit")
        hub.reset()

        # --- two processes fetching at once: each blob downloaded once --------
        cache = os.path.join(tmp, "twice")
        env = scivec_env(cache, hub.url)
        hub.control(slow=0.05)
        procs = [subprocess.Popen([SCIVEC, "fetch", REPO], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _ in range(2)]
        results = [p.communicate(timeout=120) for p in procs]
        check(all(p.returncode == 0 for p in procs) and results[0][0] == results[1][0],
              "two concurrent fetches: %s" % [(p.returncode, r[1].decode()) for p, r in zip(procs, results)])
        check_layout(cache, FOLDER, MODEL_FILES)
        cdn_gets = [e for e in hub.log() if e["method"] == "GET" and e["path"].startswith("/cdn/")]
        check(len(cdn_gets) == 1, "the weights downloaded once: %d" % len(cdn_gets))
        hub.reset()

        # --- a cut transfer is resumed in the same run -----------------------
        cache = os.path.join(tmp, "cut1")
        env = scivec_env(cache, hub.url)
        hub.control(cut_after=1000000, cut_times=1)
        rc, out, err = run(["fetch", REPO], env)
        check(rc == 0, "fetch after one cut: %s" % err)
        check_layout(cache, FOLDER, MODEL_FILES)
        ranges = [e["range"] for e in hub.log() if e["path"].startswith("/cdn/")]
        check(ranges == [None, "bytes=1000000-"], "resumed with a Range: %s" % ranges)

        # --- cut more often than one run retries: a later run resumes --------
        hub.reset()
        cache = os.path.join(tmp, "cut2")
        env = scivec_env(cache, hub.url)
        hub.control(cut_after=700000, cut_times=100)
        rc, out, err = run(["fetch", REPO], env)
        blobs = os.path.join(cache, FOLDER, "blobs")
        check(rc != 0 and "run again to resume" in err, "fetch cut every time fails: %s" % err)
        check(not os.path.exists(os.path.join(blobs, blob_name)), "no final blob after cuts")
        partial = os.path.join(blobs, blob_name + ".incomplete")
        held = os.path.getsize(partial) if os.path.exists(partial) else 0
        check(0 < held < size, "the partial file holds what came: %d" % held)
        snap_dir = os.path.join(cache, FOLDER, "snapshots")
        check(not any(p.endswith("model.safetensors") for p in final_files(snap_dir)),
              "no snapshot link to a partial blob")
        hub.reset()
        rc, out, err = run(["fetch", REPO], env)
        check(rc == 0, "second run completes: %s" % err)
        check_layout(cache, FOLDER, MODEL_FILES)
        ranges = [e["range"] for e in hub.log() if e["path"].startswith("/cdn/")]
        check(ranges == ["bytes=%d-" % held], "the second run resumed at %d: %s" % (held, ranges))

        # a sharded model cut between files is not taken for complete: the
        # next --model use downloads the rest (resuming the partial shard)
        hub.reset()
        cache = os.path.join(tmp, "cut3")
        env = scivec_env(cache, hub.url)
        hub.control(cut_after=300000, cut_times=100)
        rc, out, err = run(["fetch", "test-org/tiny-st-sharded"], env)
        check(rc != 0 and "run again to resume" in err, "sharded fetch cut: %s" % err)
        hub.reset()
        stdin = b'{"text": "Graph neural networks"}\n'
        rc, _, err = run(["encode", "--model", "test-org/tiny-st-sharded", "--out",
                          os.path.join(tmp, "st.npy")], env, stdin)
        check(rc == 0, "encode completes an interrupted snapshot: %s" % err)
        ranges = [e["range"] for e in hub.log() if e["path"].startswith("/cdn/")]
        check(len(ranges) >= 1 and ranges[0] is not None and ranges[0].startswith("bytes="),
              "the interrupted shard resumed: %s" % ranges)
        check_layout(cache, "models--test-org--tiny-st-sharded",
                     ["config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
                      "modules.json", "1_Pooling/config.json", "model.safetensors.index.json",
                      "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"],
                     src_dir=SHARDED)

        # --- corrupted bytes: sha256 mismatch, nothing under the final name ---
        hub.reset()
        cache = os.path.join(tmp, "corrupt")
        env = scivec_env(cache, hub.url)
        hub.control(corrupt=True)
        rc, out, err = run(["fetch", REPO], env)
        check(rc != 0 and "sha256 mismatch" in err and blob_name in err, "corrupt: %s" % err)
        blobs = os.path.join(cache, FOLDER, "blobs")
        check(not os.path.exists(os.path.join(blobs, blob_name)), "no final blob when corrupt")
        check(not os.path.exists(os.path.join(blobs, blob_name + ".incomplete")),
              "the corrupt partial file is discarded")
        hub.reset()
        rc, out, err = run(["fetch", REPO], env)
        check(rc == 0, "after corruption a clean run works: %s" % err)
        check_layout(cache, FOLDER, MODEL_FILES)

        # --- 401: a token is needed; HF_TOKEN is sent to the hub, not the CDN
        hub.reset()
        hub.control(token="hf_secret")
        cache = os.path.join(tmp, "token")
        rc, out, err = run(["fetch", REPO], scivec_env(cache, hub.url))
        check(rc != 0 and "401" in err and "HF_TOKEN" in err, "401 without a token: %s" % err)
        rc, out, err = run(["fetch", REPO], scivec_env(cache, hub.url, HF_TOKEN="hf_wrong"))
        check(rc != 0 and "refused the token" in err and "HF_TOKEN" in err, "wrong token: %s" % err)
        hub.reset()
        hub.control(token="hf_secret")
        rc, out, err = run(["fetch", REPO], scivec_env(cache, hub.url, HF_TOKEN="hf_secret"))
        check(rc == 0, "fetch with HF_TOKEN: %s" % err)
        log = hub.log()
        check(all(e["auth"] == "Bearer hf_secret" for e in log if not e["path"].startswith("/cdn/")),
              "the token went to every hub request")
        check(all(e["auth"] is None for e in log if e["path"].startswith("/cdn/")),
              "the token did not go to the CDN: %s" % [e for e in log if e["path"].startswith("/cdn/")])
        # the token file huggingface-cli login writes is read too
        home = os.path.join(tmp, "home")
        os.makedirs(os.path.join(home, ".cache", "huggingface"), exist_ok=True)
        with open(os.path.join(home, ".cache", "huggingface", "token"), "w") as f:
            f.write("hf_secret\n")
        rc, out, err = run(["fetch", REPO], scivec_env(os.path.join(tmp, "token2"), hub.url))
        check(rc == 0, "fetch with the saved token file: %s" % err)
        os.remove(os.path.join(home, ".cache", "huggingface", "token"))

        # --- 404: repo, revision ----------------------------------------------
        hub.reset()
        cache = os.path.join(tmp, "notfound")
        rc, out, err = run(["fetch", "test-org/nope"], scivec_env(cache, hub.url))
        check(rc != 0 and "repository 'test-org/nope' not found on the hub" in err, "404 repo: %s" % err)
        rc, out, err = run(["fetch", REPO + "@nosuch"], scivec_env(cache, hub.url))
        check(rc != 0 and "revision 'nosuch' not found in repository" in err, "404 revision: %s" % err)
        hub.control(hide_missing=True)  # huggingface.co answers 401 + RepoNotFound
        rc, out, err = run(["fetch", "test-org/nope"], scivec_env(cache, hub.url))
        check(rc != 0 and "not found on the hub" in err and "HF_TOKEN" in err, "401 RepoNotFound: %s" % err)
        rc, out, err = run(["encode", "--model", "test-org/nope", "--out", os.path.join(tmp, "n.npy")],
                           scivec_env(cache, hub.url), b'{"text": "x"}\n')
        check(rc != 0 and "not found on the hub" in err, "encode with a missing repo: %s" % err)
        check(not os.path.exists(os.path.join(cache, "models--test-org--nope", "snapshots")),
              "nothing cached for a missing repo")

        # --- a hostile hub: names and etags that would leave the cache ---------
        hub.reset()
        cache = os.path.join(tmp, "hostile", "cache")
        evil = ["../../../evil/config.json", "/tmp/config.json", "1_Pooling/../../config.json",
                "a//config.json", "./config.json", "config.json\n", "x" * 5000]
        hub.control(extra_siblings=evil)
        rc, out, err = run(["fetch", REPO], scivec_env(cache, hub.url))
        check(rc == 0, "hostile sibling names are skipped: %s" % err)
        check_layout(cache, FOLDER, MODEL_FILES)
        check(not os.path.exists(os.path.join(tmp, "hostile", "evil")), "nothing written outside the cache")
        for body, want in (("not json", "not a model revision"), ('{"sha": "../../x", "siblings": []}',
                           "not a model revision"), ('{"sha": "abc"}', "not a model revision"),
                           ('[1, 2]', "not a model revision")):
            hub.reset()
            hub.control(api_body=body)
            rc, out, err = run(["fetch", REPO], scivec_env(os.path.join(tmp, "hostile", "c2"), hub.url))
            check(rc != 0 and want in err, "API answer %r: %s" % (body, err))
        # a listing too long for any model repo is refused, quickly
        hub.reset()
        many = {"sha": "a" * 40, "siblings": [{"rfilename": "f%06d.json" % i} for i in range(200001)]}
        hub.control(api_body=json.dumps(many))
        t0 = time.time()
        rc, out, err = run(["fetch", REPO], scivec_env(os.path.join(tmp, "hostile", "c4"), hub.url))
        check(rc != 0 and "more than 200000 files" in err and time.time() - t0 < 30,
              "200001 siblings: %s (%.1f s)" % (err, time.time() - t0))
        for etag in ('"../../../evil"', '""', 'W/"a/b"'):
            hub.reset()
            hub.control(etag=etag)
            rc, out, err = run(["fetch", REPO], scivec_env(os.path.join(tmp, "hostile", "c3"), hub.url))
            check(rc != 0 and "no usable ETag" in err, "ETag %s: %s" % (etag, err))
        check(not os.path.exists(os.path.join(tmp, "hostile", "evil")), "still nothing outside")

        # --- disk full while writing the blob ----------------------------------
        hub.reset()
        cache = os.path.join(tmp, "full")
        blobs = os.path.join(cache, FOLDER, "blobs")
        os.makedirs(blobs)
        os.symlink("/dev/full", os.path.join(blobs, blob_name + ".incomplete"))
        rc, out, err = run(["fetch", REPO], scivec_env(cache, hub.url))
        check(rc != 0 and "disk full" in err, "ENOSPC: %s" % err)
        check(not os.path.exists(os.path.join(blobs, blob_name)), "no final blob when the disk is full")

        # and a really full disk: a 4 MiB tmpfs as the cache (root only; the
        # /dev/full case above runs everywhere)
        disk = os.path.join(tmp, "tmpfs")
        os.makedirs(disk)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", disk], capture_output=True)
        if m.returncode != 0:
            print("note: tmpfs not mountable here, real full-disk case not run:", m.stderr.decode().strip())
        else:
            try:
                cache = os.path.join(disk, "cache")
                rc, out, err = run(["fetch", REPO], scivec_env(cache, hub.url))
                blobs = os.path.join(cache, FOLDER, "blobs")
                check(rc != 0 and "disk full" in err and "No space left on device" in err,
                      "tmpfs full: %s" % err)
                check(not os.path.exists(os.path.join(blobs, blob_name)), "no final blob on a full tmpfs")
                check(not os.path.exists(os.path.join(cache, FOLDER, "snapshots", os.path.basename(snap),
                                                      "model.safetensors")), "no link on a full tmpfs")
            finally:
                subprocess.run(["umount", disk], check=False)
finally:
    hub.stop()
    import shutil
    shutil.rmtree(SHARDED_DIR, ignore_errors=True)

if failures:
    print("%d failure(s)" % len(failures), file=sys.stderr)
    sys.exit(1)
print("test_hub: all checks passed")
