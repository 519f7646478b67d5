"""How fast the foundation answers: seeding the demo, the pages, labels.

Run: .venv/bin/python bench/pages.py  (SQLite file in a temp folder; DATABASE_URL to compare)
Prints figures; nothing is asserted. Figures are recorded in bench/RESULTS.md.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend import create_app  # noqa: E402
from backend.clock import now  # noqa: E402
from backend.config import Config  # noqa: E402
from backend.extensions import db  # noqa: E402


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(name: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[max(0, int(len(ms) * 0.95) - 1)]
    print(f"{name:<34} median {statistics.median(ms):8.1f} ms   p95 {p95:8.1f} ms   n={len(ms)}")


def main() -> None:
    tmp = tempfile.mkdtemp()
    config = Config()
    if "sqlite" in config.SQLALCHEMY_DATABASE_URI:
        config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp}/bench.db"
    config.WTF_CSRF_ENABLED = False
    app = create_app(config)
    with app.app_context():
        db.create_all()
        from backend.demo.seed import seed_base, seed_day

        start = time.perf_counter()
        office = seed_base(config, now())
        made = seed_day(config, office, now())
        db.session.commit()
        print(
            f"seed one demo day ({made.dossiers} dossiers, {made.stops} stops): "
            f"{(time.perf_counter() - start) * 1000:.0f} ms"
        )
        codes = [e for (e,) in db.session.execute(db.text("SELECT code FROM envelope LIMIT 10"))]

    def client_for(username: str):
        client = app.test_client()
        client.post("/login", data={"username": username, "password": "demo1234"})
        return client

    postman, supervisor = client_for("buuta1"), client_for("giamsat")
    summary("GET /login", timed(lambda: app.test_client().get("/login"), 50))
    summary("GET /app (postman, ~30 stops)", timed(lambda: postman.get("/app"), 50))
    summary("GET /console (supervisor)", timed(lambda: supervisor.get("/console"), 50))
    summary(
        "GET label.png (one envelope)",
        timed(lambda: supervisor.get(f"/console/envelopes/{codes[0]}/label.png"), 30),
    )
    query = "&".join(f"code={c}" for c in codes)
    summary(
        "GET labels.pdf (10 labels)",
        timed(lambda: supervisor.get(f"/console/labels.pdf?{query}"), 10),
    )
    with app.app_context():
        db.drop_all()


if __name__ == "__main__":
    main()
