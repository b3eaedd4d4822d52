"""test_tokenize_cli.py - `scivec tokenize` end to end: golden texts and
pairs through the real binary (ids must equal HuggingFace's), a truncation
length, and a malformed line (non-zero exit, message naming the line)."""
import json
import os
import subprocess
import sys

SCIVEC = os.environ["SCIVEC"]
FIX = os.environ["SV_FIXTURES"]
MODEL = os.path.join(FIX, "models", "tiny-scibert")
GOLDEN = os.path.join(FIX, "golden")

failures = 0
checks = 0


def check(cond, msg):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", msg, file=sys.stderr)


def run(lines, *args):
    stdin = "".join(line + "\n" for line in lines)
    return subprocess.run([SCIVEC, "tokenize", "--model", MODEL, *args], input=stdin.encode(),
                          capture_output=True, timeout=120)


fast = json.load(open(os.path.join(GOLDEN, "tokenizer_crosscheck_fast_rust.json")))
overridden = {t["id"] for t in fast["texts"]} | {p["id"] for p in fast["pair"]}

texts = [json.loads(l) for l in open(os.path.join(GOLDEN, "tokens.jsonl"))]
pairs = [json.loads(l) for l in open(os.path.join(GOLDEN, "tokens_pair.jsonl"))]
# Every golden text goes through the CLI, NUL-holding ones included (the JSON
# Lines reader keeps the text after a \u0000 escape).
texts = [t for t in texts if t["id"] not in overridden]
pairs = [p for p in pairs if p["id"] not in overridden]

inputs, expected = [], []
for t in texts:
    inputs.append(json.dumps({"text": t["text"]}))
    expected.append((t["id"], t["input_ids"], t["token_type_ids"]))
for p in pairs[:10]:
    inputs.append(json.dumps({"text": p["title"], "text_pair": p["abstract"]}))
    expected.append((p["id"], p["pair"]["input_ids"], p["pair"]["token_type_ids"]))
    inputs.append(json.dumps({"text": p["single_sep_text"]}))
    expected.append((p["id"] + "/single_sep", p["single_sep"]["input_ids"], p["single_sep"]["token_type_ids"]))

res = run(inputs)
check(res.returncode == 0, "exit status %d: %s" % (res.returncode, res.stderr.decode()))
out = res.stdout.decode().splitlines()
check(len(out) == len(expected), "%d output lines for %d inputs" % (len(out), len(expected)))
n_same = 0
for line, (name, ids, types) in zip(out, expected):
    got = json.loads(line)
    same = (got["input_ids"] == ids and got["token_type_ids"] == types
            and got["attention_mask"] == [1] * len(ids))
    check(same, "%s: ids differ from HuggingFace" % name)
    n_same += same
print("tokenize CLI: %d/%d lines identical to HuggingFace" % (n_same, len(expected)))

# --max-length
res = run([json.dumps({"text": "one two three four five six seven eight nine ten"})], "--max-length", "6")
got = json.loads(res.stdout.decode())
check(res.returncode == 0 and len(got["input_ids"]) == 6 and got["input_ids"][0] == 102
      and got["input_ids"][-1] == 103, "--max-length 6: %r" % got)

# a malformed line stops with its line number, after the good lines
res = run(['{"text": "fine"}', "", '{"text": "also fine"}', '{"text": "broken"', '{"text": "never"}'])
check(res.returncode != 0, "malformed line: exit status 0")
check("<stdin>:4:" in res.stderr.decode(), "message names line 4: %r" % res.stderr.decode())
check(len(res.stdout.decode().splitlines()) == 2, "the two good lines were written")
res = run(['{"title": "no text"}'])
check(res.returncode != 0 and "<stdin>:1:" in res.stderr.decode() and "text" in res.stderr.decode(),
      "missing text: %r" % res.stderr.decode())
res = run(['{"text": "a", "text_pair": 3}'])
check(res.returncode != 0 and "<stdin>:1:" in res.stderr.decode(), "non-string pair")
res = subprocess.run([SCIVEC, "tokenize"], input=b"", capture_output=True)
check(res.returncode != 0 and b"--model" in res.stderr, "missing --model")
res = subprocess.run([SCIVEC, "tokenize", "--model", MODEL, "--max-length", "x"], input=b"",
                     capture_output=True)
check(res.returncode != 0, "bad --max-length")
res = subprocess.run([SCIVEC, "tokenize", "--model", os.path.join(FIX, "nope")], input=b"",
                     capture_output=True)
check(res.returncode != 0 and b"nope" in res.stderr, "missing model dir: %r" % res.stderr)

print("%d checks, %d failed" % (checks, failures))
sys.exit(1 if failures else 0)
