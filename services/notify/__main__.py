"""``python -m services.notify`` (or ``drx run notify``): run the notify worker."""

from __future__ import annotations

import asyncio

from services.notify.app import create_app
from shared.config import load_settings
from shared.logging import configure_logging


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log.level, settings.log.format)
    asyncio.run(create_app(settings).run())


if __name__ == "__main__":
    main()
