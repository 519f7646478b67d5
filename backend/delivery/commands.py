"""`flask proof-files`: the proof store checked against the records."""

from __future__ import annotations

import click

from backend.delivery.maintenance import DEFAULT_GRACE_SECONDS, sweep_proof_store
from backend.storage import LocalStorage, get_storage


@click.group("proof-files")
def proof_files_group() -> None:
    """The proof store: files only for records that committed."""


@proof_files_group.command("orphans")
@click.option("--apply", is_flag=True, help="Mend: publish, remove. Without it, only list.")
@click.option(
    "--grace-minutes",
    type=click.IntRange(min=0),
    default=DEFAULT_GRACE_SECONDS // 60,
    show_default=True,
    help="Leave staging younger than this alone (a request may still be running).",
)
def orphans_command(apply: bool, grace_minutes: int) -> None:
    """List files no record names and what crashes left in staging; --apply mends them."""
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        raise click.ClickException("Only a local proof store can be swept.")
    report = sweep_proof_store(storage, apply=apply, grace_seconds=grace_minutes * 60)
    verb = {True: ("published", "removed"), False: ("to publish", "to remove")}[apply]
    for label, items, action in (
        ("staged file of a committed record", report.published, verb[0]),
        ("staged file no record names", report.abandoned, verb[1]),
        ("half-written file", report.temporary, verb[1]),
        ("orphan (no record names it)", report.orphans, verb[1]),
    ):
        for item in items:
            click.echo(f"{action}: {label}: {item}")
    if report.clean:
        click.echo("The proof store matches the records.")
    elif not apply:
        click.echo("Nothing changed; run again with --apply to mend.")
