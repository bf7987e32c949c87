"""The source registry: which CloudEvents ``source`` may post what, for which organisation or donor.

Managed with ``drx sources add|list|scope|revoke|enable|remove``. Ingest reads it for every inbound
event, notify for every subscription change; see docs/security.md for how Kafka principals map to
sources in production. Every change to it writes an audit record (docs/audit.md), with the
command line's user as the actor, in the same transaction as the change.

A coordinator acts within a scope (``shared/scope.py``): the crises and countries an operator
assigned it, or everything when granted explicitly; an empty scope is none.

A revoked source keeps its row (the needs and pledges it posted still name it) and may do nothing
until it is enabled again; removing a source forgets it, and ingest treats its events as those of
an unregistered source.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.config import DatabaseSettings, KafkaSettings, Settings
from shared.db.models import SourceRow
from shared.db.session import create_engine, create_session_factory
from shared.reference import is_country
from shared.scope import Scope

__all__ = [
    "ROLES",
    "RegisteredSource",
    "ScopeChange",
    "UnknownSourceError",
    "add_source",
    "change_scope",
    "enable_source",
    "list_sources",
    "remove_source",
    "revoke_source",
    "scope_of",
]

ROLES = ("organisation", "donor", "coordinator")
_MAX_SOURCE = 200
_MAX_REASON = 500
_CRISIS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")  # shared.events.common.EntityId


class UnknownSourceError(ValueError):
    """The source named is not in the registry."""


@dataclass(frozen=True, slots=True)
class RegisteredSource:
    """One row of the registry, as ``drx sources list`` shows it."""

    source: str
    role: str
    party_id: str
    display_name: str
    revoked_at: dt.datetime | None = None
    revoked_reason: str | None = None
    scope: Scope = field(default_factory=Scope)


@dataclass(frozen=True, slots=True)
class ScopeChange:
    """What ``drx sources scope`` changes: crises and countries to add or remove, ``everything`` set.

    ``everything`` None leaves the global grant as it is.
    """

    add_crises: tuple[str, ...] = ()
    remove_crises: tuple[str, ...] = ()
    add_countries: tuple[str, ...] = ()
    remove_countries: tuple[str, ...] = ()
    everything: bool | None = None

    def applied_to(self, scope: Scope) -> Scope:
        crises = (scope.crises - set(self.remove_crises)) | set(self.add_crises)
        countries = (scope.countries - {c.upper() for c in self.remove_countries}) | {
            c.upper() for c in self.add_countries
        }
        everything = scope.everything if self.everything is None else self.everything
        return Scope(frozenset(crises), frozenset(countries), everything)


async def add_source(
    settings: Settings | DatabaseSettings,
    source: str,
    role: str,
    party_id: str,
    name: str,
    *,
    actor: str | None = None,
    topic_prefix: str | None = None,
    scope: Scope | None = None,
) -> None:
    """Register or re-register ``source``, with its audit record (``source.added`` / ``source.changed``).

    The audit event goes to the audit topic under ``topic_prefix``, else the prefix of
    ``settings`` when they are whole :class:`Settings`, else ``DRX_KAFKA_TOPIC_PREFIX`` (the
    command line's case: it reads the same environment). ``actor`` defaults to ``cli:<login>``.
    Re-registering a revoked source changes what it may do but does not enable it. ``scope`` is
    a coordinator's (None: a new coordinator's is empty, a re-registered one's kept); a source
    that is no coordinator has none.
    """
    if role not in ROLES:
        msg = f"role must be one of {', '.join(ROLES)}, not {role!r}"
        raise ValueError(msg)
    if not source.strip() or len(source) > _MAX_SOURCE:
        msg = "source must be 1 to 200 characters"
        raise ValueError(msg)
    if scope is not None:
        _check_scope(scope, role)
    async with _registry(settings, topic_prefix) as (session, prefix):
        row = await _locked(session, source)
        before = _registration(row) if row is not None else None
        kept = scope_of(row) if row is not None and row.role == "coordinator" else Scope()
        values: dict[str, Any] = {"role": role, "party_id": party_id, "display_name": name}
        values |= _scope_columns(scope if scope is not None else kept if role == "coordinator" else Scope())
        after = _described(values, row)
        if before == after:
            return  # nothing changes, nothing to record
        statement = insert(SourceRow).values(source=source, **values)
        await session.execute(statement.on_conflict_do_update(index_elements=["source"], set_=values))
        action = "source.added" if before is None else "source.changed"
        _audit(session, prefix, actor=actor, action=action, source=source, before=before, after=after)


async def change_scope(
    settings: Settings | DatabaseSettings,
    source: str,
    change: ScopeChange,
    *,
    actor: str | None = None,
    topic_prefix: str | None = None,
) -> Scope | None:
    """Change a coordinator's scope (``source.scope_changed``); the new scope, or None if unchanged.

    Raises :class:`UnknownSourceError` when ``source`` is not registered, ValueError when it is
    no coordinator or a code is not an ISO 3166-1 alpha-3 country or a crisis id.
    """
    async with _registry(settings, topic_prefix) as (session, prefix):
        row = await _existing(session, source)
        if row.role != "coordinator":
            msg = f"source {source!r} is registered as {row.role}; only coordinators have a scope"
            raise ValueError(msg)
        _check_scope(Scope.of(change.add_crises, change.add_countries), row.role)
        before, scope = _registration(row), change.applied_to(scope_of(row))
        if scope == scope_of(row):
            return None
        for column, value in _scope_columns(scope).items():
            setattr(row, column, value)
        _audit(
            session,
            prefix,
            actor=actor,
            action="source.scope_changed",
            source=source,
            before=before,
            after=_registration(row),
        )
        return scope


async def revoke_source(
    settings: Settings | DatabaseSettings,
    source: str,
    reason: str | None = None,
    *,
    actor: str | None = None,
    topic_prefix: str | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Revoke ``source`` (``source.revoked``): from now on ingest and notify refuse all it sends.

    Returns False, recording nothing, when it was revoked already. Raises
    :class:`UnknownSourceError` when it is not registered.
    """
    if reason is not None and len(reason) > _MAX_REASON:
        msg = f"reason must be at most {_MAX_REASON} characters"
        raise ValueError(msg)
    revoked_at = now or dt.datetime.now(dt.UTC)
    return await _set_standing(settings, source, (revoked_at, reason or None), actor, topic_prefix)


async def enable_source(
    settings: Settings | DatabaseSettings,
    source: str,
    *,
    actor: str | None = None,
    topic_prefix: str | None = None,
) -> bool:
    """Lift the revocation of ``source`` (``source.enabled``); False, recording nothing, if not revoked."""
    return await _set_standing(settings, source, None, actor, topic_prefix)


async def _set_standing(
    settings: Settings | DatabaseSettings,
    source: str,
    revocation: tuple[dt.datetime, str | None] | None,
    actor: str | None,
    topic_prefix: str | None,
) -> bool:
    """Revoke (when and why) or enable (None) ``source``, audited; False when it already stood so."""
    async with _registry(settings, topic_prefix) as (session, prefix):
        row = await _existing(session, source)
        if (row.revoked_at is not None) == (revocation is not None):
            return False
        before = _registration(row)
        row.revoked_at, row.revoked_reason = revocation if revocation is not None else (None, None)
        _audit(
            session,
            prefix,
            actor=actor,
            action="source.revoked" if revocation is not None else "source.enabled",
            source=source,
            before=before,
            after=_registration(row),
        )
        return True


async def remove_source(
    settings: Settings | DatabaseSettings,
    source: str,
    *,
    actor: str | None = None,
    topic_prefix: str | None = None,
) -> None:
    """Forget ``source`` (``source.removed``); its events are then those of an unregistered source."""
    async with _registry(settings, topic_prefix) as (session, prefix):
        row = await _existing(session, source)
        before = _registration(row)
        await session.execute(delete(SourceRow).where(SourceRow.source == source))
        _audit(
            session, prefix, actor=actor, action="source.removed", source=source, before=before, after=None
        )


async def list_sources(settings: DatabaseSettings) -> list[RegisteredSource]:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            rows = await session.scalars(select(SourceRow).order_by(SourceRow.source))
            return [
                RegisteredSource(
                    r.source, r.role, r.party_id, r.display_name, r.revoked_at, r.revoked_reason, scope_of(r)
                )
                for r in rows
            ]
    finally:
        await engine.dispose()


@asynccontextmanager
async def _registry(
    settings: Settings | DatabaseSettings, topic_prefix: str | None
) -> AsyncIterator[tuple[AsyncSession, str]]:
    """One transaction on the registry, with the audit topic's prefix (see :func:`add_source`)."""
    if isinstance(settings, Settings):
        database, prefix = settings.database, topic_prefix or settings.kafka.topic_prefix
    else:
        database, prefix = settings, topic_prefix or KafkaSettings().topic_prefix
    engine = create_engine(database)
    try:
        async with create_session_factory(engine).begin() as session:
            yield session, prefix
    finally:
        await engine.dispose()


async def _locked(session: AsyncSession, source: str) -> SourceRow | None:
    return await session.scalar(select(SourceRow).where(SourceRow.source == source).with_for_update())


async def _existing(session: AsyncSession, source: str) -> SourceRow:
    row = await _locked(session, source)
    if row is None:
        msg = f"source {source!r} is not registered"
        raise UnknownSourceError(msg)
    return row


def scope_of(row: SourceRow) -> Scope:
    """A registry row's scope, as the rules take it (ingest's and notify's repositories read it so)."""
    return Scope.of(row.scope_crises or (), row.scope_countries or (), everything=bool(row.scope_all))


def _scope_columns(scope: Scope) -> dict[str, Any]:
    return {
        "scope_crises": sorted(scope.crises),
        "scope_countries": sorted(scope.countries),
        "scope_all": scope.everything,
    }


def _check_scope(scope: Scope, role: str) -> None:
    """A scope is a coordinator's, of crisis ids and ISO 3166-1 alpha-3 codes; ValueError otherwise."""
    if role != "coordinator" and scope != Scope():
        msg = f"only coordinators have a scope; this source is registered as {role}"
        raise ValueError(msg)
    problems = [
        f"{c!r} is not an ISO 3166-1 alpha-3 country code"
        for c in sorted(scope.countries)
        if not is_country(c)
    ]
    problems += [f"{c!r} is not a crisis id" for c in sorted(scope.crises) if not _CRISIS_ID.match(c)]
    if problems:
        raise ValueError("; ".join(problems))


def _described(values: dict[str, Any], row: SourceRow | None) -> dict[str, Any]:
    """:func:`_registration` of the row ``values`` would make (keeping ``row``'s revocation)."""
    described = SourceRow(**values)
    if row is not None:
        described.revoked_at, described.revoked_reason = row.revoked_at, row.revoked_reason
    return _registration(described)


def _registration(row: SourceRow) -> dict[str, Any]:
    """What the audit log keeps of a registration: a revocation's time and reason, a coordinator's scope."""
    registration: dict[str, Any] = {
        "role": row.role,
        "party_id": row.party_id,
        "display_name": row.display_name,
    }
    if row.role == "coordinator":
        scope = scope_of(row)
        registration["scope"] = {
            "crises": sorted(scope.crises),
            "countries": sorted(scope.countries),
            "all": scope.everything,
        }
    if row.revoked_at is not None:
        registration["revoked_at"] = row.revoked_at.isoformat()
        registration["revoked_reason"] = row.revoked_reason
    return registration


def _audit(
    session: AsyncSession,
    prefix: str,
    *,
    actor: str | None,
    action: str,
    source: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    entry = audit.AuditEntry(
        actor=audit.cli_actor(actor),
        action=action,
        entity_type="source",
        entity_id=source,
        before=before,
        after=after,
    )
    audit.record(session, prefix, entry)
