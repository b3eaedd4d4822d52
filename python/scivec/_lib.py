"""The ctypes binding of libscivec: finding the shared library, the C
structs of include/scivec.h, the prototypes, and turning a failed call's
status into an exception that carries scivec_last_error().

ctypes releases the GIL for every call through a CDLL, so encoding,
embedding and searching let other Python threads run."""
import ctypes
import ctypes.util
import os
import shutil
import subprocess
import threading

SOVERSION = "0.1"
_LIB_NAME = "libscivec.so." + SOVERSION

c_int, c_int64, c_float, c_char_p, c_void_p = (ctypes.c_int, ctypes.c_int64, ctypes.c_float,
                                               ctypes.c_char_p, ctypes.c_void_p)
POINTER = ctypes.POINTER


class Error(RuntimeError):
    """A scivec call failed; str(e) is scivec's one-line message and
    e.status its SCIVEC_E* code (negative)."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


class NotFoundError(Error, LookupError):
    """SCIVEC_ENOTFOUND: a file, model or paper is missing."""


class InvalidError(Error, ValueError):
    """SCIVEC_EINVAL / SCIVEC_EFORMAT / SCIVEC_ETOOLONG: bad input."""


# ---------------------------------------------------------------- structs

class ModelParams(ctypes.Structure):
    _fields_ = [("n_threads", c_int), ("precision", c_int)]


class EncodeParams(ctypes.Structure):
    _fields_ = [("pooling", c_int), ("normalize", c_int), ("max_length", c_int),
                ("truncate_error", c_int), ("adapter_id", c_int), ("prompt_name", c_char_p)]


class EncodeStats(ctypes.Structure):
    _fields_ = [("n_tokens", c_int64), ("n_truncated", c_int), ("n_invalid_utf8", c_int)]


class Encoding(ctypes.Structure):
    _fields_ = [("input_ids", POINTER(ctypes.c_int32)), ("token_type_ids", POINTER(ctypes.c_int32)),
                ("n_tokens", c_int), ("n_tokens_untruncated", c_int), ("n_invalid_utf8", c_int)]


PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_int64, c_int64, c_void_p)
WARN_FN = ctypes.CFUNCTYPE(None, c_char_p, c_void_p)
INDEX_PROGRESS_FN = ctypes.CFUNCTYPE(None, c_char_p, c_int64, c_int64, c_void_p)


class EmbedParams(ctypes.Structure):
    _fields_ = [("input", c_char_p), ("model", c_char_p), ("out_dir", c_char_p),
                ("recipe", c_int), ("pooling", c_int), ("normalize", c_int),
                ("max_length", c_int), ("truncate_error", c_int),
                ("id_column", c_char_p), ("text_column", c_char_p), ("title_column", c_char_p),
                ("index_factory", c_char_p), ("batch_tokens", c_int), ("n_threads", c_int),
                ("strict", c_int), ("resume", c_int), ("restart", c_int), ("count_total", c_int),
                ("adapter", c_char_p), ("query_adapter", c_char_p),
                ("prompt", c_char_p), ("query_prompt", c_char_p),
                ("precision", c_int), ("force_precision", c_int),
                ("precision_min_cosine", ctypes.c_double), ("precision_min_overlap", ctypes.c_double),
                ("shard_k", c_int), ("shard_n", c_int),
                ("stop", POINTER(c_int)), ("progress", PROGRESS_FN), ("warn", WARN_FN),
                ("index_progress", INDEX_PROGRESS_FN), ("user", c_void_p),
                ("db_vectors", c_int)]


class PrecisionQuality(ctypes.Structure):
    _fields_ = [("n", c_int), ("top_k", c_int), ("mean_cosine", ctypes.c_double),
                ("min_cosine", ctypes.c_double), ("top_k_overlap", ctypes.c_double)]


class EmbedResult(ctypes.Structure):
    _fields_ = [("rows_read", c_int64), ("n_papers", c_int64),
                ("skipped_empty_text", c_int64), ("skipped_malformed", c_int64),
                ("skipped_duplicate_id", c_int64), ("skipped_wrong_type", c_int64),
                ("n_utf8_repaired", c_int64), ("n_truncated", c_int64),
                ("n_invalid_utf8", c_int64), ("resumed_rows", c_int64),
                ("dim", c_int), ("max_length", c_int),
                ("pooling", ctypes.c_char * 16), ("pooling_reason", ctypes.c_char * 128),
                ("index_type", ctypes.c_char * 64), ("adapter", ctypes.c_char * 128),
                ("adapter_note", ctypes.c_char * 256), ("query_adapter", ctypes.c_char * 128),
                ("interrupted", c_int), ("index_search", ctypes.c_char * 256),
                ("precision_quality", PrecisionQuality)]


class Paper(ctypes.Structure):
    _fields_ = [("paper_id", c_char_p), ("title", c_char_p), ("categories", c_char_p),
                ("has_year", c_int), ("year", c_int)]


class Filter(ctypes.Structure):
    _fields_ = [("categories", POINTER(c_char_p)), ("n_categories", c_int),
                ("has_year", c_int), ("year_min", c_int), ("year_max", c_int)]


class Hit(ctypes.Structure):
    _fields_ = [("row", c_int64), ("score", c_float)]


class SearchParams(ctypes.Structure):
    _fields_ = [("model", c_char_p), ("n_threads", c_int), ("verify_model", c_int),
                ("precision", c_char_p), ("force_precision", c_int)]


# ---------------------------------------------------------------- loading

def _candidates():
    """Where libscivec may be, in the order tried."""
    env = os.environ.get("SCIVEC_LIBRARY")
    if env:
        yield env
        return
    try:  # written by `cmake --build` into build/python/scivec
        from . import _build
        yield _build.LIBRARY
    except ImportError:
        pass
    if shutil.which("pkg-config"):
        try:
            libdir = subprocess.run(["pkg-config", "--variable=libdir", "scivec"], check=True,
                                    capture_output=True, text=True).stdout.strip()
            if libdir:
                yield os.path.normpath(os.path.join(libdir, _LIB_NAME))
        except (OSError, subprocess.CalledProcessError):
            pass
    found = ctypes.util.find_library("scivec")
    if found:
        yield found
    yield _LIB_NAME  # the dynamic loader's own search (LD_LIBRARY_PATH, ld.so.cache)


def _load():
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError("scivec: cannot load libscivec: tried " + "; ".join(tried) +
                      ". Set SCIVEC_LIBRARY to the path of libscivec.so, or install libscivec "
                      "(cmake --install build) so that pkg-config or the dynamic loader finds it")


lib = _load()

_PROTOTYPES = {
    "scivec_last_error": (c_char_p, []),
    "scivec_version": (c_char_p, []),
    "scivec_model_default_params": (ModelParams, []),
    "scivec_precision_parse": (c_int, [c_char_p, POINTER(c_int)]),
    "scivec_model_dim": (c_int, [c_void_p]),
    "scivec_model_load": (c_int, [c_char_p, POINTER(ModelParams), POINTER(c_void_p)]),
    "scivec_model_free": (None, [c_void_p]),
    "scivec_model_hidden_size": (c_int, [c_void_p]),
    "scivec_model_max_length": (c_int, [c_void_p]),
    "scivec_model_tokenizer": (c_void_p, [c_void_p]),
    "scivec_model_dir": (c_char_p, [c_void_p]),
    "scivec_model_warning": (c_char_p, [c_void_p]),
    "scivec_model_add_adapter": (c_int, [c_void_p, c_char_p, POINTER(c_int)]),
    "scivec_pooling_parse": (c_int, [c_char_p, POINTER(c_int)]),
    "scivec_encode_default_params": (EncodeParams, []),
    "scivec_model_encode_texts": (c_int, [c_void_p, POINTER(EncodeParams), c_int,
                                          POINTER(c_char_p), POINTER(c_char_p), c_void_p,
                                          POINTER(EncodeStats)]),
    "scivec_tokenize": (c_int, [c_void_p, c_char_p, ctypes.c_size_t, c_char_p, ctypes.c_size_t,
                                c_int, POINTER(Encoding)]),
    "scivec_encoding_clear": (None, [POINTER(Encoding)]),
    "scivec_recipe_parse": (c_int, [c_char_p, POINTER(c_int)]),
    "scivec_embed_default_params": (EmbedParams, []),
    "scivec_embed": (c_int, [POINTER(EmbedParams), POINTER(EmbedResult)]),
    "scivec_shard_parse": (c_int, [c_char_p, POINTER(c_int), POINTER(c_int)]),
    "scivec_outdir_open": (c_int, [c_char_p, POINTER(c_void_p)]),
    "scivec_outdir_check": (c_int, [c_char_p, c_int, POINTER(c_void_p)]),
    "scivec_outdir_free": (None, [c_void_p]),
    "scivec_outdir_n_problems": (c_int, [c_void_p]),
    "scivec_outdir_problem": (c_char_p, [c_void_p, c_int]),
    "scivec_outdir_metadata_json": (c_char_p, [c_void_p]),
    "scivec_outdir_n_papers": (c_int64, [c_void_p]),
    "scivec_outdir_dim": (c_int, [c_void_p]),
    "scivec_outdir_find": (c_int, [c_void_p, c_char_p, POINTER(c_int64)]),
    "scivec_outdir_paper": (c_int, [c_void_p, c_int64, POINTER(Paper)]),
    "scivec_paper_clear": (None, [POINTER(Paper)]),
    "scivec_filter_parse_year": (c_int, [c_char_p, POINTER(Filter)]),
    "scivec_outdir_similar": (c_int, [c_void_p, c_char_p, c_int64, POINTER(Filter),
                                      POINTER(Hit), POINTER(c_int64)]),
    "scivec_outdir_nearest": (c_int, [c_void_p, c_void_p, c_int64, c_int64, POINTER(Filter),
                                      POINTER(Hit), POINTER(c_int64)]),
    "scivec_outdir_recommend": (c_int, [c_void_p, POINTER(c_char_p), c_int, POINTER(c_char_p),
                                        c_int, c_int64, POINTER(Filter), POINTER(Hit),
                                        POINTER(c_int64)]),
    "scivec_search_default_params": (SearchParams, []),
    "scivec_outdir_precision": (c_char_p, [c_void_p]),
    "scivec_outdir_search": (c_int, [c_void_p, POINTER(SearchParams), c_char_p, c_int64,
                                     POINTER(Filter), POINTER(Hit), POINTER(c_int64)]),
    "scivec_outdir_n_notes": (c_int, [c_void_p]),
    "scivec_outdir_note": (c_char_p, [c_void_p, c_int]),
}

for _name, (_restype, _argtypes) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes

SCIVEC_EINVAL = -1
SCIVEC_ENOTFOUND = -6
_INVALID = (-1, -3, -7)  # EINVAL, EFORMAT, ETOOLONG


def last_error():
    return (lib.scivec_last_error() or b"").decode("utf-8", "replace")


def check(status):
    """Raises the exception for a failed call's status; call it right after
    the call, on the same thread (scivec_last_error is per thread)."""
    if status != 0:
        raise_for(status, last_error())


def raise_for(status, message):
    """The exception of a failed status, with scivec's message."""
    if status == SCIVEC_ENOTFOUND:
        raise NotFoundError(message, status)
    if status in _INVALID:
        raise InvalidError(message, status)
    raise Error(message, status)


def to_bytes(text, what):
    if isinstance(text, bytes):
        data = text
    elif isinstance(text, str):
        data = text.encode("utf-8")
    elif isinstance(text, os.PathLike):
        data = os.fsencode(text)
    else:
        raise TypeError(f"scivec: {what} must be str, got {type(text).__name__}")
    if b"\0" in data:
        raise ValueError(f"scivec: {what} holds a NUL character")
    return data


def decode(b):
    return None if b is None else b.decode("utf-8", "replace")


class Handle:
    """A library handle a Python object owns: _free(ptr) releases it once, on
    close(), at the end of a with block, or when the object is collected.
    _lock also serialises the calls that use it (a handle is one thread at a
    time in the C API)."""

    _what = "handle"  # "the model is closed"

    def __init__(self):
        self._ptr = None
        self._lock = threading.Lock()

    def _free(self, ptr):
        raise NotImplementedError

    def _handle(self):
        if not self._ptr:
            raise ValueError(f"scivec: the {self._what} is closed")
        return self._ptr

    def close(self):
        with self._lock:
            if self._ptr:
                ptr, self._ptr = self._ptr, None
                self._free(ptr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        ptr = getattr(self, "_ptr", None)
        if ptr:
            self._ptr = None
            self._free(ptr)
