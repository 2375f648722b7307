"""docker-compose.yml and the Dockerfile, checked without Docker: every process is there, each pixmill command is a
real CLI command, every PIXMILL_* variable is a real setting with a valid value, and the README runs the same."""

from __future__ import annotations

import itertools
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from typer.testing import CliRunner

from pixmill.cli import app
from pixmill.config import Settings

ROOT = Path(__file__).resolve().parents[1]
PIXMILL_SERVICES = {"api", "worker-standard", "worker-ml", "beat"}
SERVERS = {"postgres", "redis", "rabbitmq", "s3"}
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; `$$` is a literal dollar.
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}")


def interpolate(value: str) -> str:
    """A compose value with every variable unset: its default, or a stand-in where the variable is required."""
    return INTERPOLATION.sub(lambda m: m.group(3) if m.group(2) == "-" else "set-by-the-operator", value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_every_process_of_the_deployment_is_a_service(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= PIXMILL_SERVICES | SERVERS


@pytest.mark.parametrize("service", sorted(PIXMILL_SERVICES))
def test_each_pixmill_service_runs_a_real_cli_command(compose: dict[str, Any], service: str) -> None:
    command = compose["services"][service]["command"]
    assert command[0] == "pixmill"
    # With --help last, click rejects unknown commands and options before printing the help.
    result = CliRunner().invoke(app, [*command[1:], "--help"], prog_name="pixmill")
    assert result.exit_code == 0, result.output
    words = list(itertools.takewhile(lambda w: not w.startswith("-"), command[1:]))
    assert f"pixmill {' '.join(words)} [OPTIONS]" in " ".join(result.output.split())


def test_the_ml_worker_takes_one_job_at_a_time(compose: dict[str, Any]) -> None:
    command = compose["services"]["worker-ml"]["command"]
    assert command[command.index("--queues") + 1] == "ml"
    assert command[command.index("--concurrency") + 1] == "1"


def test_workers_weigh_less_on_the_cpus_than_the_api(compose: dict[str, Any]) -> None:
    services = compose["services"]
    api = services["api"].get("cpu_shares", 1024)  # Docker's default weight
    assert all(services[w]["cpu_shares"] < api for w in ("worker-standard", "worker-ml"))


def test_every_pixmill_variable_is_a_setting_with_a_valid_value(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\bPIXMILL_[A-Z0-9_]+", text))
    assert used, "no PIXMILL_* variable found"
    unknown = sorted(v for v in used if v.removeprefix("PIXMILL_").lower() not in Settings.model_fields)
    assert not unknown, f"not settings of pixmill.config.Settings: {unknown}"
    for service in PIXMILL_SERVICES:
        env = compose["services"][service]["environment"]
        values = {k.removeprefix("PIXMILL_").lower(): interpolate(str(v)) for k, v in env.items()}
        settings = Settings.model_validate(values)
        assert settings.runner == "celery"
        assert settings.storage == "s3"
        assert settings.resolved_database_url.startswith("postgresql+psycopg://")
        assert settings.secret_key == "set-by-the-operator", "the secret key must come from the operator"


def test_models_and_palettes_are_mounted_read_only(compose: dict[str, Any]) -> None:
    for service in PIXMILL_SERVICES:
        spec = compose["services"][service]
        assert spec["environment"]["PIXMILL_MODELS_DIR"] == "/models"
        assert {"./models:/models:ro", "./palettes:/palettes:ro"} <= set(spec["volumes"])


def test_every_dependency_waited_for_has_a_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, spec in services.items():
        for dependency, how in (spec.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if how.get("condition") == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}, which has none"
    for name in PIXMILL_SERVICES - {"beat"}:
        assert set(services[name]["depends_on"]) >= SERVERS, name


def test_the_seaweedfs_identity_file_is_json_with_pixmill_s_keys(compose: dict[str, Any]) -> None:
    config = json.loads(interpolate(compose["configs"]["seaweedfs-s3"]["content"]))
    credentials = config["identities"][0]["credentials"][0]
    env = compose["services"]["api"]["environment"]
    assert credentials["accessKey"] == interpolate(env["PIXMILL_S3_ACCESS_KEY"])
    assert credentials["secretKey"] == interpolate(env["PIXMILL_S3_SECRET_KEY"])


def test_the_image_installs_existing_extras_from_the_lock_and_the_pinned_torch() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = re.search(r"pip install -c requirements\.lock '\.\[([a-z0-9,_-]+)\]'", dockerfile)
    assert extras is not None
    assert set(extras.group(1).split(",")) <= set(project["optional-dependencies"])
    assert {"postgres", "s3", "distributed", "redis", "ml"} <= set(extras.group(1).split(","))
    torch_pin = next(d for d in project["optional-dependencies"]["ml"] if d.startswith("torch"))
    assert torch_pin.replace(" ", "") in dockerfile


def test_the_readme_runs_each_process_as_the_compose_file_does(compose: dict[str, Any]) -> None:
    readme = (ROOT / "README.md").read_text()
    for service in PIXMILL_SERVICES:
        assert " ".join(compose["services"][service]["command"]) in readme, service
