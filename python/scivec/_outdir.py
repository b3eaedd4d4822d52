"""scivec.open(dir): the output folder of `scivec embed` / scivec.embed,
queried in-process (similar papers, free-text search, recommendations),
with the embeddings as a memory-mapped numpy array.

An Outdir may be shared by threads; search() runs the query model the
folder keeps, one call at a time (a lock)."""
import ctypes
import json
import os

import numpy as np

from . import _lib
from ._lib import lib, check


def _as_frame(rows):
    import pandas as pd
    return pd.DataFrame(rows, columns=["rank", "paper_id", "score", "title", "categories", "year"])


def _make_filter(category, year):
    """The C filter for category (str or list) and year (2024, "2020-2024"
    or (2020, 2024)); None when there is none. Returns (filter, keepalive)."""
    if category is None and year is None:
        return None, None
    f = _lib.Filter()
    cats = [category] if isinstance(category, str) else list(category or [])
    keep = None
    if cats:
        keep = (ctypes.c_char_p * len(cats))(*[_lib.to_bytes(c, "category") for c in cats])
        f.categories = keep
        f.n_categories = len(cats)
    if year is not None:
        if isinstance(year, (tuple, list)):
            lo, hi = year
            text = f"{int(lo)}-{int(hi)}"
        else:
            text = str(year)
        check(lib.scivec_filter_parse_year(_lib.to_bytes(text, "year"), ctypes.byref(f)))
    return f, keep


def _paper_dict(paper):
    cats = _lib.decode(paper.categories)
    return {"paper_id": _lib.decode(paper.paper_id) or "",
            "title": _lib.decode(paper.title),
            "categories": cats.split() if cats else [],
            "year": paper.year if paper.has_year else None}


