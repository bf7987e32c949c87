"""``drx db`` and ``drx topics``: the database schema and the Kafka topics drx needs.

Both are what a deployment runs once before the workers start (deploy/k8s/migrate-job.yaml).
"""

# ruff: noqa: PLC0415 - alembic and the Kafka admin client are imported inside commands

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from services.cli import common
from services.cli.common import console

__all__ = ["db_app", "topics_app"]

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics.")


@db_app.command("upgrade")
def db_upgrade_command(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the migrations up to REVISION (default head)."""
    from shared.db.migrate import upgrade

    upgrade(common.settings().database.sqlalchemy_url, revision)
    console.print(f"database at {revision}")


@topics_app.command("create")
def topics_create_command() -> None:
    """Create every drx topic that is missing, with DRX_KAFKA_PARTITIONS partitions.

    Existing topics get the configs drx needs (intake topics: the broker's timestamps); each
    config it changes is printed.
    """
    from shared.kafka.admin import provision_topics

    done = asyncio.run(provision_topics(common.settings().kafka))
    created = done.created
    console.print(f"created {len(created)} topic(s)" + (": " + ", ".join(created) if created else ""))
    console.print(f"changed {len(done.changed)} topic config(s)", highlight=False)
    for change in done.changed:
        console.print(f"  {change}", highlight=False, markup=False)


@topics_app.command("list")
def topics_list_command() -> None:
    """List drx topics with their partition counts."""
    from shared.kafka.admin import list_topics

    table = Table("topic", "partitions")
    for name, partitions in sorted(asyncio.run(list_topics(common.settings().kafka)).items()):
        table.add_row(name, str(partitions))
    console.print(table)
