"""What a stack needs before its first worker starts: its topics, and who may post what."""

from __future__ import annotations

from collections.abc import Iterable

from shared.config import DatabaseSettings, Settings
from shared.kafka.admin import create_topics
from shared.sources import add_source
from tests.support.builders import SCOPES, SOURCES

__all__ = ["provision", "register_sources"]


async def provision(settings: Settings, sources: Iterable[tuple[str, str, str, str]] = SOURCES) -> None:
    """Create every topic under the settings' prefix and register ``sources`` (source, role, party, name).

    A coordinator gets its scope from ``builders.SCOPES`` (none when it has no entry there).
    """
    await create_topics(settings.kafka)
    await register_sources(settings, sources)


async def register_sources(
    settings: Settings | DatabaseSettings,
    sources: Iterable[tuple[str, str, str, str]] = SOURCES,
    *,
    actor: str | None = None,
    topic_prefix: str | None = None,
) -> None:
    """Register ``sources`` (source, role, party, name), a coordinator with its ``builders.SCOPES`` scope."""
    for source, role, party, name in sources:
        scope = SCOPES.get(source)
        await add_source(
            settings, source, role, party, name, actor=actor, topic_prefix=topic_prefix, scope=scope
        )
