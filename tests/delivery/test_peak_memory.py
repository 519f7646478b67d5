"""The memory one attempt takes to receive, measured in a fresh process (memory_probe.py).

Before the pixel bounds, one attempt of seven 6320 px photos and a 6320 px signature (4.3 MB
sent) was accepted and raised a worker's memory by about 1.4 GB; the largest attempt accepted
now (seven 1600 px photos of noise and a 2400 px signature, 15 MB sent) raises it by about 40 MB.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def probe(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "tests.delivery.memory_probe", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc")
def test_the_largest_accepted_attempt_takes_tens_of_megabytes():
    largest = probe("--photo-side", "1600", "--signature-side", "2400")
    assert largest["status"] == 201, largest
    # The 15 MB upload held in memory plus one decoded photo at a time: well under 100 MB.
    assert largest["rose_mb"] < 100, largest


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc")
def test_files_claiming_huge_pictures_are_refused_before_they_take_memory():
    bomb = probe("--photo-side", "6320", "--signature-side", "6320", "--blank")
    assert bomb["status"] == 422 and bomb["code"] == "image_too_many_pixels", bomb
    assert bomb["rose_mb"] < 20, bomb
