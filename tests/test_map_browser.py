#!/usr/bin/python3
"""The map page (web/map.html) in headless Chromium against `scivec serve`
over 300 real papers mapped by `scivec map`: GET /map answers map.npy and
the db's ids, titles and primary categories; the canvas screenshot shows
points in the legend's colours (a pixel check); hovering a point shows its
title; clicking it opens that paper with its similar papers (GET /similar)
ringed; a search rings GET /search's results. Exits 77 (not run) without
chromium."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import map_page  # noqa: E402
import serve_util  # noqa: E402
import test_query as tq  # noqa: E402
import test_serve_browser as tsb  # noqa: E402
from test_query import check  # noqa: E402

import numpy as np  # noqa: E402


def main():
    if not tsb.CHROMIUM:
        print("SKIP: chromium is not installed; the map browser test did NOT run")
        return 77
    artifacts = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        papers, _ = serve_util.make_dir(out)
        srv = serve_util.Server(out, "--threads", "1")
        browser = None
        try:
            status, _, _ = srv.request("GET", "/map")
            check(status == 404, f"/map before `scivec map`: {status}")
            r = subprocess.run([tq.SCIVEC, "map", out, "--seed", "1"], capture_output=True, text=True)
            check(r.returncode == 0, f"scivec map: {r.stderr}")

            # GET /map: the layout and the db, in row order
            status, headers, data = srv.request("GET", "/map")
            check(status == 200 and headers.get("content-type") == "application/octet-stream",
                  f"/map: {status} {headers.get('content-type')}")
            xy, cat, meta = map_page.parse_map(data)
            check(np.array_equal(xy, np.load(os.path.join(out, "map.npy"))), "/map xy differ from map.npy")
            db = sqlite3.connect(os.path.join(out, "papers.db"))
            rows = db.execute("SELECT paper_id, title, categories FROM papers ORDER BY row").fetchall()
            db.close()
            check(meta["ids"] == [r[0] for r in rows] and meta["titles"] == [r[1] for r in rows],
                  "/map ids or titles differ from papers.db")
            primary = [meta["categories"][c] if c != 65535 else None for c in cat]
            check(primary == [r[2].split()[0] if r[2] else None for r in rows],
                  "/map primary categories differ from papers.db")
            counts = [primary.count(c) for c in meta["categories"]]
            check(counts == sorted(counts, reverse=True), f"categories not most-first: {counts[:8]}")
            check(meta["map"]["n_rows"] == len(rows), f"/map's record: {meta['map']}")

            browser, dt = map_page.open_browser(os.path.join(tmp, "profile"))
            base = f"http://127.0.0.1:{srv.port}"
            dt.send("Page.navigate", url=base + "/map.html")
            dt.wait_for("document.body && document.body.dataset.state === 'done'", "the map page")

            # the canvas shows points in the colours of the legend
            pixels, rect = map_page.canvas_screenshot(dt, os.path.join(artifacts, "map_browser.png"))
            seen = map_page.colour_counts(pixels)
            legend = dt.js("Array.from(document.querySelectorAll('#map-legend li')).map(li => li.textContent)")
            n_shown = min(len(meta["categories"]), len(map_page.PALETTE))
            coloured = [c for c in map_page.PALETTE[:n_shown] if seen[c] >= 8]
            check(len(coloured) >= min(5, n_shown),
                  f"screenshot shows {len(coloured)} of the legend's colours: {seen}")
            background = (np.abs(pixels[:, :, :3].astype(int) - [253, 253, 254]).max(axis=2) <= 3).mean()
            check(0.5 < background < 0.995, f"background share of the canvas {background:.3f}")
            check(len(legend) >= min(5, n_shown) and meta["categories"][0] in legend[0],
                  f"legend: {legend[:3]}")

            # hover and click a point that stands alone
            pos = np.array(dt.js("window.scivecMap.ids.map((_, i) => window.scivecMap.project(i))"))
            d = np.sqrt(((pos[:, None, :] - pos[None, :, :]) ** 2).sum(2))
            np.fill_diagonal(d, np.inf)
            inside = (pos[:, 0] > 20) & (pos[:, 0] < rect[2] - 20) & (pos[:, 1] > 20) & (pos[:, 1] < rect[3] - 20)
            alone = np.where(inside & (d.min(1) > 12))[0]
            check(len(alone) > 0, "no point stands alone on the map")
            row = int(alone[len(alone) // 2]) if len(alone) else 0
            x, y = rect[0] + pos[row, 0], rect[1] + pos[row, 1]
            dt.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
            dt.wait_for("!document.getElementById('map-tip').hidden", "the hover tooltip")
            tip = dt.js("document.getElementById('map-tip').textContent")
            check(tip.startswith(rows[row][1]), f"hover shows {tip[:60]!r}, want {rows[row][1][:60]!r}")
            for kind in ("mousePressed", "mouseReleased"):
                dt.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
            dt.wait_for("document.getElementById('map-paper').dataset.paperId && "
                        "document.body.dataset.state === 'done'", "the clicked paper")
            opened = dt.js("document.getElementById('map-paper').dataset.paperId")
            check(opened == rows[row][0], f"clicked {rows[row][0]}, the page opened {opened}")
            title = dt.js("document.getElementById('map-paper-title').textContent")
            check(title == rows[row][1], f"paper title shown {title[:60]!r}")
            status, similar = srv.json("GET", f"/similar/{rows[row][0]}?k=10")
            listed = dt.js("Array.from(document.querySelectorAll('#map-similar li')).map(li => li.dataset.paperId)")
            want = [h["paper_id"] for h in similar["results"]]
            check(listed == want, f"similar listed {listed}, /similar answers {want}")
            ringed = dt.js("window.scivecMap.marks.similar.map(i => window.scivecMap.ids[i])")
            check(ringed == want, f"similar ringed {ringed}")
            check(dt.js("new URLSearchParams(location.search).get('paper')") == rows[row][0],
                  "the URL names the paper")
            dt.screenshot(os.path.join(artifacts, "map_browser_paper.png"))

            # a search rings its results
            q = papers[5]["title"]
            dt.js(f"document.getElementById('map-q').value = {json.dumps(q)};"
                  "document.getElementById('map-search').requestSubmit(); true")
            dt.wait_for("window.scivecMap.marks.search.length > 0 && document.body.dataset.state === 'done'",
                        "search results on the map")
            status, found = srv.json("GET", "/search?" + urllib.parse.urlencode({"q": q, "k": 50}))
            ringed = dt.js("window.scivecMap.marks.search.map(i => window.scivecMap.ids[i])")
            check(status == 200 and ringed == [h["paper_id"] for h in found["results"]],
                  f"search ringed {len(ringed)} papers, /search answers {len(found.get('results', []))}")
        finally:
            if browser:
                map_page.close_browser(browser)
            rc = srv.stop()
        check(rc == 0, f"server exit status {rc}")
    print(f"{tq.passed} passed, {tq.failures} failed")
    return 1 if tq.failures else 0


if __name__ == "__main__":
    sys.exit(main())
