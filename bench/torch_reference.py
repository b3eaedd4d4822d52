#!/usr/bin/python3
"""PyTorch anchor for bench/run.sh: a BertModel-equivalent forward written with
HuggingFace's own operations (transformers 4.44 modeling_bert, eager attention),
random weights read from the same model.safetensors scivec loads, length-sorted
batches of 32 padded to the longest, like sentence-transformers' encode().

    torch_reference.py MODEL_DIR IDS_JSONL --threads N [--pooling mean|cls] [--bf16] [--out X.npy]

--bf16 runs the forward under torch.autocast("cpu", bfloat16) (the linear
layers and matmuls in bf16, LayerNorm and softmax in fp32), as a PyTorch user
would ask for bf16; the pooled vectors are returned in fp32.

IDS_JSONL holds `scivec tokenize` output (token ids identical to HF's tokenizer,
as the test suite proves), so both engines see exactly the same tokens.
Prints one JSON line: tokens, seconds spent encoding, tokens/s.
"""
import argparse, json, math, os, struct, sys, time


def _threads_from_argv(argv):
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


# Debian's torch does its GEMMs in OpenBLAS (BLAS_INFO=generic), whose own
# thread pool ignores torch.set_num_threads: without this a "1-thread" run
# kept both cores busy (75 CPU-s in a 46 s encode loop). Set before import.
if __name__ == "__main__":
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = _threads_from_argv(sys.argv)

import numpy as np
import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", "the benchmark model is F32"
        a, b = info["data_offsets"]
        arr = np.frombuffer(data, dtype="<f4", count=(b - a) // 4, offset=a).reshape(info["shape"])
        tensors[name[5:] if name.startswith("bert.") else name] = torch.from_numpy(arr.copy())
    return tensors


def bert_forward(w, cfg, ids, types, mask):
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = H // nh
    eps = cfg.get("layer_norm_eps", 1e-12)
    B, T = ids.shape
    pos = torch.arange(T).unsqueeze(0)
    h = (F.embedding(ids, w["embeddings.word_embeddings.weight"])
         + F.embedding(types, w["embeddings.token_type_embeddings.weight"])
         + F.embedding(pos, w["embeddings.position_embeddings.weight"]))
    h = F.layer_norm(h, (H,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    ext = (1.0 - mask[:, None, None, :].to(h.dtype)) * torch.finfo(h.dtype).min
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        def heads(x):
            return x.view(B, T, nh, hd).permute(0, 2, 1, 3)
        q = heads(F.linear(h, w[p + "attention.self.query.weight"], w[p + "attention.self.query.bias"]))
        k = heads(F.linear(h, w[p + "attention.self.key.weight"], w[p + "attention.self.key.bias"]))
        v = heads(F.linear(h, w[p + "attention.self.value.weight"], w[p + "attention.self.value.bias"]))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + ext
        probs = F.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous().view(B, T, H)
        a = F.linear(ctx, w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"])
        h = F.layer_norm(a + h, (H,), w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        m = F.gelu(F.linear(h, w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"]))
        o = F.linear(m, w[p + "output.dense.weight"], w[p + "output.dense.bias"])
        h = F.layer_norm(o + h, (H,), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    return h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("ids_jsonl")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pooling", default="mean", choices=["mean", "cls"])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    cfg = json.load(open(f"{args.model_dir}/config.json"))
    w = load_safetensors(f"{args.model_dir}/model.safetensors")
    seqs = [json.loads(line) for line in open(args.ids_jsonl)]
    order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]["input_ids"]))
    out = np.zeros((len(seqs), cfg["hidden_size"]), dtype=np.float32)
    n_tokens = sum(len(s["input_ids"]) for s in seqs)

    t0, c0 = time.perf_counter(), time.process_time()
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16)
    with torch.inference_mode(), autocast:
        for start in range(0, len(order), args.batch):
            batch = order[start:start + args.batch]
            T = max(len(seqs[i]["input_ids"]) for i in batch)
            ids = torch.zeros((len(batch), T), dtype=torch.long)
            types = torch.zeros_like(ids)
            mask = torch.zeros_like(ids)
            for r, i in enumerate(batch):
                n = len(seqs[i]["input_ids"])
                ids[r, :n] = torch.tensor(seqs[i]["input_ids"])
                types[r, :n] = torch.tensor(seqs[i]["token_type_ids"])
                mask[r, :n] = 1
            h = bert_forward(w, cfg, ids, types, mask)
            if args.pooling == "cls":
                pooled = h[:, 0]
            else:
                m = mask.unsqueeze(-1).to(h.dtype)
                pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            out[batch] = pooled.float().numpy()
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    if args.out:
        np.save(args.out, out)
    print(json.dumps({"engine": "pytorch-bf16" if args.bf16 else "pytorch", "torch": torch.__version__, "threads": args.threads,
                      "n_texts": len(seqs), "tokens": n_tokens, "seconds": seconds, "cpu_seconds": cpu_seconds,
                      "tokens_per_s": n_tokens / seconds}))


if __name__ == "__main__":
    main()
