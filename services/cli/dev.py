"""``drx dev``: a local broker and PostgreSQL for trying drx out (``shared/dev.py`` does the work)."""

# ruff: noqa: PLC0415 - the stack's code is imported inside commands, so `drx --help` stays quick

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from services.cli.common import console, err

__all__ = ["dev_app"]

dev_app = typer.Typer(no_args_is_help=True, help="A local stack: broker + PostgreSQL.")


@dev_app.command("up")
def dev_up_command(
    broker: Annotated[
        str, typer.Option(help="tansu (embedded, no Java) or apache (Kafka from jars)")
    ] = "tansu",
    kafka_port: Annotated[int, typer.Option(help="Broker port on 127.0.0.1")] = 9092,
) -> None:
    """Start a broker and PostgreSQL, migrate, create topics; print how to reach them."""
    from shared.dev import dev_up

    if broker not in {"tansu", "apache"}:
        err.print("[red]--broker must be tansu or apache[/red]")
        raise typer.Exit(2)
    try:
        stack = dev_up(broker=broker, kafka_port=kafka_port)  # type: ignore[arg-type]
    except Exception as error:  # noqa: BLE001 - any failure is reported, not traced
        err.print(f"[red]drx dev up failed: {error}[/red]")
        raise typer.Exit(1) from None
    console.print(f"broker ({stack.broker}): [bold]{stack.bootstrap_servers}[/bold]")
    console.print(f"database: [bold]{stack.database_url}[/bold]")
    console.print('point drx at it with:  eval "$(drx dev env)"    stop it with:  drx dev down')


@dev_app.command("down")
def dev_down_command() -> None:
    """Stop the local stack and remove its data."""
    from shared.dev import dev_down

    console.print("stopped" if dev_down() else "nothing was running")


@dev_app.command("status")
def dev_status_command() -> None:
    """Say whether the local stack is running, and where."""
    from shared.dev import dev_status

    stack = dev_status()
    if stack is None:
        console.print("not running")
        raise typer.Exit(1)
    console.print(
        f"running: broker ({stack.broker}) {stack.bootstrap_servers}, database {stack.database_url}"
    )


@dev_app.command("env")
def dev_env_command() -> None:
    """Print shell exports for the running stack (use with eval), and a URL psql accepts."""
    from shared.dev import dev_status

    stack = dev_status()
    if stack is None:
        err.print("[red]no local stack is running; start one with drx dev up[/red]")
        raise typer.Exit(1)
    for name, value in stack.env().items():
        typer.echo(f"export {name}={shlex.quote(value)}")
    # a comment, so `eval` skips it: DRX_DATABASE_URL's "+psycopg" is SQLAlchemy's, psql refuses it
    typer.echo(f"# psql {shlex.quote(stack.psql_url)}")


@dev_app.command("kafka-jars")
def dev_kafka_jars_command() -> None:
    """Download the Apache Kafka jars from Maven Central into the cache (once) and print where."""
    from shared.infra.kafka import ensure_kafka_jars

    typer.echo(str(ensure_kafka_jars()))
