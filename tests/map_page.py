"""What the map browser test and bench/map_frame_time.py share: GET /map
parsed as the page parses it (docs/SERVER.md), a PNG decoder for
screenshots (no PIL on the test machines), and the map page opened in
headless Chromium. Not a test itself."""
import base64
import json
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_serve_browser as tsb  # noqa: E402

import numpy as np  # noqa: E402

# web/map.js's palette: the colours of the 20 most common primary categories
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
           "#c49c94", "#f7b6d2", "#9edae5", "#dbdb8d", "#393b79"]


def parse_map(data):
    """(xy [n, 2] float32, category [n] uint16, meta dict) of a GET /map answer."""
    assert data[:8] == b"SVMAP001", data[:8]
    n, json_len = struct.unpack("<II", data[8:16])
    xy = np.frombuffer(data, dtype="<f4", count=2 * n, offset=16).reshape(n, 2)
    cat = np.frombuffer(data, dtype="<u2", count=n, offset=16 + 8 * n)
    cat_bytes = (2 * n + 3) & ~3
    start = 16 + 8 * n + cat_bytes
    meta = json.loads(data[start:start + json_len].decode("utf-8"))
    assert start + json_len == len(data), "trailing bytes"
    return xy, cat, meta


def decode_png(data):
    """RGB(A) 8-bit non-interlaced PNG -> uint8 array [h, w, channels]."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = w * channels
    out = np.zeros((h, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        if f == 0:
            cur = line
        elif f == 2:
            cur = (line + prev) & 255
        else:   # 1 (sub), 3 (average), 4 (Paeth): per byte, left to right
            cur = np.zeros(stride, dtype=np.int32)
            for x in range(stride):
                a = cur[x - channels] if x >= channels else 0
                b = prev[x]
                c = prev[x - channels] if x >= channels else 0
                if f == 1:
                    p = a
                elif f == 3:
                    p = (a + b) >> 1
                else:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    p = a if pa <= pb and pa <= pc else b if pb <= pc else c
                cur[x] = (line[x] + p) & 255
        out[y] = cur
        prev = cur
    return out.reshape(h, w, channels).astype(np.uint8)


def colour_counts(pixels, tolerance=24):
    """Pixels near each palette colour: {hex: count}."""
    rgb = pixels[:, :, :3].astype(np.int32)
    counts = {}
    for hexc in PALETTE:
        want = np.array([int(hexc[i:i + 2], 16) for i in (1, 3, 5)])
        counts[hexc] = int((np.abs(rgb - want).max(axis=2) <= tolerance).sum())
    return counts


def canvas_screenshot(dt, path=None):
    """The map canvas, captured by the browser, as pixels."""
    rect = dt.js("(() => { const r = document.getElementById('map-canvas').getBoundingClientRect();"
                 " return [r.left, r.top, r.width, r.height]; })()")
    shot = dt.send("Page.captureScreenshot", format="png",
                   clip={"x": rect[0], "y": rect[1], "width": rect[2], "height": rect[3], "scale": 1})
    data = base64.b64decode(shot["data"])
    if path:
        with open(path, "wb") as f:
            f.write(data)
    return decode_png(data), rect


def open_browser(profile):
    browser, ws = tsb.start_chromium(profile)
    dt = tsb.DevTools(tsb.page_target(ws))
    dt.send("Page.enable")
    return browser, dt


def close_browser(browser):
    browser.terminate()
    try:
        browser.wait(timeout=20)
    except Exception:
        browser.kill()
