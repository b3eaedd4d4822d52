#!/usr/bin/python3
"""Writes a random-weight BERT-base model folder in HuggingFace layout, for
bench_load (numpy only, no torch).

    /usr/bin/python3 bench/make_bert_base.py OUT_DIR [--bin]

OUT_DIR gets config.json (12 layers, 768 hidden, 12 heads, 3072, vocab 31090),
the SciBERT vocab and tokenizer files from tests/fixtures/models/tiny-scibert,
and model.safetensors (F32). With --bin it also writes
OUT_DIR/zip/pytorch_model.bin (PyTorch zip format) and
OUT_DIR/legacy/pytorch_model.bin (pre-1.6 format), each next to a copy of
config.json, with a small hand-written pickle writer. Never commit the output.
"""
import json
import os
import shutil
import struct
import sys
import zipfile

import numpy as np

HIDDEN, LAYERS, HEADS, FFN, VOCAB, MAX_POS, TYPES = 768, 12, 12, 3072, 31090, 512, 2
HERE = os.path.dirname(os.path.abspath(__file__))
TINY = os.path.join(HERE, "..", "tests", "fixtures", "models", "tiny-scibert")


def tensor_specs():
    """(name, shape, kind) in HF BertModel state-dict order."""
    h, f = HIDDEN, FFN
    yield "embeddings.word_embeddings.weight", (VOCAB, h), "w"
    yield "embeddings.position_embeddings.weight", (MAX_POS, h), "w"
    yield "embeddings.token_type_embeddings.weight", (TYPES, h), "w"
    yield "embeddings.LayerNorm.weight", (h,), "one"
    yield "embeddings.LayerNorm.bias", (h,), "zero"
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            yield p + f"attention.self.{name}.weight", (h, h), "w"
            yield p + f"attention.self.{name}.bias", (h,), "w"
        yield p + "attention.output.dense.weight", (h, h), "w"
        yield p + "attention.output.dense.bias", (h,), "w"
        yield p + "attention.output.LayerNorm.weight", (h,), "one"
        yield p + "attention.output.LayerNorm.bias", (h,), "zero"
        yield p + "intermediate.dense.weight", (f, h), "w"
        yield p + "intermediate.dense.bias", (f,), "w"
        yield p + "output.dense.weight", (h, f), "w"
        yield p + "output.dense.bias", (h,), "w"
        yield p + "output.LayerNorm.weight", (h,), "one"
        yield p + "output.LayerNorm.bias", (h,), "zero"
    yield "pooler.dense.weight", (h, h), "w"
    yield "pooler.dense.bias", (h,), "w"


def make(rng, shape, kind):
    if kind == "one":
        return np.ones(shape, np.float32)
    if kind == "zero":
        return np.zeros(shape, np.float32)
    return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype("<f4")


def write_safetensors(path, rng):
    specs = list(tensor_specs())
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _ in specs:
        n = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # keep the data 8-byte aligned, as the safetensors library does
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(raw)))
        out.write(raw)
        for name, shape, kind in specs:
            out.write(make(rng, shape, kind).tobytes())


# ---- a minimal pickle writer (protocol 2) for torch state dicts ----------

def p_str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def p_int(v):
    return b"J" + struct.pack("<i", v)


def p_global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def p_tuple(items):
    return b"(" + b"".join(items) + b"t"


def p_ordered_dict():
    return p_global("collections", "OrderedDict") + b")R"


def p_tensor(key, shape, legacy):
    numel = int(np.prod(shape))
    strides = [int(np.prod(shape[i + 1:])) for i in range(len(shape))]
    pid = [p_str("storage"), p_global("torch", "FloatStorage"), p_str(key), p_str("cpu"), p_int(numel)]
    if legacy:
        pid.append(b"N")  # no view metadata
    return (p_global("torch._utils", "_rebuild_tensor_v2") + b"(" + p_tuple(pid) + b"Q" + p_int(0)
            + p_tuple([p_int(d) for d in shape]) + p_tuple([p_int(s) for s in strides])
            + b"\x89" + p_ordered_dict() + b"tR")


def p_state_dict(specs, legacy):
    body = b"".join(p_str(name) + p_tensor(str(i), shape, legacy) for i, (name, shape, _) in enumerate(specs))
    return b"\x80\x02" + p_ordered_dict() + b"(" + body + b"u."


def write_zip_bin(path, rng):
    specs = list(tensor_specs())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("pytorch_model/data.pkl", p_state_dict(specs, legacy=False))
        for i, (name, shape, kind) in enumerate(specs):
            z.writestr(f"pytorch_model/data/{i}", make(rng, shape, kind).tobytes())
        z.writestr("pytorch_model/version", "3\n")


def write_legacy_bin(path, rng):
    specs = list(tensor_specs())
    magic = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b"."
    version = b"\x80\x02M\xe9\x03."
    sys_info = (b"\x80\x02}(" + p_str("protocol_version") + b"M\xe9\x03" + p_str("little_endian") + b"\x88"
                + p_str("type_sizes") + b"}(" + p_str("short") + b"K\x02" + p_str("int") + b"K\x04"
                + p_str("long") + b"K\x04" + b"uu.")
    keys = b"\x80\x02](" + b"".join(p_str(str(i)) for i in range(len(specs))) + b"e."
    with open(path, "wb") as out:
        out.write(magic + version + sys_info + p_state_dict(specs, legacy=True) + keys)
        for name, shape, kind in specs:
            out.write(struct.pack("<q", int(np.prod(shape))))
            out.write(make(rng, shape, kind).tobytes())


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit(__doc__)
    out = args[0]
    os.makedirs(out, exist_ok=True)
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "intermediate_size": FFN,
        "hidden_act": "gelu", "layer_norm_eps": 1e-12, "max_position_embeddings": MAX_POS,
        "type_vocab_size": TYPES, "vocab_size": VOCAB, "position_embedding_type": "absolute",
        "pad_token_id": 0, "torch_dtype": "float32",
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(os.path.join(TINY, name), os.path.join(out, name))
    # The same seed for every file: all formats hold identical weights, so
    # bench_load's checksums must agree across them.
    write_safetensors(os.path.join(out, "model.safetensors"), np.random.default_rng(1234))
    if "--bin" in sys.argv:
        for sub, writer in (("zip", write_zip_bin), ("legacy", write_legacy_bin)):
            d = os.path.join(out, sub)
            os.makedirs(d, exist_ok=True)
            shutil.copy(os.path.join(out, "config.json"), d)
            writer(os.path.join(d, "pytorch_model.bin"), np.random.default_rng(1234))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
