"""scivec: embed scientific papers with BERT-family models, in-process.

    import scivec
    model = scivec.Model("allenai/specter2_base")
    vectors = model.encode(["Attention is all you need"])   # float32 [1, 768]

    scivec.embed("papers.csv", "out", model="allenai/specter2_base")
    with scivec.open("out") as papers:
        papers.similar("0704.0001", k=5)                    # list of dicts
        papers.search("dark matter halos", k=10)
        papers.recommend(["0704.0001"], negative=["0704.0002"])
        papers.vectors                                      # numpy memmap

A thin ctypes layer over libscivec.so (include/scivec.h); the GIL is
released during every library call. Errors raise scivec.Error (with
subclasses NotFoundError, InvalidError) carrying scivec's message."""
from ._lib import Error, InvalidError, NotFoundError, lib as _clib
from ._model import Model
from ._embed import embed
from ._outdir import Outdir, open, check_dir as check

__version__ = _clib.scivec_version().decode()
__all__ = ["Model", "embed", "open", "check", "Outdir", "Error", "InvalidError", "NotFoundError"]
