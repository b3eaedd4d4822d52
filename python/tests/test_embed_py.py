"""scivec.embed against `scivec embed`: the same files; a run stopped by its
callback keeps what it computed and resume=True finishes it identically."""
import hashlib
import json
import os
import sqlite3

import numpy as np
import pytest

import scivec
from conftest import MODEL, PAPERS


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_embed_equals_cli(cli_outdir, tmp_path):
    out = tmp_path / "py"
    result = scivec.embed(PAPERS, out, model=MODEL, threads=2, show_progress_bar=False)
    assert result["n_papers"] == len(scivec.open(cli_outdir)) and not result["interrupted"]
    assert digest(out / "embeddings.npy") == digest(os.path.join(cli_outdir, "embeddings.npy"))
    # db_vectors is off by default: the vectors live in embeddings.npy only
    assert json.loads((out / "metadata.json").read_text())["db_vectors"] is False
    assert db_blobs(out) and all(blob is None for _, blob in db_blobs(out))


def db_blobs(out):
    """papers.db's (row, embedding) pairs in row order."""
    con = sqlite3.connect(out / "papers.db")
    try:
        return con.execute("SELECT row, embedding FROM papers ORDER BY row").fetchall()
    finally:
        con.close()


def test_db_vectors_stores_each_vector_in_papers_db(tmp_path):
    out = tmp_path / "dbv"
    result = scivec.embed(PAPERS, out, model=MODEL, threads=2, db_vectors=True,
                          show_progress_bar=False)
    assert json.loads((out / "metadata.json").read_text())["db_vectors"] is True
    vectors = np.load(out / "embeddings.npy")
    blobs = db_blobs(out)
    assert len(blobs) == len(vectors) == result["n_papers"] > 0
    for row, blob in blobs:
        assert blob is not None and np.array_equal(np.frombuffer(blob, dtype="<f4"), vectors[row])
    with scivec.check(out) as checked:  # what `scivec info` checks, BLOBs included
        assert checked.problems == []


def test_stop_and_resume(tmp_path):
    whole = tmp_path / "whole"
    scivec.embed(PAPERS, whole, model=MODEL, threads=2, batch_tokens=2048, show_progress_bar=False)
    calls = []

    def stop_after_first_batch(done, total):
        calls.append(done)
        return done > 0

    out = tmp_path / "stopped"
    first = scivec.embed(PAPERS, out, model=MODEL, threads=2, batch_tokens=2048,
                         show_progress_bar=False, callback=stop_after_first_batch)
    assert first["interrupted"] and 0 < first["n_papers"] < 300 or first["rows_read"] < 300
    assert not (out / "embeddings.npy").exists() and (out / ".scivec-work").is_dir()
    rest = scivec.embed(PAPERS, out, model=MODEL, threads=2, batch_tokens=2048, resume=True,
                        show_progress_bar=False)
    assert not rest["interrupted"] and rest["resumed_rows"] > 0
    assert np.array_equal(np.load(out / "embeddings.npy"), np.load(whole / "embeddings.npy"))


def test_callback_exception_stops_and_propagates(tmp_path):
    def boom(done, total):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        scivec.embed(PAPERS, tmp_path / "o", model=MODEL, threads=2, batch_tokens=2048,
                     show_progress_bar=False, callback=boom)
    assert (tmp_path / "o" / ".scivec-work").is_dir()


def test_bad_input_raises_with_message(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("paper_id,title\n1,no abstract column\n")
    with pytest.raises(scivec.Error, match="abstract"):
        scivec.embed(str(bad), tmp_path / "o", model=MODEL, show_progress_bar=False)
    with pytest.raises(TypeError, match="unknown option"):
        scivec.embed(PAPERS, tmp_path / "o", model=MODEL, colour="red")
    with pytest.raises(scivec.InvalidError, match="recipe|bogus"):
        scivec.embed(PAPERS, tmp_path / "o", model=MODEL, recipe="bogus")
    assert not (tmp_path / "o" / "embeddings.npy").exists()
