"""Hostile files through the real CLI: each must give its exact error (or be
handled as stated), finish within seconds, never crash (no signal, no
sanitizer report), never run a pickle's payload and never write outside the
output folder.

The committed corpus is tests/fixtures/hostile/ (make_hostile.py writes it);
the big ones are made here on the fly: a 2 GB CSV field and a never-closed
quote (streamed through a FIFO, nothing on disk), a 10,000-column header and
a model whose weights hold NaN/Inf. docs/ROBUSTNESS.md lists every case.

Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import FIX, MODEL, SCIVEC, check, report  # noqa: E402

HOSTILE = os.path.join(FIX, "hostile")
TOKENIZER_FILES = ["config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]


def run(sandbox, args, stdin=None, timeout=30):
    """Runs scivec from the sandbox folder (its only writable place besides
    the output paths the args name) and checks it neither crashed nor hung."""
    t0 = time.monotonic()
    try:
        p = subprocess.run([SCIVEC, *args], cwd=sandbox, input=stdin, capture_output=True,
                           timeout=timeout, env=dict(os.environ, TMPDIR=sandbox, HOME=sandbox))
    except subprocess.TimeoutExpired:
        check(False, f"{args[:2]}: still running after {timeout} s")
        return None
    took = time.monotonic() - t0
    err = p.stderr.decode("utf-8", "replace")
    what = " ".join(os.path.basename(a) for a in args[:3])
    check(p.returncode >= 0, f"{what}: killed by signal {-p.returncode}")
    check("Sanitizer" not in err and "runtime error:" not in err, f"{what}: sanitizer report: {err[-2000:]}")
    return p.returncode, err, took


def no_pwned(sandbox, what):
    found = [os.path.join(d, f) for d, _, fs in os.walk(sandbox) for f in fs if f.startswith("PWNED")]
    for path in ("/tmp/PWNED-zip-slip", "/etc/PWNED-absolute"):
        if os.path.exists(path):
            found.append(path)
    check(not found, f"{what}: a payload ran or an entry was extracted: {found}")


# --- weights --------------------------------------------------------------

WEIGHT_CASES = [
    # file, its name in the model folder, the exact error
    ("st-empty.safetensors", "model.safetensors", "model.safetensors: empty file (0 bytes), not a safetensors file"),
    ("st-truncated.safetensors", "model.safetensors",
     "model.safetensors: truncated: 3 bytes, shorter than the 8-byte header length"),
    ("st-header-huge.safetensors", "model.safetensors",
     "model.safetensors: header length 4611686018427387904 is larger than the file (10 bytes; truncated file?)"),
    ("st-header-not-json.safetensors", "model.safetensors", "model.safetensors: header is not a JSON object"),
    ("st-json-bomb.safetensors", "model.safetensors", "model.safetensors: header is not a JSON object"),
    ("st-past-end.safetensors", "model.safetensors",
     "tensor embeddings.LayerNorm.bias: data_offsets [0, 256] point past the end of the file (64 data bytes; truncated file?)"),
    ("st-overlap.safetensors", "model.safetensors",
     "tensor embeddings.LayerNorm.weight: data overlaps tensor embeddings.LayerNorm.bias"),
    ("st-offset-overflow.safetensors", "model.safetensors",
     "tensor embeddings.LayerNorm.bias: data_offsets must be [begin, end] with begin <= end"),
    ("pkl-os-system.bin", "pytorch_model.bin", "refusing global 'os.system': not something a PyTorch state dict "
     "contains (only torch tensors/storages and collections.OrderedDict are allowed; nothing was executed)"),
    ("pkl-posix-system.bin", "pytorch_model.bin", "refusing global 'posix.system'"),
    ("pkl-builtins-eval.bin", "pytorch_model.bin", "refusing global 'builtins.eval'"),
    ("pkl-builtins-exec.bin", "pytorch_model.bin", "refusing global '__builtin__.exec'"),
    ("pkl-stack-global.bin", "pytorch_model.bin", "pickle byte 14: refusing global 'os.system'"),
    ("pkl-torch-load.bin", "pytorch_model.bin", "refusing global 'torch.load'"),
    ("zip-subprocess.bin", "pytorch_model.bin", "archive/data.pkl: pickle byte 2: refusing global 'subprocess.check_call'"),
    ("pkl-recursion.bin", "pytorch_model.bin", "MARKs nested deeper than 256 (recursion bomb?)"),
    ("zip-list-bomb.bin", "pytorch_model.bin", "values nested deeper than 256 levels (recursion bomb?)"),
    ("zip-dict-bomb.bin", "pytorch_model.bin", "values nested deeper than 256 levels (recursion bomb?)"),
    ("zip-laughs.bin", "pytorch_model.bin", "the state dict holds no tensors"),
    ("zip-escape.bin", "pytorch_model.bin",
     "entry ../data.pkl: not inside a plain folder name (an archive entry escaping its folder)"),
    ("zip-escape-deep.bin", "pytorch_model.bin", "zip archive without a data.pkl: not a PyTorch checkpoint"),
]


def model_dir_with(sandbox, name, weights_name, weights_src):
    d = os.path.join(sandbox, "model-" + name)
    os.mkdir(d)
    for f in TOKENIZER_FILES:
        shutil.copy(os.path.join(MODEL, f), d)
    shutil.copy(weights_src, os.path.join(d, weights_name))
    return d


def test_weights(sandbox):
    texts = b'{"text": "graph neural networks"}\n'
    slowest = 0
    for name, weights_name, want in WEIGHT_CASES:
        model = model_dir_with(sandbox, name, weights_name, os.path.join(HOSTILE, name))
        out = os.path.join(sandbox, "out", name + ".npy")
        r = run(sandbox, ["encode", "--model", model, "--out", out], stdin=texts)
        if r is None:
            continue
        code, err, took = r
        slowest = max(slowest, took)
        check(code == 1 and want in err, f"{name}: exit {code}, want 1 and {want!r}; got {err.strip()!r}")
        check(not os.path.exists(out) and not os.path.exists(out + ".tmp"), f"{name}: an output was written")
        check(took < 10, f"{name}: took {took:.1f} s")
        no_pwned(sandbox, name)
    print(f"weights: {len(WEIGHT_CASES)} hostile files refused with their exact errors (slowest {slowest:.2f} s)")


def test_nan_weights(sandbox):
    """NaN/Inf in a weight: the model loads with a warning naming the tensor."""
    src = os.path.join(MODEL, "model.safetensors")
    data = bytearray(open(src, "rb").read())
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    name = next(k for k in header if k.endswith("encoder.layer.1.output.dense.weight"))
    begin = 8 + n + header[name]["data_offsets"][0]
    data[begin:begin + 12] = struct.pack("<3f", float("nan"), float("inf"), float("-inf"))
    patched = os.path.join(sandbox, "nan.safetensors")
    open(patched, "wb").write(data)
    model = model_dir_with(sandbox, "nan", "model.safetensors", patched)
    out = os.path.join(sandbox, "out", "nan.npy")
    r = run(sandbox, ["encode", "--model", model, "--out", out], stdin=b'{"text": "graph neural networks"}\n')
    if r is None:
        return
    code, err, _ = r
    want = "3 NaN/Inf weight values in 1 tensor (first: encoder.layer.1.output.dense.weight); embeddings may be NaN"
    check(code == 0 and "warning:" in err and want in err, f"NaN weights: exit {code}, stderr {err!r}")
    check(os.path.exists(out), "NaN weights: no output written")
    # The unpatched model warns about nothing.
    r = run(sandbox, ["encode", "--model", MODEL, "--out", os.path.join(sandbox, "out", "ok.npy")],
            stdin=b'{"text": "graph neural networks"}\n')
    check(r is not None and r[0] == 0 and "NaN" not in r[1], f"clean model: {r}")
    print("NaN/Inf weights: loaded with the warning")


# --- papers -----------------------------------------------------------------

def embed(sandbox, src, out, *extra, timeout=60):
    return run(sandbox, ["embed", src, "--model", MODEL, "--out", out, "--max-length", "64", "--threads", "1",
                         *extra], timeout=timeout)


def metadata(out):
    return json.load(open(os.path.join(out, "metadata.json")))


def vectors_of(sandbox, texts):
    out = os.path.join(sandbox, "out", "ref-%d.npy" % len(os.listdir(os.path.join(sandbox, "out"))))
    lines = "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()
    r = run(sandbox, ["encode", "--model", MODEL, "--out", out, "--normalize", "--max-length", "64"], stdin=lines)
    check(r is not None and r[0] == 0, f"encode reference texts: {r}")
    return np.load(out)


def test_nul(sandbox):
    out = os.path.join(sandbox, "out", "nul")
    r = embed(sandbox, os.path.join(HOSTILE, "csv-nul.csv"), out)
    if r is None:
        return
    code, err, _ = r
    check(code == 0, f"csv-nul: exit {code}: {err!r}")
    check("csv-nul.csv: skipped: line 3: the paper id holds a NUL byte" in err, f"csv-nul: {err!r}")
    if code == 0:
        check(metadata(out)["n_papers"] == 2, f"csv-nul: {metadata(out)['n_papers']} papers")
        got = np.load(os.path.join(out, "embeddings.npy"))
        # The NUL is dropped, as HF's tokenizer drops U+0000.
        want = vectors_of(sandbox, ["An abstract with a NUL byte inside it.", "A third abstract that is plain."])
        check(np.abs(got - want).max() < 1e-5, f"csv-nul: vectors differ by {np.abs(got - want).max()}")
    print("csv-nul: NUL in a text dropped (as HF), NUL in an id skipped with its reason")


def test_latin1(sandbox):
    out = os.path.join(sandbox, "out", "latin1")
    r = embed(sandbox, os.path.join(HOSTILE, "csv-latin1.csv"), out)
    if r is None:
        return
    code, err, _ = r
    check(code == 0, f"csv-latin1: exit {code}: {err!r}")
    check("2 texts held invalid UTF-8" in err, f"csv-latin1: the invalid texts are not counted: {err!r}")
    if code == 0:
        check(metadata(out)["n_papers"] == 3, f"csv-latin1: {metadata(out)['n_papers']} papers")
        got = np.load(os.path.join(out, "embeddings.npy"))
        # Python reading the file with errors="replace" gets U+FFFD, which BERT's tokenizer drops.
        raw = open(os.path.join(HOSTILE, "csv-latin1.csv"), "rb").read().decode("utf-8", "replace")
        abstracts = [line.split(",", 2)[2] for line in raw.splitlines()[1:]]
        want = vectors_of(sandbox, abstracts)
        check(np.abs(got - want).max() < 1e-5, f"csv-latin1: vectors differ by {np.abs(got - want).max()}")
    print("csv-latin1: Latin-1 bytes read as U+FFFD (as Python's errors='replace') and counted")


def test_deep_jsonl(sandbox):
    out = os.path.join(sandbox, "out", "deep")
    r = embed(sandbox, os.path.join(HOSTILE, "jsonl-deep.jsonl"), out)
    if r is None:
        return
    code, err, took = r
    check(code == 0 and "jsonl-deep.jsonl: skipped: " in err and "jsonl-deep.jsonl:2" in err,
          f"jsonl-deep: exit {code}: {err!r}")
    if code == 0:
        check(metadata(out)["n_papers"] == 2, f"jsonl-deep: {metadata(out)['n_papers']} papers")
    print(f"jsonl-deep: the 10,000-deep line skipped as malformed ({took:.2f} s)")


def test_wide_header(sandbox):
    src = os.path.join(sandbox, "wide.csv")
    names = ["paper_id", "abstract"] + [f"extra_{i}" for i in range(9998)]
    with open(src, "w") as f:
        f.write(",".join(names) + "\n")
        for pid in ("w1", "w2"):
            f.write(",".join([pid, f"A paper named {pid} with a very wide row."] + [str(i) for i in range(9998)]) + "\n")
    out = os.path.join(sandbox, "out", "wide")
    r = embed(sandbox, src, out)
    if r is None:
        return
    code, err, took = r
    check(code == 0, f"10,000 columns: exit {code}: {err!r}")
    check(took < 30, f"10,000 columns: took {took:.1f} s")
    if code == 0:
        check(metadata(out)["n_papers"] == 2, "10,000 columns: paper count")
        r = run(sandbox, ["info", out])
        check(r is not None and r[0] == 0, f"10,000 columns: info: {r}")
    print(f"10,000-column header: embedded in {took:.2f} s")


def stream_into_fifo(fifo, head, chunk, total):
    """Writes head then chunk until total bytes or the reader goes away."""
    written = 0
    try:
        with open(fifo, "wb") as f:
            f.write(head)
            while written < total:
                f.write(chunk)
                written += len(chunk)
    except (BrokenPipeError, OSError):
        pass
    return written


def test_huge_field(sandbox):
    # A FIFO is refused before a byte is read (the input is read more than
    # once, issue 14 #11); the writer is then unblocked and stops.
    fifo = os.path.join(sandbox, "stream.csv")
    os.mkfifo(fifo)
    writer = threading.Thread(target=stream_into_fifo, args=(fifo, b"paper_id,abstract\n", b"x" * 4096, 1 << 30))
    writer.start()
    r = embed(sandbox, fifo, os.path.join(sandbox, "out", "fifo"), timeout=60)
    try:
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    except OSError:
        pass
    writer.join(timeout=30)
    os.unlink(fifo)
    check(r is not None and r[0] == 1 and "stream.csv is a pipe, not a regular file" in r[1], f"FIFO input: {r}")

    # Records longer than the 64 MiB limit, in a regular file of 72 MiB.
    size = 72 << 20
    cases = [
        ("a 72 MiB unquoted field", b"paper_id,abstract\np1,", b"x" * (1 << 20)),
        ("a quote never closed", b'paper_id,abstract\np1,"', b"line of an endless quoted field\n" * 32768),
    ]
    for what, head, chunk in cases:
        big = os.path.join(sandbox, "big.csv")
        with open(big, "wb") as f:
            f.write(head)
            for _ in range(size // len(chunk)):
                f.write(chunk)
        sent = [os.path.getsize(big)]
        out = os.path.join(sandbox, "out", "huge")
        shutil.rmtree(out, ignore_errors=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        r = embed(sandbox, big, out, timeout=60)
        os.unlink(big)
        if r is None:
            continue
        code, err, took = r
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        want = "big.csv:2: a record longer than 64 MiB (an unclosed quote, or not a CSV file?); refusing to read on"
        check(code == 1 and want in err, f"{what}: exit {code}: {err!r}")
        check(took < 20, f"{what}: took {took:.1f} s")
        check(rss_mb < 1024 or before / 1024 >= 1024, f"{what}: peak memory {rss_mb:.0f} MiB")
        check(not any(os.path.exists(os.path.join(out, f)) for f in ("embeddings.npy", "metadata.json")),
              f"{what}: outputs written")
        print(f"{what}: refused in a {sent[0] >> 20} MiB file, {took:.2f} s, peak RSS so far {rss_mb:.0f} MiB")
        if os.path.isdir(out):
            shutil.rmtree(out)


def test_long_jsonl_line(sandbox):
    """A 100 MiB JSON Lines record: skipped as malformed after reading it
    (memory bounded to 64 MiB), the records around it embedded."""
    src = os.path.join(sandbox, "long.jsonl")
    with open(src, "w") as f:
        f.write('{"paper_id": "a1", "abstract": "the first abstract"}\n{"paper_id": "a2", "abstract": "')
        for _ in range(100):
            f.write("x" * (1 << 20))
        f.write('"}\n{"paper_id": "a3", "abstract": "the third abstract"}\n')
    out = os.path.join(sandbox, "out", "long")
    r = embed(sandbox, src, out, timeout=120)
    os.unlink(src)
    if r is None:
        return
    code, err, took = r
    check(code == 0 and "long.jsonl:2: line longer than 64 MiB, skipped" in err, f"long JSONL line: {code} {err!r}")
    if code == 0:
        check(metadata(out)["n_papers"] == 2, "long JSONL line: paper count")
    print(f"a 100 MiB JSON Lines record: skipped in {took:.2f} s")


def main():
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as sandbox:
        os.mkdir(os.path.join(sandbox, "out"))
        test_weights(sandbox)
        test_nan_weights(sandbox)
        test_nul(sandbox)
        test_latin1(sandbox)
        test_deep_jsonl(sandbox)
        test_wide_header(sandbox)
        test_huge_field(sandbox)
        test_long_jsonl_line(sandbox)
        no_pwned(sandbox, "after all cases")
        # Nothing outside the output folders: the sandbox holds only what the
        # test put there (model copies, inputs) and out/.
        made_by_test = {"out", "nan.safetensors", "wide.csv", "big.csv"}
        stray = [f for f in os.listdir(sandbox) if f not in made_by_test and not f.startswith("model-")]
        check(not stray, f"files written outside the output folders: {stray}")
    print(f"took {time.monotonic() - t0:.1f} s")
    return report("test_hostile.py")


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    sys.exit(main())
