"""Concurrent encode() on one Model from several Python threads gives the
same vectors as one thread (the Model's lock serialises the C calls; the
GIL is released inside them)."""
import threading

import numpy as np

import scivec
from conftest import MODEL, PAPERS


def test_two_threads_equal_one():
    import csv
    with open(PAPERS, newline="") as f:
        texts = [row["abstract"] for row in csv.DictReader(f)][:64]
    model = scivec.Model(MODEL, threads=1)
    alone = model.encode(texts, batch_size=8)
    results, errors = {}, []

    def work(name, order):
        try:
            results[name] = model.encode([texts[i] for i in order], batch_size=5)
        except BaseException as e:  # surfaced below
            errors.append(e)

    forward, backward = list(range(len(texts))), list(range(len(texts)))[::-1]
    threads = [threading.Thread(target=work, args=("a", forward)),
               threading.Thread(target=work, args=("b", backward))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert np.array_equal(results["a"], alone)
    assert np.array_equal(results["b"][::-1], alone)


def test_gil_released_during_encode():
    """Another Python thread keeps running while encode is inside libscivec."""
    model = scivec.Model(MODEL, threads=1)
    texts = ["a fairly long abstract about neutrinos " * 20] * 200
    ticks, done = [0], threading.Event()

    def count():
        while not done.is_set():
            ticks[0] += 1

    t = threading.Thread(target=count)
    t.start()
    before = ticks[0]
    model.encode(texts, batch_size=200)   # one C call
    during = ticks[0] - before
    done.set()
    t.join()
    assert during > 1000
