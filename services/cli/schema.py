"""``drx db`` and ``drx topics``: the database schema and the Kafka topics drx needs.

Both are what a deployment runs once before the workers start (deploy/k8s/migrate-job.yaml).
"""

# ruff: noqa: PLC0415 - alembic and the Kafka admin client are imported inside commands

from __future__ import annotations

import asyncio
import os
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
def topics_create_command(
    integration: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME=ROLE of a producing integration (principal drx-int-NAME; ROLE organisation, "
            "donor or coordinator), given the Write ACLs of its role; repeatable. "
            "Default: DRX_KAFKA_INTEGRATIONS, comma-separated.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create every drx topic that is missing, with DRX_KAFKA_PARTITIONS partitions.

    Existing topics get the configs drx needs (intake topics: the broker's timestamps;
    intake.subscriptions: a day's retention); each config it changes is printed. On a cluster
    reached over SASL_* it also adds the ACLs drx's principals need (docs/kafka-identities.md),
    printing each one it adds; safe to repeat.
    """
    from shared.kafka.acls import acl_plan, parse_integrations
    from shared.kafka.admin import provision_acls, provision_topics

    items = integration or [i for i in os.environ.get("DRX_KAFKA_INTEGRATIONS", "").split(",") if i.strip()]
    try:
        integrations = parse_integrations(items)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--integration / DRX_KAFKA_INTEGRATIONS") from None
    kafka = common.settings().kafka
    done = asyncio.run(provision_topics(kafka))
    created = done.created
    console.print(f"created {len(created)} topic(s)" + (": " + ", ".join(created) if created else ""))
    console.print(f"changed {len(done.changed)} topic config(s)", highlight=False)
    for change in done.changed:
        console.print(f"  {change}", highlight=False, markup=False)
    if not kafka.security_protocol.startswith("SASL_"):
        if integrations:
            console.print(
                f"no ACLs written: Kafka is reached over {kafka.security_protocol}, without principals",
                highlight=False,
            )
        return
    plan = acl_plan(kafka.topic_prefix, integrations)
    added = asyncio.run(provision_acls(kafka, plan))
    if not added:
        console.print(f"ACLs: all {len(plan)} already in place", highlight=False)
    else:
        console.print(f"added {len(added)} ACL(s) of {len(plan)}", highlight=False)
    for binding in added:
        console.print(f"  {binding}", highlight=False, markup=False)


@topics_app.command("list")
def topics_list_command() -> None:
    """List drx topics with their partition counts."""
    from shared.kafka.admin import list_topics

    table = Table("topic", "partitions")
    for name, partitions in sorted(asyncio.run(list_topics(common.settings().kafka)).items()):
        table.add_row(name, str(partitions))
    console.print(table)


@db_app.command("grant-worker")
def db_grant_worker_command(
    member: Annotated[
        list[str] | None,
        typer.Option(help="An existing login role the workers use; joins the role (repeatable)"),
    ] = None,
    role: Annotated[str, typer.Option(help="The group role to create or update")] = "drx_worker",
) -> None:
    """Create or update the workers' role: all they need, on the audit log only SELECT and INSERT.

    Run it after `drx db upgrade`, as the tables' owner (DRX_DATABASE_URL); safe to repeat.
    """
    from shared.db.roles import grant_worker, role_name
    from shared.db.session import create_engine

    try:
        names = (role_name(role), *(role_name(m) for m in member or ()))
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None

    async def run() -> None:
        engine = create_engine(common.settings().database)
        try:
            async with engine.begin() as conn:
                await grant_worker(conn, names[0], names[1:])
        finally:
            await engine.dispose()

    asyncio.run(run())
    joined = f"; members: {', '.join(names[1:])}" if names[1:] else ""
    console.print(f"role {names[0]} may use every drx table, and only read and add to audit_log{joined}")
