"""The scivec Python package: pure Python (ctypes) over libscivec.so, which
is found at import time (SCIVEC_LIBRARY, pkg-config, the dynamic loader).
Install offline: pip install ./python (see README.md)."""
import re
from pathlib import Path

from setuptools import setup

here = Path(__file__).resolve().parent
version = re.search(r'SCIVEC_VERSION "([^"]+)"', (here.parent / "include" / "scivec.h").read_text()
                    if (here.parent / "include" / "scivec.h").exists() else 'SCIVEC_VERSION "0.1.0"')

setup(
    name="scivec",
    version=version.group(1),
    description="Embed scientific papers with BERT models and query the result (libscivec)",
    packages=["scivec"],
    python_requires=">=3.9",
    install_requires=["numpy"],
    extras_require={"progress": ["tqdm"], "frames": ["pandas"], "faiss": ["faiss-cpu"]},
)
