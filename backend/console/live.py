"""Watching today's runs: each run's progress, its postman's last sync, last contact and last
known position, and its stops with where they are — what the live page polls."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from backend.console.services import day_runs, progress_by_state
from backend.domain.lifecycle import State
from backend.extensions import db
from backend.models import DeliveryAttempt, DeliveryRun, Dossier, Envelope, RunStop, User


@dataclass
class PostmanTrace:
    """What the server last heard from a postman today: an attempt, and the last placed one."""

    last_sync: datetime | None = None
    last_position: dict[str, Any] | None = None


@dataclass(frozen=True)
class LiveStop:
    """A stop as the live page shows it (plain values: no entity is built for it)."""

    position: int
    code: str
    state: State
    commune: str
    lat: float | None
    lon: float | None


@dataclass
class LiveRun:
    """One run as the live page shows it."""

    run: DeliveryRun
    delivered: int
    failed: int
    left: int
    total: int
    stops: list[LiveStop] = field(default_factory=list)
    trace: PostmanTrace = field(default_factory=PostmanTrace)
    # The postman's phone's last call to the API (its run fetched, an attempt sent), or None.
    last_seen: datetime | None = None
    # Not heard from for longer than the setting (or never) while the run has stops left.
    unseen: bool = False


def last_seen_of(postman: User, trace: PostmanTrace) -> datetime | None:
    """When the postman's phone was last heard from: its last call, or its last attempt received
    (an attempt is a call; the call's note is written at most once a minute)."""
    times = [t for t in (postman.last_seen_at, trace.last_sync) if t is not None]
    return max(times) if times else None


def is_unseen(last_seen: datetime | None, left: int, now: datetime, after: timedelta) -> bool:
    """Whether a run with work left has a postman not heard from for longer than `after`."""
    return left > 0 and (last_seen is None or now - last_seen > after)


def live_runs(
    office_id: int | None, day: date, *, now: datetime, unseen_after: timedelta
) -> list[LiveRun]:
    """The runs of a day at an office (every office for None), with progress and traces.

    Three statements whatever the number of runs: the runs (with their postmen, whose row holds
    the last contact), their stops as plain columns, and the day's attempts on them. Plain
    columns, because building a stop, an envelope and a dossier object for each of a
    province's 9,000 stops took half a second (bench/console_scale.py).
    """
    runs = day_runs(office_id, day)
    stops = _stops(office_id, day)
    traces = postman_traces([run.id for run in runs])
    live = []
    for run in runs:
        run_stops = stops.get(run.id, [])
        progress = progress_by_state(Counter(stop.state.value for stop in run_stops))
        trace = traces.get(run.postman_id, PostmanTrace())
        seen = last_seen_of(run.postman, trace)
        live.append(
            LiveRun(
                run=run,
                delivered=progress.delivered,
                failed=progress.failed,
                left=progress.left,
                total=progress.total,
                stops=run_stops,
                trace=trace,
                last_seen=seen,
                unseen=is_unseen(seen, progress.left, now, unseen_after),
            )
        )
    return live


def _stops(office_id: int | None, day: date) -> dict[int, list[LiveStop]]:
    """The day's stops by run, in order, as plain values."""
    stmt = (
        select(
            RunStop.run_id,
            RunStop.position,
            Envelope.code,
            Envelope._state,
            Dossier.commune_name,
            Dossier.latitude,
            Dossier.longitude,
        )
        .join(DeliveryRun, RunStop.run_id == DeliveryRun.id)
        .join(Envelope, RunStop.envelope_id == Envelope.id)
        .join(Dossier, Envelope.dossier_id == Dossier.id)
        .where(DeliveryRun.run_date == day)
        .order_by(RunStop.run_id, RunStop.position)
    )
    if office_id is not None:
        stmt = stmt.where(DeliveryRun.post_office_id == office_id)
    stops: dict[int, list[LiveStop]] = {}
    for run_id, position, code, state, commune, lat, lon in db.session.execute(stmt):
        stops.setdefault(run_id, []).append(
            LiveStop(position, code, State(state), commune, lat, lon)
        )
    return stops


def postman_traces(run_ids: list[int]) -> dict[int, PostmanTrace]:
    """Per postman: the last attempt received on these runs, and the last one with a position."""
    if not run_ids:
        return {}
    rows = db.session.execute(
        select(
            DeliveryAttempt.postman_id,
            DeliveryAttempt.received_at,
            DeliveryAttempt.device_time,
            DeliveryAttempt.latitude,
            DeliveryAttempt.longitude,
            DeliveryAttempt.accuracy_m,
        )
        .where(DeliveryAttempt.run_id.in_(run_ids))
        .order_by(DeliveryAttempt.received_at, DeliveryAttempt.id)
    )
    traces: dict[int, PostmanTrace] = {}
    for postman_id, received_at, device_time, lat, lon, accuracy in rows:
        trace = traces.setdefault(postman_id, PostmanTrace())
        trace.last_sync = received_at
        if lat is not None and lon is not None:
            trace.last_position = {
                "lat": lat,
                "lon": lon,
                "accuracy_m": accuracy,
                "at": device_time or received_at,
            }
    return traces


def dump_live(runs: list[LiveRun], *, day: date, now: datetime) -> dict[str, Any]:
    """The live page's JSON: plain values, times in ISO 8601 (UTC)."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    out = []
    for live in runs:
        run = live.run
        position = live.trace.last_position
        out.append(
            {
                "id": run.id,
                "state": run.state,
                "postman": {"id": run.postman_id, "name": run.postman.full_name},
                "progress": {
                    "total": live.total,
                    "delivered": live.delivered,
                    "failed": live.failed,
                    "left": live.left,
                },
                "last_sync": iso(live.trace.last_sync),
                "last_seen": iso(live.last_seen),
                "unseen": live.unseen,
                "last_position": (
                    {**position, "at": iso(position["at"])} if position is not None else None
                ),
                "stops": [
                    {
                        "position": stop.position,
                        "code": stop.code,
                        "state": stop.state.value,
                        "commune": stop.commune,
                        "lat": stop.lat,
                        "lon": stop.lon,
                    }
                    for stop in live.stops
                ],
            }
        )
    return {"day": day.isoformat(), "server_time": now.isoformat(), "runs": out}
