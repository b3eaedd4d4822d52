"""scivec.Model: a BERT model kept in memory, encoding texts into numpy
arrays like sentence-transformers' SentenceTransformer.encode.

Threads: a scivec_model owns scratch buffers and serves one call at a time,
so each Model holds a lock and concurrent encode() calls from several
Python threads take turns (each call already uses `threads` cores). The
GIL is released while the model runs. For parallel calls, load one Model
per thread."""
import ctypes
import os

import numpy as np

from . import _lib
from ._lib import lib, check

# Texts per library call, as cli/cmd_encode.c (its CHUNK_TEXTS).
CHUNK_TEXTS = 512


def _progress_bar(show, total, unit):
    if not show:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit=unit)


class Model(_lib.Handle):
    """Model(name_or_dir, adapter=None, precision="fp32", threads=None)

    name_or_dir: a model directory (HuggingFace layout) or an ORG/NAME in the
    local HuggingFace cache. adapter: an AdapterHub adapter (folder or
    ORG/NAME) the texts go through by default. threads: cores for the
    forward (None: all)."""

    def __init__(self, name_or_dir, adapter=None, precision="fp32", threads=None):
        params = lib.scivec_model_default_params()
        chosen = ctypes.c_int()
        check(lib.scivec_precision_parse(_lib.to_bytes(precision, "precision"), ctypes.byref(chosen)))
        params.precision = chosen.value
        if threads is not None:
            if int(threads) < 0:
                raise ValueError(f"scivec: threads must be >= 0, got {threads}")
            params.n_threads = int(threads)
        super().__init__()
        handle = ctypes.c_void_p()
        check(lib.scivec_model_load(_lib.to_bytes(os.fspath(name_or_dir), "model"),
                                    ctypes.byref(params), ctypes.byref(handle)))
        self._ptr = handle
        self.dim = lib.scivec_model_dim(handle)
        self.max_seq_length = lib.scivec_model_max_length(handle)
        self.path = _lib.decode(lib.scivec_model_dir(handle))
        self.warning = _lib.decode(lib.scivec_model_warning(handle))
        self.adapter_id = 0
        if adapter is not None:
            self.adapter_id = self.add_adapter(adapter)

    def add_adapter(self, adapter):
        """Loads another adapter; returns its id (for encode(adapter_id=...))."""
        adapter_id = ctypes.c_int()
        with self._lock:
            check(lib.scivec_model_add_adapter(self._handle(), _lib.to_bytes(os.fspath(adapter), "adapter"),
                                               ctypes.byref(adapter_id)))
        return adapter_id.value

    _what = "model"

    def _free(self, ptr):
        lib.scivec_model_free(ptr)

    def get_sentence_embedding_dimension(self):
        return self.dim

    def encode(self, texts, batch_size=32, normalize_embeddings=False, show_progress_bar=None,
               convert_to_numpy=True, pooling=None, max_length=None, truncate="cut",
               adapter_id=None):
        """Embeds texts (a str, or a list of str) into a float32 array
        [len(texts), dim] (one str: [dim]). pooling: "cls" | "mean" | "max" |
        "pooler" (None: the model folder's, else mean). batch_size: accepted
        as sentence-transformers names it; scivec batches by tokens itself,
        and the vectors do not depend on it. max_length: tokens
        per text incl. [CLS]/[SEP] (None: the model's); longer texts are cut,
        or refused with truncate="error". The same text gives the same
        vector whatever the batch."""
        single = isinstance(texts, (str, bytes))
        items = [texts] if single else list(texts)
        data = [_lib.to_bytes(t, f"text {i}") for i, t in enumerate(items)]
        if batch_size < 1:
            raise ValueError(f"scivec: batch_size must be >= 1, got {batch_size}")
        params = lib.scivec_encode_default_params()
        if pooling is not None:
            value = ctypes.c_int()
            check(lib.scivec_pooling_parse(_lib.to_bytes(pooling, "pooling"), ctypes.byref(value)))
            params.pooling = value.value
        params.normalize = 1 if normalize_embeddings else 0
        if max_length is not None:
            params.max_length = int(max_length)
        if truncate not in ("cut", "error"):
            raise ValueError(f"scivec: truncate must be 'cut' or 'error', got {truncate!r}")
        params.truncate_error = 1 if truncate == "error" else 0
        params.adapter_id = self.adapter_id if adapter_id is None else int(adapter_id)

        out = np.empty((len(data), self.dim), dtype=np.float32)
        bar = _progress_bar(show_progress_bar, len(data), "texts")
        row_bytes = self.dim * out.itemsize
        # The library packs texts into forwards of about 8192 tokens itself
        # (as `scivec encode`); handing it 32 texts at a time would starve
        # its products (2x slower on titles), so batch_size only sets how
        # many texts go per call when it is larger than CHUNK_TEXTS.
        step = max(batch_size, CHUNK_TEXTS)
        try:
            for start in range(0, len(data), step):
                chunk = data[start:start + step]
                texts_c = (ctypes.c_char_p * len(chunk))(*chunk)
                with self._lock:
                    # Written straight into out's buffer, rows start.. of it.
                    check(lib.scivec_model_encode_texts(
                        self._handle(), ctypes.byref(params), len(chunk), texts_c, None,
                        ctypes.c_void_p(out.ctypes.data + start * row_bytes), None))
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
        if single:
            out = out[0]
        return out if convert_to_numpy else list(out)

    def tokenize(self, texts, max_length=None):
        """HuggingFace-style {"input_ids", "token_type_ids", "attention_mask"}
        (lists of lists, no padding) for texts (a str or a list of str)."""
        single = isinstance(texts, (str, bytes))
        items = [texts] if single else list(texts)
        limit = self.max_seq_length if max_length is None else int(max_length)
        tok = lib.scivec_model_tokenizer(self._handle())
        out = {"input_ids": [], "token_type_ids": [], "attention_mask": []}
        for i, text in enumerate(items):
            data = _lib.to_bytes(text, f"text {i}")
            enc = _lib.Encoding()
            check(lib.scivec_tokenize(tok, data, len(data), None, 0, limit, ctypes.byref(enc)))
            try:
                n = enc.n_tokens
                out["input_ids"].append(enc.input_ids[:n])
                out["token_type_ids"].append(enc.token_type_ids[:n])
                out["attention_mask"].append([1] * n)
            finally:
                lib.scivec_encoding_clear(ctypes.byref(enc))
        if single:
            out = {k: v[0] for k, v in out.items()}
        return out

    def __repr__(self):
        return f"scivec.Model({self.path!r}, dim={self.dim})"
