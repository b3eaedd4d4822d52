"""scivec.open(...) against the CLI on the same output folder: similar and
search equal `scivec similar/search --json`; recommend equals a numpy
reference of its rule; vectors, papers and the FAISS index read right."""
import json
import re

import numpy as np
import pytest

import scivec
from conftest import MODEL, run_cli, runs_fast

FIELDS = ["rank", "paper_id", "score", "title", "categories", "year"]


@pytest.fixture(scope="module")
def papers(cli_outdir):
    with scivec.open(cli_outdir) as p:
        yield p


def strip(hits):
    """The CLI's JSON fields; scores as the float32 they are (cJSON prints
    15 significant digits, which round back to the same float32)."""
    return [{k: np.float32(h[k]) if k == "score" else h[k] for k in FIELDS} for h in hits]


def cli_json(*args):
    return strip(json.loads(run_cli(*args, "--json")))


@pytest.mark.parametrize("filters", [[], ["--category", "hep-ph"], ["--year", "2007-2008"],
                                     ["--category", "cs", "--year", "2026"]])
def test_similar_equals_cli(papers, cli_outdir, filters):
    kwargs = {}
    if "--category" in filters:
        kwargs["category"] = filters[filters.index("--category") + 1]
    if "--year" in filters:
        kwargs["year"] = filters[filters.index("--year") + 1]
    for paper_id in ["0704.0001", papers.papers[150]["paper_id"], papers.papers[-1]["paper_id"]]:
        ours = papers.similar(paper_id, k=7, **kwargs)
        theirs = cli_json("similar", cli_outdir, paper_id, "-k", "7", *filters)
        assert strip(ours) == theirs
        assert len(ours) > 0


def test_search_equals_cli(papers, cli_outdir):
    for text in ["quantum chromodynamics at the LHC", "graph neural networks", "é"]:
        ours = papers.search(text, k=10, threads=2)
        theirs = cli_json("search", cli_outdir, text, "-k", "10", "--threads", "2")
        assert strip(ours) == theirs


QUERIES = ["quantum chromodynamics at the LHC", "graph neural networks"]


def test_search_int8_equals_cli(cli_int8_outdir):
    """An int8 folder: its queries in int8, by default and asked for, give
    `scivec search --precision int8`'s papers and scores."""
    for kwargs in ({"precision": "int8"}, {}):
        with scivec.open(cli_int8_outdir) as p:
            assert p.precision == "int8"
            for text in QUERIES:
                ours = p.search(text, k=10, threads=2, **kwargs)
                theirs = cli_json("search", cli_int8_outdir, text, "-k", "10", "--threads", "2",
                                  "--precision", "int8")
                assert strip(ours) == theirs and len(ours) == 10
    with scivec.open(cli_int8_outdir) as p:
        with pytest.raises(scivec.InvalidError, match="precision fp32 asked for.*int8.*force"):
            p.search(QUERIES[0], precision="fp32")


def test_search_forced_precision_equals_cli(cli_outdir):
    """An fp32 folder searched in int8: refused unless forced, then the
    CLI's --precision int8 --force-precision answer, which is not fp32's;
    where int8 would be slow, refused with the library's reason."""
    with scivec.open(cli_outdir) as p:
        assert p.precision == "fp32"
        with pytest.raises(scivec.InvalidError, match="precision int8 asked for.*fp32.*force"):
            p.search(QUERIES[0], precision="int8")
        if not runs_fast("int8"):
            with pytest.raises(scivec.Error, match="int8 needs AVX512_VNNI"):
                p.search(QUERIES[0], precision="int8", force_precision=True)
            return
        ours = [p.search(t, k=10, threads=2, precision="int8", force_precision=True) for t in QUERIES]
        # the model is kept: another precision later is refused, not ignored
        with pytest.raises(scivec.InvalidError, match="loaded in int8"):
            p.search(QUERIES[0], precision="fp32")
        assert strip(p.search(QUERIES[0], k=10, threads=2, precision="int8")) == strip(ours[0])
    for text, got in zip(QUERIES, ours):
        theirs = cli_json("search", cli_outdir, text, "-k", "10", "--threads", "2",
                          "--precision", "int8", "--force-precision")
        fp32 = cli_json("search", cli_outdir, text, "-k", "10", "--threads", "2")
        assert strip(got) == theirs
        assert [h["score"] for h in theirs] != [h["score"] for h in fp32]


