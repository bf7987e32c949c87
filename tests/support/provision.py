"""What a stack needs before its first worker starts: its topics, and who may post what."""

from __future__ import annotations

from collections.abc import Iterable

from shared.config import Settings
from shared.kafka.admin import create_topics
from shared.sources import add_source
from tests.support.builders import SCOPES, SOURCES

__all__ = ["provision"]


async def provision(settings: Settings, sources: Iterable[tuple[str, str, str, str]] = SOURCES) -> None:
    """Create every topic under the settings' prefix and register ``sources`` (source, role, party, name).

    A coordinator gets its scope from ``builders.SCOPES`` (none when it has no entry there).
    """
    await create_topics(settings.kafka)
    for source, role, party, name in sources:
        await add_source(settings, source, role, party, name, scope=SCOPES.get(source))
