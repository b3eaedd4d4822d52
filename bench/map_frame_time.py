#!/usr/bin/python3
"""Frame time of the map page (web/map.html) in headless Chromium.

  SCIVEC=build/scivec SV_FIXTURES=tests/fixtures bench/map_frame_time.py [--points 100000]
  ... bench/map_frame_time.py --dir DIR [--screenshot PNG] [--size 900x620]

Without --dir it writes an output folder of N synthetic papers (random unit
vectors, 40 categories, titles "paper i") and a map.npy of N points in 40
Gaussian blobs, serves it, and has the page draw 120 frames while zooming
in and out (window.scivecMap.frameBench: raster into ImageData, upload,
rings; each frame waits for the canvas). With --dir it serves that folder
(run `scivec map DIR` first) and can save a screenshot of the page.
"""
import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import map_page  # noqa: E402
import serve_util  # noqa: E402
import test_query as tq  # noqa: E402

import numpy as np  # noqa: E402


def synthetic_dir(path, n):
    rng = np.random.default_rng(0)
    cats = [f"cat.{c:02d}" for c in range(40)]
    label = rng.integers(0, len(cats), size=n)
    papers = [{"paper_id": f"{i:07d}", "title": f"paper {i}", "abstract": f"abstract {i}",
               "categories": cats[label[i]], "year": 2020} for i in range(n)]
    vectors = tq.normalized(rng.normal(size=(n, 64)).astype(np.float32))
    tq.write_dir(path, papers, vectors)
    centres = rng.uniform(-20, 20, size=(len(cats), 2))
    xy = (centres[label] + rng.normal(size=(n, 2)) * 1.5).astype(np.float32)
    np.save(os.path.join(path, "map.npy"), xy)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=100000)
    ap.add_argument("--dir")
    ap.add_argument("--screenshot")
    ap.add_argument("--size", default="1200x900")
    ap.add_argument("--frames", type=int, default=120)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir
        if not directory:
            directory = os.path.join(tmp, "out")
            t = time.time()
            synthetic_dir(directory, args.points)
            print(f"wrote {args.points} synthetic papers in {time.time() - t:.1f} s", file=sys.stderr)
        srv = serve_util.Server(directory, "--threads", "1", timeout=300)
        browser = None
        try:
            browser, dt = map_page.open_browser(os.path.join(tmp, "profile"))
            dt.send("Emulation.setDeviceMetricsOverride", width=w, height=h, deviceScaleFactor=1, mobile=False)
            t = time.time()
            dt.send("Page.navigate", url=f"http://127.0.0.1:{srv.port}/map.html")
            dt.wait_for("document.body && document.body.dataset.state === 'done'", "the map page", timeout=300)
            load_s = time.time() - t
            result = dt.js(f"window.scivecMap.frameBench({args.frames})")
            result["page_load_s"] = round(load_s, 2)
            result["viewport"] = args.size
            result["cpu"] = open("/proc/cpuinfo").read().split("model name")[1].split(":")[1].split("\n")[0].strip()
            print(json.dumps(result))
            if args.screenshot:
                dt.send("Emulation.clearDeviceMetricsOverride")
                dt.send("Emulation.setDeviceMetricsOverride", width=w, height=h, deviceScaleFactor=1, mobile=False)
                dt.js("window.dispatchEvent(new Event('resize')); true")
                time.sleep(0.5)
                dt.screenshot(args.screenshot)
        finally:
            if browser:
                map_page.close_browser(browser)
            srv.stop()


if __name__ == "__main__":
    main()