class Outdir(_lib.Handle):
    """An opened output folder; see scivec.open."""

    def __init__(self, path, _check=None):
        super().__init__()
        handle = ctypes.c_void_p()
        data = _lib.to_bytes(os.fspath(path), "dir")
        if _check is None:
            check(lib.scivec_outdir_open(data, ctypes.byref(handle)))
        else:
            check(lib.scivec_outdir_check(data, 1 if _check else 0, ctypes.byref(handle)))
        self._ptr = handle
        self.path = os.fspath(path)
        self._vectors = None

    # ------------------------------------------------------------ about
    _what = "output folder"

    def _free(self, ptr):
        self._vectors = None
        lib.scivec_outdir_free(ptr)

    def __len__(self):
        return lib.scivec_outdir_n_papers(self._handle())

    @property
    def dim(self):
        return lib.scivec_outdir_dim(self._handle())

    @property
    def metadata(self):
        text = lib.scivec_outdir_metadata_json(self._handle())
        return json.loads(text) if text else None

    @property
    def precision(self):
        """The precision the papers were embedded in ("fp32", "bf16", "int8")."""
        return _lib.decode(lib.scivec_outdir_precision(self._handle()))

    @property
    def problems(self):
        h = self._handle()
        return [_lib.decode(lib.scivec_outdir_problem(h, i))
                for i in range(lib.scivec_outdir_n_problems(h))]

    @property
    def notes(self):
        """What loading the query model said (adapter used, warnings)."""
        h = self._handle()
        return [_lib.decode(lib.scivec_outdir_note(h, i)) for i in range(lib.scivec_outdir_n_notes(h))]

    @property
    def vectors(self):
        """embeddings.npy as a read-only memory-mapped float32 [n, dim] array."""
        if self._vectors is None:
            self._vectors = np.load(os.path.join(self.path, "embeddings.npy"), mmap_mode="r")
        return self._vectors

    def paper(self, row):
        """The paper in row (int) as a dict, or the row of a paper id (str)."""
        h = self._handle()
        if isinstance(row, str):
            found = ctypes.c_int64()
            check(lib.scivec_outdir_find(h, _lib.to_bytes(row, "paper_id"), ctypes.byref(found)))
            return found.value
        p = _lib.Paper()
        check(lib.scivec_outdir_paper(h, int(row), ctypes.byref(p)))
        try:
            return _paper_dict(p)
        finally:
            lib.scivec_paper_clear(ctypes.byref(p))

    def row(self, paper_id):
        return self.paper(str(paper_id))

    @property
    def papers(self):
        """Every paper, in row order, as a list of dicts (paper_id, title,
        categories, year)."""
        return [self.paper(i) for i in range(len(self))]

    def faiss_index(self):
        """papers.index read with faiss (ids = rows), when faiss is importable."""
        import faiss
        return faiss.read_index(os.path.join(self.path, "papers.index"))

    # ------------------------------------------------------------ queries
    def _results(self, hits, n, as_frame):
        rows = []
        for i in range(n.value):
            d = self.paper(hits[i].row)
            rows.append({"rank": i + 1, "paper_id": d["paper_id"], "score": float(hits[i].score),
                         "title": d["title"], "categories": d["categories"], "year": d["year"],
                         "row": int(hits[i].row)})
        if as_frame:
            return _as_frame(rows)
        return rows

    @staticmethod
    def _k(k):
        if int(k) < 1:
            raise ValueError(f"scivec: k must be >= 1, got {k}")
        return int(k)

    def similar(self, paper_id, k=5, category=None, year=None, as_frame=False):
        """The k papers most similar to paper_id (itself left out), best first."""
        k = self._k(k)
        f, keep = _make_filter(category, year)
        hits, n = (_lib.Hit * k)(), ctypes.c_int64()
        check(lib.scivec_outdir_similar(self._handle(), _lib.to_bytes(str(paper_id), "paper_id"), k,
                                        ctypes.byref(f) if f else None, hits, ctypes.byref(n)))
        return self._results(hits, n, as_frame)

    def nearest(self, vector, k=10, category=None, year=None, as_frame=False):
        """The k papers closest (cosine) to a vector of dim floats."""
        k = self._k(k)
        q = np.ascontiguousarray(vector, dtype=np.float32)
        if q.shape != (self.dim,):
            raise ValueError(f"scivec: the vector has shape {q.shape}, expected ({self.dim},)")
        f, keep = _make_filter(category, year)
        hits, n = (_lib.Hit * k)(), ctypes.c_int64()
        check(lib.scivec_outdir_nearest(self._handle(), q.ctypes.data, k, -1,
                                        ctypes.byref(f) if f else None, hits, ctypes.byref(n)))
        return self._results(hits, n, as_frame)

    def search(self, text, k=10, category=None, year=None, model=None, threads=None,
               verify_model=False, precision=None, force_precision=False, as_frame=False):
        """The k papers closest to free text, embedded as metadata.json says
        (model, pooling, normalisation, query adapter). The model is loaded on
        the first search and kept; model/threads/verify_model apply to it, and
        a later search asking for other values (or precision) raises
        InvalidError: open the folder again for those.
        precision: the query model's dense layers, "fp32" | "bf16" | "int8"
        (None: the folder's, .precision, as `scivec search`); another than
        the folder's is refused unless force_precision, and one this CPU
        cannot run fast raises scivec.Error with the reason."""
        k = self._k(k)
        f, keep = _make_filter(category, year)
        sp = lib.scivec_search_default_params()
        model_b = _lib.to_bytes(os.fspath(model), "model") if model is not None else None
        sp.model = model_b
        sp.n_threads = int(threads or 0)
        sp.verify_model = 1 if verify_model else 0
        if precision is not None:
            precision_b = _lib.to_bytes(precision, "precision")
            check(lib.scivec_precision_parse(precision_b, ctypes.byref(ctypes.c_int())))
            sp.precision = precision_b
        sp.force_precision = 1 if force_precision else 0
        hits, n = (_lib.Hit * k)(), ctypes.c_int64()
        with self._lock:
            # the library keeps the first search's query model and refuses a
            # later one asking for another model, threads, precision or
            # verify_model
            check(lib.scivec_outdir_search(self._handle(), ctypes.byref(sp), _lib.to_bytes(text, "text"),
                                           k, ctypes.byref(f) if f else None, hits, ctypes.byref(n)))
        return self._results(hits, n, as_frame)

    def recommend(self, positive, negative=(), k=10, category=None, year=None, as_frame=False):
        """Papers like the positive paper ids and unlike the negative ones
        (unit(mean(positives) - mean(negatives))), the inputs left out."""
        k = self._k(k)
        pos = [positive] if isinstance(positive, str) else list(positive)
        neg = [negative] if isinstance(negative, str) else list(negative)
        if not pos:
            raise ValueError("scivec: recommend needs at least one positive paper id")
        pos_c = (ctypes.c_char_p * len(pos))(*[_lib.to_bytes(str(p), "paper_id") for p in pos])
        neg_c = (ctypes.c_char_p * max(len(neg), 1))(*[_lib.to_bytes(str(p), "paper_id") for p in neg])
        f, keep = _make_filter(category, year)
        hits, n = (_lib.Hit * k)(), ctypes.c_int64()
        check(lib.scivec_outdir_recommend(self._handle(), pos_c, len(pos), neg_c, len(neg), k,
                                          ctypes.byref(f) if f else None, hits, ctypes.byref(n)))
        return self._results(hits, n, as_frame)

    def __repr__(self):
        return f"scivec.open({self.path!r})  # {len(self)} papers, dim {self.dim}"


def open(path):  # noqa: A001 - scivec.open, as the issue names it
    """Opens an output folder of `scivec embed`; refuses one whose four files
    disagree (scivec.check lists the problems instead)."""
    return Outdir(path)


def check_dir(path, full=True):
    """What `scivec info` checks: an Outdir whose .problems lists every
    disagreement between the four files (empty when they agree)."""
    return Outdir(path, _check=full)
