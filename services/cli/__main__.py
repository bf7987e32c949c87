"""``python -m services.cli``: the same as the ``drx`` command."""

from services.cli.main import main

main()
