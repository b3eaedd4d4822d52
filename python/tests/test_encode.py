"""Model.encode / tokenize against the CLI (`scivec encode`, `scivec
tokenize`), and bad input raising with scivec's message."""
import json

import numpy as np
import pytest

import scivec
from conftest import MODEL, run_cli

TEXTS = ["Attention is all you need",
         "A fully differential calculation in perturbative quantum chromodynamics",
         "Émission stimulée — naïve café",
         "x" * 3000,                       # longer than max length: truncated alike
         "short"]


@pytest.fixture(scope="module")
def model():
    return scivec.Model(MODEL, threads=2)


def cli_encode(tmp_path, texts, *flags):
    out = tmp_path / "cli.npy"
    stdin = "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()
    run_cli("encode", "--model", MODEL, "--out", str(out), "--threads", "2", *flags, stdin=stdin)
    return np.load(out)


@pytest.mark.parametrize("normalize", [False, True])
def test_encode_equals_cli(model, tmp_path, normalize):
    ours = model.encode(TEXTS, batch_size=2, normalize_embeddings=normalize)
    theirs = cli_encode(tmp_path, TEXTS, *(["--normalize"] if normalize else []))
    assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), model.dim)
    assert np.abs(ours - theirs).max() <= 1e-6
    if normalize:
        assert np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)


def test_encode_pooling_option_equals_cli(model, tmp_path):
    ours = model.encode(TEXTS, pooling="cls")
    theirs = cli_encode(tmp_path, TEXTS, "--pooling", "cls")
    assert np.abs(ours - theirs).max() <= 1e-6
    assert np.abs(ours - model.encode(TEXTS)).max() > 1e-3  # cls is not the default mean


def test_single_text_and_list_output(model):
    one = model.encode(TEXTS[0])
    assert one.shape == (model.dim,)
    rows = model.encode(TEXTS[:2], convert_to_numpy=False)
    assert isinstance(rows, list) and np.array_equal(rows[0], one)


def test_tokenize_equals_cli(model):
    ours = model.tokenize(TEXTS)
    stdin = "".join(json.dumps({"text": t}) + "\n" for t in TEXTS).encode()
    lines = run_cli("tokenize", "--model", MODEL, stdin=stdin).decode().splitlines()
    theirs = [json.loads(line)["input_ids"] for line in lines]
    assert ours["input_ids"] == theirs
    assert [len(m) for m in ours["attention_mask"]] == [len(t) for t in theirs]


def test_bad_model_raises_with_message(tmp_path):
    with pytest.raises(scivec.NotFoundError, match="no-such-model"):
        scivec.Model(str(tmp_path / "no-such-model"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    with pytest.raises(scivec.Error) as e:
        scivec.Model(str(bad))
    assert "config.json" in str(e.value) and e.value.status < 0


def test_bad_options_raise(model):
    with pytest.raises(scivec.InvalidError, match="pooling"):
        model.encode(["x"], pooling="median")
    with pytest.raises(ValueError, match="NUL"):
        model.encode(["a\0b"])
    with pytest.raises(ValueError, match="precision"):
        scivec.Model(MODEL, precision="int4")
    with pytest.raises(scivec.InvalidError, match="8"):
        model.encode(["x " * 100], max_length=8, truncate="error")
    assert model.encode(["x " * 100], max_length=8).shape == (1, model.dim)
