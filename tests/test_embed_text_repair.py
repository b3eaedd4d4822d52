"""What papers.db stores from messy input (issue 14, items 3 and 14):
- invalid UTF-8 and NUL bytes: Python's sqlite3 reads every row (it raised
  OperationalError on raw invalid bytes); each text equals Python's
  bytes.decode("utf-8", "replace") with NULs dropped; the repaired papers are
  counted in metadata.json (n_utf8_repaired);
- a Python-list categories value holding the two characters \\n: split as
  Python would read the list, no backslash stored;
- JSON Lines values of the wrong type (a number or an object as abstract, a
  list as title) are skipped with a reason and counted under
  skipped.wrong_type; a number as id is its JSON text.

Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import MODEL, SCIVEC, check, report  # noqa: E402


def embed(src, out, *extra):
    return subprocess.run([SCIVEC, "embed", src, "--model", MODEL, "--out", out, "--max-length", "32",
                           "--threads", "1", *extra], capture_output=True)


def want(raw):
    return raw.decode("utf-8", "replace").replace("\0", "")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        # CSV, written as bytes: Latin-1 bytes, a lone continuation byte, a
        # truncated sequence, a surrogate, a NUL; in the id, title, abstract
        # and another column.
        rows = [
            (b"p1", b"Caf\xe9 physics", b"An abstract with \x80 and \xe2\x82 bytes.", b"['cs.AI']", b"ok"),
            (b"p2\xff", b"Title\x00 with NUL", b"Clean abstract.", b"['cs.LG', 'I.2.6;\\n  I.4.0']", b"\xed\xa0\x80x"),
            (b"p3", b"Clean title", b"Clean abstract too.", b"cs.CL", b"fine"),
        ]
        csv_bytes = b"paper_id,title,abstract,categories,note\n" + b"".join(
            b",".join(b'"' + f.replace(b'"', b'""') + b'"' for f in r) + b"\n" for r in rows)
        src = os.path.join(tmp, "papers.csv")
        with open(src, "wb") as f:
            f.write(csv_bytes)
        out = os.path.join(tmp, "out")
        p = embed(src, out)
        check(p.returncode == 0, f"embed: {p.stderr!r}")
        db = sqlite3.connect(os.path.join(out, "papers.db"))
        try:
            got = db.execute("SELECT paper_id, title, categories FROM papers ORDER BY row").fetchall()
            cols = db.execute("SELECT row, name, value FROM paper_columns ORDER BY row, name").fetchall()
        except sqlite3.OperationalError as e:
            got, cols = [], []
            check(False, f"Python's sqlite3 cannot read papers.db: {e}")
        check([g[0] for g in got] == [want(r[0]) for r in rows], f"ids: {[g[0] for g in got]}")
        check([g[1] for g in got] == [want(r[1]) for r in rows], f"titles: {[g[1] for g in got]}")
        check(got[1][2] == "cs.LG I.2.6; I.4.0" if len(got) > 1 else False, f"categories: {got}")
        by_row = {(r, n): v for r, n, v in cols}
        for i, r in enumerate(rows):
            for name, raw in zip(("paper_id", "title", "abstract", "categories", "note"), r):
                check(by_row.get((i, name)) == want(raw), f"row {i} {name}: {by_row.get((i, name))!r}")
        meta = json.load(open(os.path.join(out, "metadata.json")))
        check(meta.get("n_utf8_repaired") == 2, f"n_utf8_repaired: {meta.get('n_utf8_repaired')}")
        # similar finds the repaired id as stored
        p = subprocess.run([SCIVEC, "similar", out, want(rows[1][0]), "-k", "1"], capture_output=True)
        check(p.returncode == 0, f"similar on a repaired id: {p.stderr!r}")

        # JSON Lines values of the wrong type.
        records = [
            {"id": "a1", "title": "T1", "abstract": "A fine abstract."},
            {"id": "a2", "title": "T2", "abstract": 12345},
            {"id": "a3", "title": "T3", "abstract": {"text": "nested"}},
            {"id": "a4", "title": ["list", "title"], "abstract": "Abstract four."},
            {"id": 705, "title": "T5", "abstract": "Numeric id."},
            {"id": "a6", "title": "T6", "abstract": True},
        ]
        src = os.path.join(tmp, "papers.jsonl")
        with open(src, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in records)
        out = os.path.join(tmp, "out-jsonl")
        p = embed(src, out, "--text", "title+abstract")
        err = p.stderr.decode()
        check(p.returncode == 0, f"jsonl embed: {err!r}")
        meta = json.load(open(os.path.join(out, "metadata.json")))
        check(meta["skipped"].get("wrong_type") == 4 and meta["n_papers"] == 2 and meta["rows_read"] == 6
              and meta["n_skipped"] == 4, f"jsonl counts: {meta['skipped']} {meta['n_papers']}")
        for line, what, typ in ((2, "the text ('abstract')", "number"), (3, "the text ('abstract')", "object"),
                                (4, "the title ('title')", "array")):
            check(f"line {line}: {what} is a JSON {typ}, not a string" in err, f"reason for line {line}: {err!r}")
        ids = [r[0] for r in sqlite3.connect(os.path.join(out, "papers.db")).execute(
            "SELECT paper_id FROM papers ORDER BY row")]
        check(ids == ["a1", "705"], f"kept ids: {ids}")
        # --strict refuses the first one instead.
        p = embed(src, os.path.join(tmp, "strict"), "--strict")
        check(p.returncode != 0 and b"is a JSON number, not a string" in p.stderr, f"--strict: {p.stderr!r}")

    return report("test_embed_text_repair.py")


if __name__ == "__main__":
    sys.exit(main())
