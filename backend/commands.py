"""Command-line tasks: `flask seed-demo`, `flask create-user`, and ending a user's log-ins."""

from __future__ import annotations

import click
from flask import Flask, current_app

from backend.clock import now
from backend.delivery.commands import proof_files_group
from backend.extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(sign_out_everywhere_command)
    app.cli.add_command(deactivate_user_command)
    app.cli.add_command(proof_files_group)


def _refuse_in_production() -> None:
    if not current_app.config["TRAO_CONFIG"].demo_logins_allowed:
        raise click.ClickException("Demo data and log-ins are refused in production.")


def _print_logins() -> None:
    from backend.demo.seed import AGENCIES, AGENCY_USERS, DEMO_PASSWORD, USERS, demo_api_key

    click.echo(f"Demo log-ins (password for all: {DEMO_PASSWORD}):")
    for username, full_name, role in USERS:
        click.echo(f"  {username:<9} {role.value:<11} {full_name}")
    for code, (username, full_name) in AGENCY_USERS.items():
        click.echo(f"  {username:<9} {'agency':<11} {full_name} ({code})")
    click.echo("Demo agency API keys (Authorization: Bearer <key>; docs at /api/v1/docs):")
    for code in AGENCIES:
        click.echo(f"  {code:<9} {demo_api_key(code)}")


@click.command("seed-demo")
def seed_demo_command() -> None:
    """Create the demo office, staff and agencies, and today's dossiers and runs.

    Idempotent, and run by `make run` at every start: whatever day it is, the demo postmen
    have a run for today.
    """
    from backend.demo.seed import has_demo_day, seed_base, seed_day

    _refuse_in_production()
    config = current_app.config["TRAO_CONFIG"]
    at = now()
    office = seed_base(config, at)
    db.session.commit()
    if has_demo_day(office, _office_day(office, at)):
        click.echo("Demo data for today already exists.")
    else:
        made = seed_day(config, office, at)
        db.session.commit()
        click.echo(
            f"Demo day {made.day}: {made.dossiers} dossiers, {made.runs} runs, {made.stops} stops."
        )
    _print_logins()


def _office_day(office, at):
    from backend.clock import local_date

    return local_date(at, office.timezone)


@click.command("create-user")
@click.argument("username")
@click.option(
    "--role", type=click.Choice(["postman", "supervisor", "agency", "admin"]), required=True
)
@click.option("--name", "full_name", required=True)
@click.option("--office", "office_code", help="Post office code (postmen, supervisors).")
@click.password_option()
def create_user_command(username, role, full_name, office_code, password) -> None:
    """Create a staff account."""
    from sqlalchemy import select

    from backend.models import PostOffice, User

    office = None
    if office_code:
        office = db.session.execute(
            select(PostOffice).where(PostOffice.code == office_code)
        ).scalar_one_or_none()
        if office is None:
            raise click.ClickException(f"No post office with code {office_code}.")
    user = User(username=username, full_name=full_name, role=role, post_office=office)
    user.set_password(password, method=current_app.config["PASSWORD_HASH_METHOD"])
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {role} {username}.")


def _user_named(username: str):
    from sqlalchemy import func, select

    from backend.models import User

    user = db.session.execute(
        select(User).where(func.lower(User.username) == username.strip().lower())
    ).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"No user named {username}.")
    return user


@click.command("sign-out-everywhere")
@click.argument("username")
def sign_out_everywhere_command(username) -> None:
    """End every log-in of USERNAME on every device (a lost or stolen phone)."""
    from backend.auth.services import end_all_sessions

    user = _user_named(username)
    ended = end_all_sessions(user)
    db.session.commit()
    current_app.logger.info("sessions ended user_id=%s count=%s", user.id, ended)
    click.echo(f"Signed {user.username} out of {ended} session(s).")


@click.command("deactivate-user")
@click.argument("username")
def deactivate_user_command(username) -> None:
    """Refuse USERNAME's log-ins from now on, and end those open on every device."""
    from backend.auth.services import deactivate_user

    user = _user_named(username)
    ended = deactivate_user(user)
    db.session.commit()
    current_app.logger.info("user deactivated user_id=%s sessions_ended=%s", user.id, ended)
    click.echo(f"Deactivated {user.username}; ended {ended} session(s).")
