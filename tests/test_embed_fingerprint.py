"""The run's fingerprint (issue 14, item 1): `embed --resume` after a kill
refuses when anything that decides a vector changed, even a model file whose
path, size and mtime stay the same (hidden_act in config.json, do_lower_case
in tokenizer_config.json), and names what changed; --restart starts over.
metadata.json records the fingerprint with the sha256 of each model file.

Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import FIX, MODEL, SCIVEC, check, report  # noqa: E402


def embed_args(src, model, out, *extra):
    # Small batches: many checkpoints, so the kill lands between two of them.
    return [SCIVEC, "embed", src, "--model", model, "--out", out, "--max-length", "64",
            "--batch-tokens", "96", "--threads", "1", *extra]


def rows_done(out):
    try:
        with open(os.path.join(out, ".scivec-work", "checkpoint.json")) as f:
            return json.load(f)["rows_done"]
    except (OSError, ValueError, KeyError):
        return 0


def kill_midway(args, out, at_least):
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while proc.poll() is None:
        if rows_done(out) >= at_least:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return rows_done(out)
        time.sleep(0.002)
    return None


def edit_keeping_size_and_mtime(path, old, new):
    """Replaces old by new (same length) and restores the mtime: what the old
    path/size/mtime check could not see."""
    assert len(old) == len(new)
    st = os.stat(path)
    text = open(path).read()
    assert old in text, (path, old)
    with open(path, "w") as f:
        f.write(text.replace(old, new))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def main():
    with open(os.path.join(FIX, "data", "arxiv-papers.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "papers.csv")
        with open(src, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(rows[0])
            w.writerows(rows[1:401])
        model = os.path.join(tmp, "model")
        shutil.copytree(MODEL, model)
        out = os.path.join(tmp, "out")

        done = kill_midway(embed_args(src, model, out), out, 100)
        check(done is not None and 0 < done < 400, f"killed at {done}")
        checkpoint = json.load(open(os.path.join(out, ".scivec-work", "checkpoint.json")))
        fp = checkpoint["options"].get("fingerprint", {})
        check(fp.get("model_files", {}).get("config.json") == sha256(os.path.join(model, "config.json")),
              f"checkpoint fingerprint: {fp}")

        # The model file changes under the same path, size and mtime.
        config = os.path.join(model, "config.json")
        edit_keeping_size_and_mtime(config, '"hidden_act": "gelu"', '"hidden_act": "relu"')
        p = subprocess.run(embed_args(src, model, out, "--resume"), capture_output=True, text=True)
        check(p.returncode != 0 and "config.json" in p.stderr and "--restart" in p.stderr,
              f"hidden_act changed, resume: {p.returncode} {p.stderr!r}")
        check(p.stderr.count("\n") == 1, f"one line: {p.stderr!r}")
        check(os.path.isdir(os.path.join(out, ".scivec-work")), "work dir removed by a refused resume")
        check(not os.path.exists(os.path.join(out, "embeddings.npy")), "refused resume wrote outputs")
        edit_keeping_size_and_mtime(config, '"hidden_act": "relu"', '"hidden_act": "gelu"')

        tok_config = os.path.join(model, "tokenizer_config.json")
        edit_keeping_size_and_mtime(tok_config, '"do_lower_case": true,', '"do_lower_case":false,')
        p = subprocess.run(embed_args(src, model, out, "--resume"), capture_output=True, text=True)
        check(p.returncode != 0 and "tokenizer_config.json" in p.stderr and "config.json was" in p.stderr,
              f"do_lower_case changed, resume: {p.returncode} {p.stderr!r}")
        check(os.path.isdir(os.path.join(out, ".scivec-work")), "work dir removed by a refused resume")

        # An option that decides a vector is named as such.
        p = subprocess.run(embed_args(src, model, out, "--resume", "--pooling", "max"),
                           capture_output=True, text=True)
        check(p.returncode != 0 and "pooling was" in p.stderr, f"pooling changed: {p.stderr!r}")

        # --resume and --restart together make no sense.
        p = subprocess.run(embed_args(src, model, out, "--resume", "--restart"), capture_output=True, text=True)
        check(p.returncode != 0 and "--restart" in p.stderr, f"both flags: {p.stderr!r}")

        # --restart: starts over with the changed model; the result is what a
        # fresh run with that model gives.
        p = subprocess.run(embed_args(src, model, out, "--restart"), capture_output=True, text=True)
        check(p.returncode == 0, f"--restart failed: {p.stderr}")
        ref = os.path.join(tmp, "ref")
        subprocess.run(embed_args(src, model, ref), check=True, capture_output=True)
        check(open(os.path.join(out, "embeddings.npy"), "rb").read() ==
              open(os.path.join(ref, "embeddings.npy"), "rb").read(), "--restart output differs from a fresh run")

        meta = json.load(open(os.path.join(out, "metadata.json")))
        fp = meta.get("fingerprint", {})
        for name in ("config.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json",
                     "model.safetensors"):
            check(fp.get("model_files", {}).get(name) == sha256(os.path.join(model, name)),
                  f"metadata fingerprint {name}: {fp.get('model_files')}")
        check("pytorch_model.bin" not in fp.get("model_files", {}), "an unread weight file is hashed")
        check(meta["model"]["sha256"] == sha256(os.path.join(model, "model.safetensors")), "model.sha256")
        check(fp.get("max_length") == 64 and fp.get("precision") == "fp32" and fp.get("pooling") == "mean"
              and fp.get("normalize") is True and fp.get("recipe") == "abstract"
              and fp.get("text_column") == "abstract" and isinstance(fp.get("numerics_version"), int),
              f"fingerprint options: {fp}")
        check("threads" not in fp and "batch_tokens" not in fp and "input" not in fp,
              f"fingerprint holds what does not decide a vector: {sorted(fp)}")

    return report("test_embed_fingerprint.py")


if __name__ == "__main__":
    sys.exit(main())
