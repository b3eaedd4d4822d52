"""A full disk during `scivec embed`: a clear error, the previous complete
outputs in the folder left untouched (byte for byte), no half-written file
under a final name, and the next run (with space again) succeeds.

The disk is a 2 MiB tmpfs mounted for the test (we run as root in CI). If the
mount is not permitted the test prints SKIP and exits 77, which CTest reports
as skipped (SKIP_RETURN_CODE), never as passed.

Run by CTest with /usr/bin/python3; env SCIVEC, SV_FIXTURES."""
import csv
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import FINAL, FIX, MODEL, SCIVEC, check, report  # noqa: E402


def embed(src, out, *extra):
    return subprocess.run([SCIVEC, "embed", src, "--model", MODEL, "--out", out, "--max-length", "64",
                           "--threads", "1", *extra], capture_output=True, text=True, timeout=120)


def snapshot(out):
    return {name: open(os.path.join(out, name), "rb").read() for name in sorted(os.listdir(out))}


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill_until(disk, filler, leave):
    """Grows (or shrinks) the filler file so that about `leave` bytes stay free."""
    size = os.path.getsize(filler) if os.path.exists(filler) else 0
    target = max(0, size + free_bytes(disk) - leave)
    with open(filler, "ab") as f:
        f.truncate(target)
        if target > size:        # tmpfs allocates on write, not on truncate
            f.seek(size)
            f.write(b"\0" * (target - size))


def main():
    with open(os.path.join(FIX, "data", "arxiv-papers.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with tempfile.TemporaryDirectory() as tmp:
        small, large = os.path.join(tmp, "small.csv"), os.path.join(tmp, "large.csv")
        for path, n in ((small, 50), (large, 400)):
            with open(path, "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(rows[0])
                w.writerows(rows[1:n + 1])
        ref = os.path.join(tmp, "ref-large")
        p = embed(large, ref)
        check(p.returncode == 0, f"reference run: {p.stderr!r}")
        need = sum(os.path.getsize(os.path.join(ref, n)) for n in FINAL)

        disk = os.path.join(tmp, "disk")
        os.mkdir(disk)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", disk], capture_output=True, text=True)
        if m.returncode != 0:
            print(f"SKIP: cannot mount a tmpfs to fill ({m.stderr.strip() or 'mount failed'}); "
                  "the full-disk behaviour was NOT tested")
            return 77
        try:
            out = os.path.join(disk, "out")
            p = embed(small, out)
            check(p.returncode == 0, f"first run on the tmpfs: {p.stderr!r}")
            before = snapshot(out)
            check(sorted(before) == sorted(FINAL), f"first run left {sorted(before)}")
            filler = os.path.join(disk, "filler")
            # Run out of space at different points: in the embeddings, the
            # database, the index, metadata. The 400-paper outputs need `need`.
            for leave in (0, 8 << 10, 64 << 10, 256 << 10, need // 2, need - (64 << 10)):
                fill_until(disk, filler, leave)
                free = free_bytes(disk)
                p = embed(large, out)
                what = f"{free} bytes free (of {need} needed)"
                check(p.returncode == 1, f"{what}: exit {p.returncode}, want 1 (a clear error); {p.stderr!r}")
                err = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
                check("No space left on device" in err or "disk is full" in err,
                      f"{what}: the error does not say the disk is full: {err!r}")
                check(snapshot(out) == before, f"{what}: the previous outputs changed")
                print(f"{what}: {err}")
            # Space again: the run succeeds and gives the reference outputs.
            os.unlink(filler)
            p = embed(large, out)
            check(p.returncode == 0, f"after freeing space: {p.stderr!r}")
            after = snapshot(out)
            check(sorted(after) == sorted(FINAL), f"after freeing space the folder holds {sorted(after)}")
            check(after.get("embeddings.npy") == open(os.path.join(ref, "embeddings.npy"), "rb").read(),
                  "after freeing space: embeddings.npy differs from the reference")
        finally:
            subprocess.run(["umount", disk], check=False)
    return report("test_crash_disk.py")


if __name__ == "__main__":
    sys.exit(main())