def test_search_bad_precision_names_the_parameter(papers):
    with pytest.raises(scivec.InvalidError, match="precision 'fp16': expected fp32, bf16 or int8"):
        papers.search(QUERIES[0], precision="fp16")
    with pytest.raises(ValueError, match="precision"):
        papers.search(QUERIES[0], precision="")
    with pytest.raises(TypeError, match="precision must be str"):
        papers.search(QUERIES[0], precision=8)


def test_later_search_with_another_query_model_raises(cli_outdir):
    """The first search's model, threads and verify_model are kept: a later
    search asking for others is refused, one leaving them out or asking the
    same is answered as the first."""
    with scivec.open(cli_outdir) as p:
        first = p.search(QUERIES[0], k=5, threads=2)
        for kwargs, name in [({"model": MODEL}, "model"), ({"threads": 1}, "threads"),
                             ({"verify_model": True}, "verify_model")]:
            with pytest.raises(scivec.InvalidError, match=f"search\\({name}=.*first search.*"
                                                          f"open the folder again"):
                p.search(QUERIES[0], k=5, **kwargs)
        assert p.search(QUERIES[0], k=5) == first
        assert p.search(QUERIES[0], k=5, threads=2, verify_model=False) == first
    with scivec.open(cli_outdir) as p:  # opened again: another model is loaded as asked
        assert strip(p.search(QUERIES[0], k=5, model=MODEL, threads=1, verify_model=True)) == \
            strip(first)
        with pytest.raises(scivec.InvalidError, match="threads=2.*threads=1"):
            p.search(QUERIES[0], k=5, threads=2)


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_recommend_equals_numpy_reference(papers):
    vectors = np.asarray(papers.vectors, dtype=np.float64)
    ids = [p["paper_id"] for p in papers.papers]
    pos, neg = [ids[3], ids[40]], [ids[7]]
    rows = [ids.index(i) for i in pos + neg]
    query = unit(unit(vectors[rows[:2]]).mean(0) - unit(vectors[rows[2:]]).mean(0))
    scores = unit(vectors) @ query
    scores[rows] = -np.inf
    expected = [ids[r] for r in np.argsort(-scores, kind="stable")[:10]]
    got = papers.recommend(pos, negative=neg, k=10)
    assert [h["paper_id"] for h in got] == expected
    assert np.allclose([h["score"] for h in got], np.sort(scores)[::-1][:10], atol=1e-5)


def test_vectors_papers_and_index(papers, cli_outdir):
    v = papers.vectors
    assert isinstance(v, np.memmap) and v.dtype == np.float32 and v.shape == (len(papers), papers.dim)
    assert len(papers.papers) == len(papers) == v.shape[0] == papers.metadata["n_papers"]
    faiss = pytest.importorskip("faiss")
    index = papers.faiss_index()
    assert isinstance(index, faiss.Index) and index.ntotal == len(papers)
    scores, rows = index.search(np.ascontiguousarray(v[:1]), 3)
    assert rows[0][0] == 0
    assert papers.paper(papers.papers[5]["paper_id"]) == 5
    assert papers.problems == []


def test_frame(papers):
    pd = pytest.importorskip("pandas")
    frame = papers.similar("0704.0001", k=3, as_frame=True)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == FIELDS and len(frame) == 3


def test_bad_queries_raise_with_message(papers, tmp_path):
    with pytest.raises(scivec.NotFoundError, match="no-such-paper"):
        papers.similar("no-such-paper")
    with pytest.raises(scivec.InvalidError, match="2020-19"):
        papers.similar("0704.0001", year="2020-19x")
    with pytest.raises(ValueError, match="k must be"):
        papers.similar("0704.0001", k=0)
    with pytest.raises(scivec.NotFoundError, match="nope"):
        papers.recommend(["0704.0001"], negative=["nope"])
    with pytest.raises(scivec.Error, match="missing|not found|No such|does not exist"):
        scivec.open(str(tmp_path / "missing"))


def test_inconsistent_folder_refused_then_listed(cli_outdir, tmp_path):
    import shutil
    broken = tmp_path / "broken"
    shutil.copytree(cli_outdir, broken)
    meta = json.loads((broken / "metadata.json").read_text())
    meta["n_papers"] += 1
    (broken / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(scivec.Error, match="n_papers|rows"):
        scivec.open(str(broken))
    checked = scivec.check(str(broken))
    assert checked.problems and any("n_papers" in p or "rows" in p for p in checked.problems)
    with pytest.raises(scivec.Error, match=re.escape(checked.problems[0][:20])):
        checked.similar("0704.0001")   # queries refuse a folder whose files disagree
