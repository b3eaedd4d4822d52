#!/usr/bin/python3
"""The Python side of bench/cold_start.sh: one query the way a notebook does
it - import torch, load the checkpoint, run BERT (bench/torch_reference.py's
HF-ops forward), mean-pool and normalise, faiss search, titles from SQLite.
Token ids come from `scivec tokenize` (identical to HF's tokenizer), so the
Python side is not even charged for loading a tokenizer.

    cold_start_query.py MODEL_DIR OUT_DIR QUERY_IDS_JSONL
"""
import json, os, sqlite3, sys

import faiss
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import bert_forward, load_safetensors  # noqa: E402

model_dir, out_dir, ids_path = sys.argv[1:4]
torch.set_num_threads(1)
cfg = json.load(open(f"{model_dir}/config.json"))
w = load_safetensors(f"{model_dir}/model.safetensors")
q = json.loads(open(ids_path).readline())
ids = torch.tensor([q["input_ids"]])
with torch.inference_mode():
    h = bert_forward(w, cfg, ids, torch.zeros_like(ids), torch.ones_like(ids))
    vec = F.normalize(h.mean(1), dim=-1).numpy().astype(np.float32)
index = faiss.read_index(f"{out_dir}/papers.index")
scores, rows = index.search(vec, 10)
db = sqlite3.connect(f"{out_dir}/papers.db")
for score, row in zip(scores[0], rows[0]):
    title = db.execute("SELECT title FROM papers WHERE row = ?", (int(row),)).fetchone()[0]
    print(f"{score:.4f} {title}")
