"""What the deployment files tell the image: real ``DRX_*`` settings with valid values, and ``drx``
commands that parse and reach the point where they read their settings; and the image itself.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import tomllib

import pytest
from typer.testing import CliRunner

import services.cli.common
import services.cli.main
from shared.config import SettingsError, load_settings
from tests.unit.deploy.deployment import (
    DOCKERIGNORE,
    PENDING_SETTINGS,
    ROOT,
    SETTINGS,
    WORKERS,
    base_resources,
    containers,
    dockerfile_exec_form,
    dockerfile_instructions,
    drx_compose_services,
    envfrom_secrets,
    pod_spec,
    resolved_env,
    resource_id,
    without_interpolation,
    workloads,
)


def environment_sources() -> list[tuple[str, dict[str, str | None]]]:
    """Every set of DRX_* variables the deployment files pass, by where it is."""
    sources: list[tuple[str, dict[str, str | None]]] = []
    for name, service in drx_compose_services().items():
        sources.append((f"compose {name}", dict(service["environment"])))
    for resource in base_resources():
        if resource["kind"] == "ConfigMap":
            sources.append((resource_id(resource), dict(resource["data"])))
        elif resource["kind"] == "Secret" and resource["metadata"]["name"] in envfrom_secrets():
            sources.append((resource_id(resource), dict(resource["stringData"])))
    for resource in workloads():
        for container in containers(resource):
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            sources.append((f"{resource_id(resource)} {container['name']}", env))
    return sources


class TestSettings:
    @pytest.mark.parametrize("source", environment_sources(), ids=lambda s: s[0])
    def test_every_variable_is_a_drx_setting(self, source):
        where, env = source
        unknown = sorted(set(env) - SETTINGS - PENDING_SETTINGS)
        assert not unknown, f"{where} sets variables drx does not read: {unknown}"

    @pytest.mark.parametrize(
        "where",
        [f"compose {name}" for name in drx_compose_services()]
        + [f"{resource_id(r)} {c['name']}" for r in workloads() for c in containers(r)],
    )
    def test_the_values_are_accepted_by_the_settings(self, where, monkeypatch):
        """What each process sees, secrets included, loads: SASL_SSL needs its user and password."""
        for name in [n for n in os.environ if n.startswith("DRX_")]:
            monkeypatch.delenv(name)
        if where.startswith("compose "):
            service = drx_compose_services()[where.removeprefix("compose ")]
            env = {k: v for k, v in service["environment"].items() if v is not None}
        else:
            (env,) = [
                resolved_env(c)
                for r in workloads()
                for c in containers(r)
                if f"{resource_id(r)} {c['name']}" == where
            ]
        for name, value in env.items():
            monkeypatch.setenv(name, without_interpolation(value))
        try:
            load_settings()
        except SettingsError as error:
            pytest.fail(f"{where}: {error}")


def drx_invocations() -> list[tuple[str, list[str]]]:
    """Every command line the deployment files give the image, without the ``drx`` entrypoint."""
    found: list[tuple[str, list[str]]] = [("Dockerfile CMD", dockerfile_exec_form("CMD"))]
    for name, service in drx_compose_services().items():
        entrypoint, command = service.get("entrypoint"), service.get("command", [])
        if entrypoint is None:
            found.append((f"compose {name}", [str(c) for c in command]))
            continue
        assert entrypoint == ["/bin/sh", "-c"], f"compose {name}: unexpected entrypoint {entrypoint}"
        (script,) = command
        for step in re.split(r"&&|;|\|\|", script):
            words = shlex.split(step)
            assert words[0] == "drx", f"compose {name}: {step.strip()!r} is not a drx command"
            found.append((f"compose {name}", words[1:]))
    for resource in workloads():
        for container in containers(resource):
            assert "command" not in container, "the image's entrypoint is drx; give arguments only"
            found.append((f"{resource_id(resource)} {container['name']}", container["args"]))
    return found


class _ReachedSettings(Exception):  # noqa: N818 - a marker, not an error
    """Raised instead of reading settings: the command parsed and got as far as needing them."""


def reaches_settings(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[bool, str]:
    def stop() -> None:
        raise _ReachedSettings

    monkeypatch.setattr(services.cli.common, "settings", stop)
    result = CliRunner().invoke(services.cli.main.app, args)
    return isinstance(result.exception, _ReachedSettings), result.output


class TestCommands:
    def test_the_image_runs_the_drx_console_script(self):
        assert dockerfile_exec_form("ENTRYPOINT") == ["drx"]
        scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
        assert "drx" in scripts

    def test_every_drx_command_is_found(self):
        commands = {tuple(args[:2]) for _, args in drx_invocations()}
        expected = {("run", w) for w in WORKERS} | {("db", "upgrade"), ("db", "grant-worker")}
        assert expected | {("topics", "create")} <= commands

    @pytest.mark.parametrize(
        "invocation",
        [i for i in drx_invocations() if i[1] != ["--help"]],
        ids=lambda i: f"{i[0]}: drx {' '.join(i[1])}",
    )
    def test_is_a_real_command_of_the_cli(self, invocation, monkeypatch):
        where, args = invocation
        reached, output = reaches_settings(args, monkeypatch)
        assert reached, f"{where}: `drx {' '.join(args)}` is not a command drx runs:\n{output}"

    def test_the_default_command_prints_help(self):
        result = CliRunner().invoke(services.cli.main.app, dockerfile_exec_form("CMD"))
        assert result.exit_code == 0
        assert "run" in result.output

    @pytest.mark.parametrize("args", [["run", "ingester"], ["db", "migrate"], ["topic", "create"]])
    def test_a_wrong_command_is_caught(self, args, monkeypatch):
        """The check above can fail: a misspelt command or service does not reach the settings."""
        reached, _ = reaches_settings(args, monkeypatch)
        assert not reached


class TestDockerfile:
    def test_one_image_from_python_311_slim_running_as_non_root(self):
        instructions = dockerfile_instructions()
        bases = [args.split()[0] for i, args in instructions if i == "FROM"]
        assert bases[-1] == "python:3.11-slim"
        (user,) = [args for i, args in instructions if i == "USER"]
        uid = int(user.split(":")[0])
        assert uid != 0
        for resource in workloads():
            assert pod_spec(resource)["securityContext"]["runAsUser"] == uid

    def test_pip_installs_the_project(self):
        runs = [args for i, args in dockerfile_instructions() if i == "RUN"]
        assert any(re.search(r"pip install \.(\s|$)", run) for run in runs)

    def test_what_the_build_copies_is_not_ignored(self):
        patterns = [
            line.strip()
            for line in DOCKERIGNORE.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        copied = [
            source
            for i, args in dockerfile_instructions()
            if i == "COPY" and "--from" not in args
            for source in args.split()[:-1]
        ]
        assert copied
        for source in copied:
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
            ignored = [p for p in patterns if fnmatch.fnmatch(source, p.removeprefix("**/"))]
            assert not ignored, f"COPY {source} is excluded by .dockerignore: {ignored}"
