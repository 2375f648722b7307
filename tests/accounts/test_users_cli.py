"""`pixmill users create|list` and `pixmill api-keys create`: the first admin and its keys from a shell."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from pixmill.app import create_app
from pixmill.cli import app
from tests.accounts.conftest import PASSWORD
from tests.conftest import make_settings


def _env(tmp_path: Path) -> dict[str, str]:
    return {"PIXMILL_DATA_DIR": str(tmp_path / "data"), "PIXMILL_SECRET_KEY": "test-secret", "PIXMILL_LOG_JSON": "0"}


def test_the_first_admin_signs_in_and_its_cli_key_works(tmp_path: Path) -> None:
    runner, env = CliRunner(), _env(tmp_path)
    made = runner.invoke(
        app,
        ["users", "create", "--email", "Root@Example.org", "--role", "admin", "--name", "Root", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
    )
    assert made.exit_code == 0, made.output
    assert "created root@example.org (admin, user)" in made.output
    prompted = runner.invoke(
        app, ["users", "create", "--email", "ann@example.org"], input=f"{PASSWORD}\n{PASSWORD}\n", env=env
    )
    assert prompted.exit_code == 0, prompted.output
    sso = runner.invoke(app, ["users", "create", "--email", "sso@example.org", "--no-password"], env=env)
    assert sso.exit_code == 0, sso.output
    listed = runner.invoke(app, ["users", "list"], env=env)
    assert listed.exit_code == 0 and "3 account(s)" in listed.output
    lines = {line.split()[0]: line for line in listed.output.splitlines() if "@" in line}
    assert "admin,user" in lines["root@example.org"] and "password" in lines["root@example.org"]
    assert " none " in lines["sso@example.org"]

    key = runner.invoke(
        app,
        ["api-keys", "create", "--email", "root@example.org", "--name", "shop", "--scopes", "orders,palettes"],
        env=env,
    )
    assert key.exit_code == 0, key.output
    token = key.stdout.strip()
    assert token.startswith("pmk_")

    with TestClient(create_app(make_settings(tmp_path))) as client:
        r = client.post("/api/v1/auth/login", json={"email": "root@example.org", "password": PASSWORD})
        assert r.status_code == 200 and r.json()["roles"] == ["admin", "user"]
        as_key = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert as_key["email"] == "root@example.org" and as_key["scopes"] == ["orders", "palettes"]
        refused = client.post("/api/v1/auth/login", json={"email": "sso@example.org", "password": PASSWORD})
        assert refused.status_code == 401


def test_cli_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    runner, env = CliRunner(), _env(tmp_path)

    def cli(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=stdin, env=env)

    short = cli("users", "create", "--email", "a@example.org", "--password-stdin", stdin="x\n")
    assert short.exit_code == 1 and "10 to 1024 characters" in short.output
    role = cli("users", "create", "--email", "a@example.org", "--role", "root", "--no-password")
    assert role.exit_code == 1 and "unknown role" in role.output
    both = cli("users", "create", "--email", "a@example.org", "--no-password", "--password-stdin")
    assert both.exit_code == 2 and "exclude each other" in both.output
    nobody = cli("api-keys", "create", "--email", "x@example.org", "--name", "k", "--scopes", "jobs")
    assert nobody.exit_code == 1 and "no account with e-mail x@example.org" in nobody.output
    assert cli("users", "create", "--email", "b@example.org", "--no-password").exit_code == 0
    beyond = cli("api-keys", "create", "--email", "b@example.org", "--name", "k", "--scopes", "orders")
    assert beyond.exit_code == 1 and "need a role" in beyond.output
    again = cli("users", "create", "--email", "B@example.org", "--no-password")
    assert again.exit_code == 1 and "exists already" in again.output
