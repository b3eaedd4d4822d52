"""scivec.embed against `scivec embed`: the same files; a run stopped by its
callback keeps what it computed and resume=True finishes it identically;
precision= and shard= do what --precision and --shard do."""
import hashlib
import json
import os
import pathlib
import sqlite3

import numpy as np
import pytest

import scivec
from conftest import MODEL, PAPERS, runs_fast


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


def metadata(out):
    return json.loads((out / "metadata.json").read_text())


def test_precision_int8_equals_cli(request, tmp_path):
    """precision="int8": the CLI's --precision int8 vectors, with the quality
    check against fp32 recorded; where this CPU lacks VNNI, the library's
    refusal and no folder."""
    out = tmp_path / "int8"
    if not runs_fast("int8"):
        with pytest.raises(scivec.Error, match="int8 needs AVX512_VNNI"):
            scivec.embed(PAPERS, out, model=MODEL, threads=2, precision="int8",
                         show_progress_bar=False)
        assert not (out / "embeddings.npy").exists()
        return
    result = scivec.embed(PAPERS, out, model=MODEL, threads=2, precision="int8",
                          show_progress_bar=False)
    meta = metadata(out)
    assert meta["precision"] == "int8"
    check = meta["precision_check"]
    assert check["n_papers"] == result["precision_quality"]["n"] > 0 and not check["forced"]
    assert check["mean_cosine"] == pytest.approx(result["precision_quality"]["mean_cosine"])
    assert check["mean_cosine"] >= check["min_cosine_threshold"]
    cli = request.getfixturevalue("cli_int8_outdir")
    theirs = np.load(os.path.join(cli, "embeddings.npy"))
    ours = np.load(out / "embeddings.npy")
    assert ours.shape == theirs.shape and np.abs(ours - theirs).max() <= 1e-6
    # int8 is not fp32: the check compares two different sets of vectors
    assert check["min_cosine"] < 1.0


def ids(out):
    with scivec.open(out) as d:
        return [p["paper_id"] for p in d.papers]


def test_shards_split_the_papers(cli_outdir, tmp_path):
    """shard=(0, 2) and "1/2": disjoint folders that together hold exactly
    the papers of the whole embed, each with its vectors, and say so."""
    full = ids(cli_outdir)
    full_vectors = np.load(os.path.join(cli_outdir, "embeddings.npy"))
    parts = []
    for k, shard in enumerate([(0, 2), "1/2"]):
        out = tmp_path / f"shard{k}"
        result = scivec.embed(PAPERS, out, model=MODEL, threads=2, shard=shard,
                              show_progress_bar=False)
        assert metadata(out)["shard"] == {"k": k, "n": 2}
        part = ids(out)
        assert result["n_papers"] == len(part) > 0
        vectors = np.load(out / "embeddings.npy")
        for row, paper_id in enumerate(part):
            assert np.abs(vectors[row] - full_vectors[full.index(paper_id)]).max() <= 1e-6
        parts.append(part)
    assert not set(parts[0]) & set(parts[1])
    assert sorted(parts[0] + parts[1]) == sorted(full) and len(full) == len(set(full))
    assert "shard" not in metadata(pathlib.Path(cli_outdir))


@pytest.mark.parametrize("shard", [(2, 2), "2/2", (-1, 2), "-1/2", (0, 0), "0/0", "1/x", "1",
                                   " 0/2", (0, 2, 3), (0,), (0.0, 2), (True, 2), 2, "0/2000000"])
def test_bad_shard_raises_naming_it(shard, tmp_path):
    with pytest.raises(scivec.InvalidError, match="shard"):
        scivec.embed(PAPERS, tmp_path / "o", model=MODEL, shard=shard, show_progress_bar=False)
    assert not (tmp_path / "o").exists()


def test_bad_precision_raises_naming_it(tmp_path):
    with pytest.raises(scivec.InvalidError, match="precision 'fp16': expected fp32, bf16 or int8"):
        scivec.embed(PAPERS, tmp_path / "o", model=MODEL, precision="fp16",
                     show_progress_bar=False)
    with pytest.raises(TypeError, match="precision must be str"):
        scivec.embed(PAPERS, tmp_path / "o", model=MODEL, precision=8, show_progress_bar=False)
    assert not (tmp_path / "o").exists()


def test_precision_thresholds(tmp_path):
    """precision_min_cosine / precision_min_overlap reach the quality check:
    an overlap above 1 cannot be met, so the run stops and names it; forced,
    the folder records the thresholds asked for. NaN is refused up front."""
    if not runs_fast("int8"):  # refused before any threshold applies
        with pytest.raises(scivec.Error, match="int8 needs AVX512_VNNI"):
            scivec.embed(PAPERS, tmp_path / "strict", model=MODEL, precision="int8",
                         precision_min_overlap=1.5, show_progress_bar=False)
        return
    with pytest.raises(scivec.InvalidError, match=r"overlap [0-9.]+ \(threshold 1\.50\)"):
        scivec.embed(PAPERS, tmp_path / "strict", model=MODEL, threads=2, precision="int8",
                     precision_min_overlap=1.5, show_progress_bar=False)
    assert not (tmp_path / "strict" / "embeddings.npy").exists()
    scivec.embed(PAPERS, tmp_path / "forced", model=MODEL, threads=2, precision="int8",
                 precision_min_cosine=0.5, precision_min_overlap=1.5, force_precision=True,
                 show_progress_bar=False)
    check = metadata(tmp_path / "forced")["precision_check"]
    assert check["forced"] is True
    assert check["min_cosine_threshold"] == 0.5 and check["min_overlap_threshold"] == 1.5
    with pytest.raises(scivec.InvalidError, match="precision_min_cosine nan: want a number"):
        scivec.embed(PAPERS, tmp_path / "nan", model=MODEL, precision="int8",
                     precision_min_cosine=float("nan"), show_progress_bar=False)
    with pytest.raises(TypeError, match="precision_min_overlap wants a number"):
        scivec.embed(PAPERS, tmp_path / "o", model=MODEL, precision_min_overlap="0.9",
                     show_progress_bar=False)
    assert not (tmp_path / "nan").exists() and not (tmp_path / "o").exists()
