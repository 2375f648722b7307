"""What working out the caller adds to a request: none, an API key, an SSO bearer JWT, in one run.

pixmill runs as a real server in its own process (uvicorn on 127.0.0.1; embedded: SQLite) with single sign-on
pointed at the loopback OpenID provider of the tests (tests/identity/oidc_issuer.py, in this process). The measured
request is a cheap GET whose only work is `current_principal` (a route the server adds for the benchmark: it
answers the caller's user id), sent over one keep-alive connection: without a credential, with an API key
(`X-API-Key`), and with a bearer access token of the provider (its keys already cached, as they are after the
first request). The three kinds alternate in rounds, so a noisy moment hits each alike; the figure is the
client's round trip per request.

The goal: a credential adds under 1 ms per request (median).

Usage: python bench/auth.py [--requests 3000] [--rounds 10] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from common import free_port

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' loopback OpenID provider

from tests.identity.oidc_issuer import OidcIssuer  # noqa: E402

from pixmill.api.deps import Caller  # noqa: E402
from pixmill.app import create_app  # noqa: E402
from pixmill.config import Settings  # noqa: E402
from pixmill.context import Context  # noqa: E402
from pixmill.identity import service  # noqa: E402


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def serve(port: int) -> None:
    """The server process: pixmill from PIXMILL_* plus the benchmark's route."""
    app = create_app(Settings())

    @app.get("/bench/caller")
    def caller(principal: Caller) -> dict[str, Any]:
        return {"user_id": principal.user_id}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def run(requests: int, rounds: int, database_url: str | None) -> dict[str, list[float]]:
    with OidcIssuer() as issuer, tempfile.TemporaryDirectory() as tmp:
        env = {
            "PIXMILL_DATA_DIR": tmp,
            "PIXMILL_SECRET_KEY": "bench",
            "PIXMILL_WORKERS": "1",
            "PIXMILL_LOG_LEVEL": "WARNING",
            "PIXMILL_OIDC_ISSUER": issuer.url,
            "PIXMILL_OIDC_CLIENT_ID": "pixmill",
            **({"PIXMILL_DATABASE_URL": database_url} if database_url else {}),
        }
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port)],
            env={**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])},
        )
        ctx: Context | None = None
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                for _ in range(300):
                    try:
                        if http.get("/api/livez").status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.1)
                ctx = Context.from_settings(Settings(data_dir=Path(tmp), database_url=database_url))
                user = service.create_user(ctx, "bench@example.org", None, roles=["staff"])
                _, key = service.create_api_key(ctx, user.id, "bench", ["jobs"])
                token = issuer.token(sub="bench-sso", roles=["staff"], expires_in=3600)
                kinds: dict[str, dict[str, str]] = {
                    "none": {},
                    "api key": {"X-API-Key": key},
                    "bearer JWT": {"Authorization": f"Bearer {token}"},
                }
                times: dict[str, list[float]] = {k: [] for k in kinds}
                for name, headers in kinds.items():  # warm: the first SSO request fetches the keys, creates the user
                    for _ in range(50):
                        r = http.get("/bench/caller", headers=headers)
                        assert r.status_code == 200, (name, r.text)
                    assert (r.json()["user_id"] is None) == (name == "none"), (name, r.text)
                per_round = max(1, requests // rounds)
                for _ in range(rounds):
                    for name, headers in kinds.items():
                        for _ in range(per_round):
                            t0 = time.perf_counter()
                            r = http.get("/bench/caller", headers=headers)
                            times[name].append((time.perf_counter() - t0) * 1000)
                            assert r.status_code == 200
            assert issuer.hits["/realms/pixmill/jwks"] == 1, issuer.hits  # the keys stayed cached
            return times
        finally:
            if ctx is not None:
                ctx.close()
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000, help="requests of each kind")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return
    times = run(args.requests, args.rounds, args.database_url)
    base = statistics.median(times["none"])
    print(f"{'credential':<12} {'median ms':>10} {'p95 ms':>8} {'added (median)':>15}")
    for name, values in times.items():
        median = statistics.median(values)
        added = "" if name == "none" else f"{median - base:+.3f} ms"
        print(f"{name:<12} {median:>10.3f} {_percentile(values, 0.95):>8.3f} {added:>15}")


if __name__ == "__main__":
    main()
