"""The ``drx`` command line: the root app, with each command group from its own module.

Commands that need Kafka or PostgreSQL read ``DRX_*`` settings (see README's configuration table);
after ``drx dev up`` run ``eval "$(drx dev env)"`` to point them at the local stack.

The order below is the order ``drx --help`` lists them: single commands first, then the groups.
"""

from __future__ import annotations

import typer

from services.cli.audit import audit_app
from services.cli.deliveries import deliveries_app
from services.cli.demo import demo_command
from services.cli.dev import dev_app
from services.cli.outbox import outbox_app
from services.cli.post import decide_command, post_command
from services.cli.queries import coverage_command, matches_command
from services.cli.reference import reference_app
from services.cli.rejected import rejected_app
from services.cli.run import run_command
from services.cli.schema import db_app, topics_app
from services.cli.sources import sources_app
from services.cli.subscribe import subscribe_app
from shared.config import SettingsError, load_settings

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, help="Diaspora Relief Exchange: pledges meet needs.")

app.command("run")(run_command)
app.command("post")(post_command)
app.command("decide")(decide_command)
app.command("matches")(matches_command)
app.command("coverage")(coverage_command)
app.command("demo")(demo_command)

app.add_typer(deliveries_app, name="deliveries")
app.add_typer(dev_app, name="dev")
app.add_typer(db_app, name="db")
app.add_typer(topics_app, name="topics")
app.add_typer(sources_app, name="sources")
app.add_typer(audit_app, name="audit")
app.add_typer(subscribe_app, name="subscribe")
app.add_typer(rejected_app, name="rejected")
app.add_typer(outbox_app, name="outbox")
app.add_typer(reference_app, name="reference")


def main() -> None:
    from shared.logging import configure_logging

    try:
        log = load_settings().log
        configure_logging(log.level, log.format)
    except SettingsError:
        configure_logging()
    app()


if __name__ == "__main__":
    main()
