"""How much memory one attempt takes to receive: run in a fresh process, prints JSON.

    python -m tests.delivery.memory_probe --photo-side 1600 --signature-side 2400

Builds the app on SQLite in memory, warms it up with a small attempt, then posts one attempt
with six photos and an authorisation photo of `--photo-side` px square (random noise, the
decoder's worst case; `--blank` for one colour: a small file that decodes just as large) and a
blank RGBA signature of `--signature-side` px square, as the pad's canvas makes it. It reports
the answer and how far the process's resident memory rose above what it held just before: the
kernel's peak (VmHWM, reset just before the request through /proc/self/clear_refs) minus the
resident memory then (VmRSS).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile

from PIL import Image


def memory_kb(field: str) -> int:
    """A line of /proc/self/status in kB: VmRSS (resident now), VmHWM (peak since reset)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def reset_peak() -> None:
    """Make the kernel's peak resident size start again from now (Linux 4.0+)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def picture(mode: str, side: int, fmt: str, blank: bool) -> bytes:
    """A square image: random pixels (nothing compresses away), or one colour."""
    out = io.BytesIO()
    if blank:
        image = Image.new(mode, (side, side), (255,) * len(mode))
    else:
        image = Image.frombytes(mode, (side, side), os.urandom(side * side * len(mode)))
    image.save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photo-side", type=int, default=1600)
    parser.add_argument("--signature-side", type=int, default=2400)
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--blank", action="store_true", help="one-colour photos")
    args = parser.parse_args()

    photos = [picture("RGB", args.photo_side, "JPEG", args.blank) for _ in range(args.photos)]
    authorization = picture("RGB", args.photo_side, "JPEG", args.blank)
    signature = picture("RGBA", args.signature_side, "PNG", blank=True)

    from tests.conftest import Factory, login, make_test_app
    from tests.delivery.helpers import default_files, delivered_meta, make_run, post_attempt

    # Its own database in memory: never the suite's (TEST_DATABASE_URL), which it would fill.
    app = make_test_app("sqlite://", STORAGE_URL=tempfile.mkdtemp(prefix="trao-memory-probe-"))
    from backend.extensions import db

    with app.app_context():
        db.create_all()
        factory = Factory()
        postman, run = make_run(factory, count=2, result_type="land_certificate")
        client = app.test_client()
        login(client, postman)
        warm, big = run.stops
        small = default_files()
        assert post_attempt(client, delivered_meta(warm, small), small).status_code == 201
        files = [("signature", signature)] + [("photo", p) for p in photos]
        files.append(("authorization", authorization))
        meta = delivered_meta(big, files)
        meta["recipient"].update(relation="representative", name="Trần Thị Bình")
        body = sum(len(data) for _, data in files)
        reset_peak()
        before = memory_kb("VmRSS")
        response = post_attempt(client, meta, files)
        peak = memory_kb("VmHWM")
    print(
        json.dumps(
            {
                "status": response.status_code,
                "code": (response.get_json() or {}).get("error", {}).get("code"),
                "upload_mb": round(body / 2**20, 1),
                "pixels_mp": round(
                    (args.photos + 1) * args.photo_side**2 / 1e6 + args.signature_side**2 / 1e6, 1
                ),
                "rose_mb": round((peak - before) / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
