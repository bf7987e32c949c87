"""The README's configuration table and command table stay in step with the code."""

import re
from pathlib import Path

from typer.core import TyperGroup
from typer.main import get_command

from services.cli.main import app
from shared.config import DatabaseSettings, KafkaSettings, LoggingSettings, NotifySettings

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_readme_table():
    documented = set(re.findall(r"^\| `(DRX_[A-Z_]+)` \|", README, flags=re.MULTILINE))
    expected = {
        f"{cls.model_config['env_prefix']}{name.upper()}"
        for cls in (KafkaSettings, DatabaseSettings, LoggingSettings, NotifySettings)
        for name in cls.model_fields
    }
    assert expected <= documented, f"missing from README: {sorted(expected - documented)}"


def test_every_command_is_in_the_readme():
    root = get_command(app)
    assert isinstance(root, TyperGroup)
    commands = []
    for name, command in root.commands.items():
        sub = getattr(command, "commands", None)
        commands += [f"drx {name} {s}" for s in sub] if sub else [f"drx {name}"]
    missing = [
        c for c in commands if f"`{c}" not in README and f"{c}`" not in README and f", `{c}" not in README
    ]
    assert not missing, f"missing from README: {missing}"
