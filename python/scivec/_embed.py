"""scivec.embed(input, out, model=..., **options): `scivec embed` in-process,
with a progress bar (tqdm when installed) and cancellation."""
import ctypes
import numbers
import os

from . import _lib
from ._lib import lib, check

_STRING_OPTIONS = {"id_column": "id_column", "text_column": "text_column",
                   "title_column": "title_column", "index": "index_factory",
                   "adapter": "adapter", "query_adapter": "query_adapter"}
_INT_OPTIONS = {"max_length": "max_length", "batch_tokens": "batch_tokens",
                "threads": "n_threads"}
_FLOAT_OPTIONS = {"precision_min_cosine": "precision_min_cosine",
                  "precision_min_overlap": "precision_min_overlap"}
_BOOL_OPTIONS = {"normalize": "normalize", "strict": "strict", "resume": "resume",
                 "db_vectors": "db_vectors", "force_precision": "force_precision"}


def _shard(value):
    """shard=(K, N) or "K/N" as (K, N), checked by the library as the CLI's
    --shard K/N is."""
    if isinstance(value, str):
        spec = value
    elif (isinstance(value, (tuple, list)) and len(value) == 2 and
          all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)):
        spec = f"{int(value[0])}/{int(value[1])}"
    else:
        _lib.raise_for(_lib.SCIVEC_EINVAL, f"scivec.embed: shard wants (K, N) or 'K/N', "
                                           f"got {value!r}")
    k, n = ctypes.c_int(), ctypes.c_int()
    if lib.scivec_shard_parse(_lib.to_bytes(spec, "shard"), ctypes.byref(k), ctypes.byref(n)):
        _lib.raise_for(_lib.SCIVEC_EINVAL, f"scivec.embed: shard {value!r}: {_lib.last_error()}")
    return k.value, n.value


def _params(input, out, model, options, keep):
    p = lib.scivec_embed_default_params()

    def s(value, what):
        data = _lib.to_bytes(os.fspath(value) if isinstance(value, os.PathLike) else value, what)
        keep.append(data)
        return data

    p.input, p.out_dir, p.model = s(input, "input"), s(out, "out"), s(model, "model")
    for name, value in options.items():
        if value is None:
            continue
        if name in _STRING_OPTIONS:
            setattr(p, _STRING_OPTIONS[name], s(value, name))
        elif name in _INT_OPTIONS:
            setattr(p, _INT_OPTIONS[name], int(value))
        elif name in _FLOAT_OPTIONS:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"scivec.embed: {name} wants a number, got {value!r}")
            setattr(p, _FLOAT_OPTIONS[name], float(value))
        elif name in _BOOL_OPTIONS:
            setattr(p, _BOOL_OPTIONS[name], 1 if value else 0)
        elif name in ("recipe", "text"):
            recipe = ctypes.c_int()
            check(lib.scivec_recipe_parse(s(value, name), ctypes.byref(recipe)))
            p.recipe = recipe.value
        elif name == "pooling":
            pooling = ctypes.c_int()
            check(lib.scivec_pooling_parse(s(value, name), ctypes.byref(pooling)))
            p.pooling = pooling.value
        elif name == "precision":
            precision = ctypes.c_int()
            check(lib.scivec_precision_parse(s(value, name), ctypes.byref(precision)))
            p.precision = precision.value
        elif name == "shard":
            p.shard_k, p.shard_n = _shard(value)
        elif name == "truncate":
            if value not in ("cut", "error"):
                raise ValueError(f"scivec: truncate must be 'cut' or 'error', got {value!r}")
            p.truncate_error = 1 if value == "error" else 0
        else:
            raise TypeError(f"scivec.embed: unknown option {name!r}")
    return p


def embed(input, out, model, show_progress_bar=True, callback=None, **options):
    """Embeds the papers of input (CSV with a header row, or JSON Lines) with
    model into the folder out (embeddings.npy, papers.index, papers.db,
    metadata.json), as `scivec embed INPUT --model M --out DIR` does.

    options (the CLI's flags): recipe ("abstract" | "title+abstract" |
    "specter2"), pooling, normalize, max_length, truncate ("cut" | "error"),
    id_column, text_column, title_column, index (FAISS factory string),
    batch_tokens, threads, strict, resume, adapter, query_adapter, db_vectors
    (also store each vector in papers.db, as --db-vectors; default False),
    precision ("fp32" | "bf16" | "int8": the dense layers, as --precision;
    bf16/int8 are checked against fp32 on a sample and refused below the
    thresholds precision_min_cosine (0.99) and precision_min_overlap (0.90)
    unless force_precision=True), shard ((K, N) or "K/N" with
    0 <= K < N: only the papers whose id hashes to shard K of N, as
    --shard K/N; join the folders with `scivec merge`).

    callback(done, total): called after every batch; returning True stops
    the run at that batch, with what was computed kept: the result says
    interrupted=True and embed(..., resume=True) continues it. Ctrl-C
    (KeyboardInterrupt) stops the same way, then is raised.

    Returns a dict of counts (n_papers, rows_read, skipped_*, ...,
    warnings: the reasons rows were skipped)."""
    keep = []
    params = _params(input, out, model, options, keep)
    warnings, stopped_by = [], []
    bar = None
    if show_progress_bar:
        try:
            from tqdm import tqdm
            bar = tqdm(unit="papers")
        except ImportError:
            bar = None
    params.count_total = 1 if bar is not None else 0

    def on_progress(done, total, user):
        try:
            if bar is not None:
                if total > 0 and bar.total != total:
                    bar.total = total
                bar.n = done
                bar.refresh()
            if callback is not None and callback(done, total):
                stopped_by.append(None)
                return 1
            return 0
        except BaseException as e:  # noqa: B036 - carried across the C call, raised after it
            stopped_by.append(e)
            return 1

    def on_warn(message, user):
        if len(warnings) < 10000:
            warnings.append(_lib.decode(message))

    params.progress = _lib.PROGRESS_FN(on_progress)
    params.warn = _lib.WARN_FN(on_warn)
    result = _lib.EmbedResult()
    try:
        status = lib.scivec_embed(ctypes.byref(params), ctypes.byref(result))
        message = _lib.last_error() if status else ""
    finally:
        if bar is not None:
            bar.close()
    if stopped_by and stopped_by[0] is not None:
        raise stopped_by[0]
    if status and not (result.interrupted and stopped_by):
        _lib.raise_for(status, message)
    counts = {name: getattr(result, name) for name, _ in _lib.EmbedResult._fields_}
    for name, value in counts.items():
        if isinstance(value, bytes):  # the char[] fields
            counts[name] = _lib.decode(value)
    quality = result.precision_quality
    counts["precision_quality"] = {name: getattr(quality, name) for name, _ in quality._fields_}
    counts["interrupted"] = bool(counts["interrupted"])
    counts["warnings"] = warnings
    counts["out"] = os.fspath(out)
    return counts
