"""Nobody sees anyone else's work: every route of the app, with every method, is in ROUTES with its access class,
and is checked with real requests as an anonymous caller, as a user, as another user, as staff and as an admin.

The route list comes from the app itself, so a new route fails `test_every_route_has_an_access_class` until it is
given a row here. To add a route: one line in ROUTES, with how to call it (`Row.call`) when it needs a body, and
`scoped=True` when what it names (a path id, or an asset in its body) belongs to a user.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from pixmill.app import create_app
from pixmill.render.service import sign_path
from tests import images
from tests.conftest import SHARED, make_settings, submit, upload, wait_for
from tests.principals import Account, account, staff


class Access(Enum):
    PUBLIC = "public"  # anyone, whatever PIXMILL_ANONYMOUS says (health, docs, signed links and render URLs)
    OPEN = "open"  # anyone while PIXMILL_ANONYMOUS=jobs; a principal when off
    ANONYMOUS = "anonymous-allowed"  # as OPEN, and what it names is the caller's own (or anonymous work)
    USER = "user"  # a signed-in caller (401 when anonymous, whatever the setting)
    STAFF = "staff"  # the staff role's scopes: 401 anonymous, 403 for a plain user
    ADMIN = "admin"  # the admin role: 401 anonymous, 403 for users and staff
    HMAC = "hmac"  # authenticated by its own secret (the shop's event signature, the metrics token): no account helps
    DELETE = "delete"  # as ANONYMOUS, for a route that deletes or cancels what it names: checked on fresh work
    SIGN_IN = "sign-in"  # how a caller becomes a principal: anyone, whatever PIXMILL_ANONYMOUS says; the route
    # itself answers (a wrong password is its own 401, never the anonymous gate's)


Ids = dict[str, str]
Call = Callable[[Ids], dict[str, Any]]


def _none(ids: Ids) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Row:
    access: Access
    call: Call = _none  # the keyword arguments of client.request (json, files, data, params) for these ids
    scoped: bool = False  # names a user's resource: another user gets what a missing id gets


PIPELINE = [{"op": "resize", "params": {"width": 8}}, {"op": "convert", "params": {"format": "png"}}]
JPEG = images.jpeg(32, 24)
PW = "a long enough password"
CSV = b"code,name,r,g,b\n1,W,255,255,255\n"


def _event(ids: Ids) -> dict[str, Any]:
    return {"content": b'{"id": "e"}', "headers": {"content-type": "application/json"}}


ROUTES: dict[tuple[str, str], Row] = {
    ("GET", "/"): Row(Access.PUBLIC),
    ("GET", "/docs"): Row(Access.PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Row(Access.PUBLIC),
    ("GET", "/redoc"): Row(Access.PUBLIC),
    ("GET", "/api/livez"): Row(Access.PUBLIC),
    ("GET", "/api/readyz"): Row(Access.PUBLIC),
    ("GET", "/api/health"): Row(Access.PUBLIC),
    # a scraper on the server's host, or one with PIXMILL_METRICS_TOKEN (the test client is neither)
    ("GET", "/metrics"): Row(Access.HMAC),
    ("GET", "/files/{key:path}"): Row(Access.PUBLIC, lambda ids: {"params": dict(parse_qsl(ids["link"]))}),  # Ann's
    ("GET", "/render/{signature}/{path:path}"): Row(Access.PUBLIC),  # so is a signed render URL
    ("GET", "/api/v1/operations"): Row(Access.OPEN),
    ("GET", "/api/v1/palettes"): Row(Access.OPEN),
    ("GET", "/api/v1/palettes/{name}"): Row(Access.OPEN),
    ("POST", "/api/v1/canvas/previews"): Row(
        Access.OPEN, lambda ids: {"json": {"asset_id": ids["asset_id"], "width": 100}}, scoped=True
    ),
    ("POST", "/api/v1/uploads"): Row(Access.ANONYMOUS, lambda ids: {"files": {"files": ("a.jpg", JPEG)}}),
    ("GET", "/api/v1/uploads/{asset_id}"): Row(Access.ANONYMOUS, scoped=True),
    ("POST", "/api/v1/jobs"): Row(
        Access.ANONYMOUS, lambda ids: {"json": {"inputs": [ids["asset_id"]], "pipeline": PIPELINE}}, scoped=True
    ),
    ("GET", "/api/v1/jobs/{job_id}"): Row(Access.ANONYMOUS, scoped=True),
    ("GET", "/api/v1/jobs/{job_id}/events"): Row(Access.ANONYMOUS, scoped=True),
    ("POST", "/api/process"): Row(
        Access.ANONYMOUS, lambda ids: {"files": {"file": ("a.jpg", JPEG)}, "data": {"operations": '["png"]'}}
    ),
    ("GET", "/api/jobs/{job_id}"): Row(Access.ANONYMOUS, scoped=True),
    ("GET", "/api/v1/jobs"): Row(Access.USER),
    ("POST", "/api/v1/render-urls"): Row(Access.USER, lambda ids: {"json": {"path": f"png/{ids['asset_id']}"}}, True),
    ("POST", "/api/v1/palettes"): Row(
        Access.STAFF,
        lambda ids: {"files": {"file": ("p.csv", b"code,name,r,g,b\n1,W,255,255,255\n")}, "data": {"name": "t"}},
    ),
    ("GET", "/api/v1/storefront/orders"): Row(Access.STAFF),
    ("GET", "/api/v1/storefront/orders/{order_id}"): Row(Access.STAFF),
    ("POST", "/api/v1/storefront/orders/{order_id}/approve"): Row(Access.STAFF),
    ("POST", "/api/v1/storefront/orders/{order_id}/reject"): Row(Access.STAFF, lambda ids: {"json": {"reason": "x"}}),
    ("POST", "/api/v1/storefront/orders/{order_id}/rerender"): Row(Access.STAFF, lambda ids: {"json": {}}),
    ("POST", "/api/v1/storefront/orders/{order_id}/fulfil"): Row(Access.STAFF),
    ("GET", "/api/v1/storefront/orders/{order_id}/guide"): Row(Access.STAFF),
    ("POST", "/api/v1/storefront/events"): Row(Access.HMAC, _event),
    ("POST", "/api/v1/auth/register"): Row(
        Access.SIGN_IN, lambda ids: {"json": {"email": f"new-{uuid.uuid4().hex[:8]}@example.org", "password": PW}}
    ),
    ("POST", "/api/v1/auth/login"): Row(
        Access.SIGN_IN, lambda ids: {"json": {"email": "ann@example.org", "password": "not her password"}}
    ),
    ("POST", "/api/v1/auth/logout"): Row(Access.SIGN_IN),
    ("POST", "/api/v1/auth/password-reset"): Row(Access.SIGN_IN, lambda ids: {"json": {"email": "ann@example.org"}}),
    ("POST", "/api/v1/auth/password-reset/confirm"): Row(
        Access.SIGN_IN, lambda ids: {"json": {"token": "x.1.y", "password": PW}}
    ),
    ("GET", "/api/v1/auth/sso/login"): Row(Access.SIGN_IN),
    ("GET", "/api/v1/auth/sso/callback"): Row(Access.SIGN_IN),
    ("POST", "/api/v1/auth/invites"): Row(Access.ADMIN, lambda ids: {"json": {"email": "inv@example.org"}}),
    ("GET", "/api/v1/me"): Row(Access.USER),
    ("GET", "/api/v1/api-keys"): Row(Access.USER),
    ("POST", "/api/v1/api-keys"): Row(Access.USER, lambda ids: {"json": {"name": "k", "scopes": ["jobs"]}}),
    ("DELETE", "/api/v1/api-keys/{key_id}"): Row(Access.USER),
    ("GET", "/api/v1/admin/users"): Row(Access.ADMIN),
    ("PATCH", "/api/v1/admin/users/{user_id}"): Row(Access.ADMIN, lambda ids: {"json": {}}),
    ("GET", "/api/v1/admin/audit"): Row(Access.ADMIN),
    ("DELETE", "/api/v1/jobs/{job_id}"): Row(Access.DELETE, scoped=True),
    ("POST", "/api/v1/jobs/{job_id}/cancel"): Row(Access.DELETE, scoped=True),
    ("DELETE", "/api/v1/uploads/{asset_id}"): Row(Access.DELETE, scoped=True),
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app routes (HEAD and OPTIONS answered by the framework left out)."""
    found = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            found |= {(method, str(route.path)) for method in route.methods or () if method not in ("HEAD", "OPTIONS")}
    return found


@dataclass
class World:
    """One app with its accounts and their work: Ann's asset and finished job, an anonymous asset, a palette."""

    client: TestClient
    ann: Account
    bob: Account
    shop: Account
    boss: Account
    ids: Ids = field(default_factory=dict)  # Ann's: what a scoped row names
    anonymous: Ids = field(default_factory=dict)  # an anonymous asset and job
    missing: Ids = field(default_factory=dict)  # ids nothing has

    def send(self, method: str, path: str, ids: Ids, who: Account | None) -> httpx.Response:
        row = ROUTES[(method, path)]
        url = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: ids[m.group(1)], path)
        kwargs = row.call(ids)
        headers = {**kwargs.pop("headers", {}), **(who.headers if who else {})}
        self.client.cookies.clear()  # a sign-in route's session cookie must not make a later call signed in
        return self.client.request(method, url, headers=headers, **kwargs)


SHOP_SECRET = "tenancy-shop"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("tenancy")
    with TestClient(create_app(make_settings(tmp, storefront_secret=SHOP_SECRET))) as client:
        w = World(
            client,
            ann=account(client, "ann@example.org"),
            bob=account(client, "bob@example.org"),
            shop=staff(client),
            boss=account(client, "boss@example.org", roles=("admin",)),
        )
        dmc = (SHARED / "data" / "palettes" / "dmc.csv").read_bytes()
        r = client.post(
            "/api/v1/palettes", data={"name": "dmc"}, files={"file": ("d.csv", dmc)}, headers=w.shop.headers
        )
        assert r.status_code == 201, r.text
        (asset,) = upload(client, ("a.jpg", images.jpeg(64, 48)), headers=w.ann.headers)
        job = submit(client, [asset["id"]], PIPELINE, headers=w.ann.headers)
        done = wait_for(client, job["id"], headers=w.ann.headers)
        assert done["status"] == "COMPLETED"
        link = urlsplit(done["outputs"][0]["url"])  # Ann's result: the signed link alone lets anyone download it
        (anon,) = upload(client, ("b.jpg", images.jpeg(64, 48)))
        anon_job = submit(client, [anon["id"]], PIPELINE)
        render = f"png/{anon['id']}"
        secret = client.app.state.ctx.settings.signing_key  # type: ignore[attr-defined]
        common = {"name": "dmc", "order_id": "o1", "path": render, "signature": sign_path(secret, render, None)}
        common |= {"key": unquote(link.path.removeprefix("/files/")), "link": link.query}
        common |= {"key_id": uuid.uuid4().hex, "user_id": w.ann.id}
        w.ids = {**common, "asset_id": asset["id"], "job_id": job["id"]}
        w.anonymous = {**common, "asset_id": anon["id"], "job_id": anon_job["id"]}
        w.missing = {**common, "asset_id": uuid.uuid4().hex, "job_id": uuid.uuid4().hex}
        yield w


def test_every_route_has_an_access_class(world: World) -> None:
    routes = app_routes(world.client.app)  # type: ignore[arg-type]
    missing = sorted(routes - set(ROUTES))
    stale = sorted(set(ROUTES) - routes)
    assert not missing, "routes without an access class; add these rows to ROUTES in tests/api/test_tenancy.py:\n" + (
        "\n".join(f"    ({m!r}, {p!r}): Row(Access.…)," for m, p in missing)
    )
    assert not stale, f"rows in ROUTES for routes that no longer exist: {stale}"


def _rows(*classes: Access) -> list[tuple[str, str]]:
    return [key for key, row in ROUTES.items() if row.access in classes]


def _id(key: tuple[str, str]) -> str:
    return f"{key[0]} {key[1]}"


@pytest.mark.parametrize("key", _rows(Access.PUBLIC, Access.OPEN, Access.ANONYMOUS), ids=_id)
def test_anonymous_callers_may_use_the_open_routes_on_anonymous_work(world: World, key: tuple[str, str]) -> None:
    r = world.send(*key, world.anonymous, None)
    assert r.status_code < 400, (key, r.status_code, r.text[:300])
    for who in (world.ann, world.bob):  # anonymous work is reached by its id by anyone (PixTools' behaviour)
        r = world.send(*key, world.anonymous, who)
        assert r.status_code < 400, (key, r.status_code, r.text[:300])


@pytest.mark.parametrize("key", _rows(Access.SIGN_IN), ids=_id)
def test_sign_in_routes_are_answered_by_themselves_for_anyone(world: World, key: tuple[str, str]) -> None:
    for who in (None, world.ann):
        r = world.send(*key, world.ids, who)
        assert r.status_code < 500 and "sign in or send an API key" not in r.text, (key, r.status_code, r.text[:300])


@pytest.mark.parametrize("key", _rows(Access.USER, Access.STAFF, Access.ADMIN, Access.HMAC), ids=_id)
def test_anonymous_callers_are_asked_to_sign_in(world: World, key: tuple[str, str]) -> None:
    r = world.send(*key, world.ids, None)
    assert r.status_code == 401, (key, r.status_code, r.text[:300])
    assert r.json()["detail"], key  # a message that says what is missing


@pytest.mark.parametrize("key", _rows(Access.STAFF, Access.ADMIN), ids=_id)
def test_staff_and_admin_routes_refuse_the_roles_below(world: World, key: tuple[str, str]) -> None:
    r = world.send(*key, world.ids, world.ann)
    assert r.status_code == 403 and ("scope" in r.json()["detail"] or "role" in r.json()["detail"]), (key, r.text)
    admin_only = ROUTES[key].access is Access.ADMIN
    r = world.send(*key, world.ids, world.shop)
    assert (r.status_code == 403) if admin_only else r.status_code not in (401, 403, 500), (key, r.status_code)
    r = world.send(*key, world.ids, world.boss)
    assert r.status_code not in (401, 403, 500), (key, r.status_code, r.text[:300])


@pytest.mark.parametrize("key", _rows(Access.HMAC), ids=_id)
def test_no_account_stands_in_for_a_signature(world: World, key: tuple[str, str]) -> None:
    for who in (world.ann, world.shop, world.boss):
        assert world.send(*key, world.ids, who).status_code == 401, key


@pytest.mark.parametrize("key", _rows(Access.DELETE), ids=_id)
def test_deleting_reaches_only_what_the_caller_may_and_answers_others_as_missing(
    world: World, key: tuple[str, str]
) -> None:
    def fresh(who: Account | None) -> Ids:
        headers = who.headers if who else {}
        (asset,) = upload(world.client, ("d.jpg", JPEG), headers=headers)
        if key[1].startswith("/api/v1/uploads"):
            return {"asset_id": asset["id"], "job_id": uuid.uuid4().hex}
        job = submit(world.client, [asset["id"]], PIPELINE, headers=headers)
        wait_for(world.client, job["id"], headers=headers)
        return {"asset_id": asset["id"], "job_id": job["id"]}

    anns = fresh(world.ann)
    nothing = world.send(*key, {**anns, "asset_id": uuid.uuid4().hex, "job_id": uuid.uuid4().hex}, world.bob)
    assert nothing.status_code == 404, (key, nothing.text)
    for other in (world.bob, None):  # another user's, or an anonymous caller: as if it did not exist
        theirs = world.send(*key, anns, other)
        assert theirs.status_code == 404 and theirs.json()["title"] == nothing.json()["title"], (key, theirs.text)
    # the owner may (cancelling a job that finished already is the route's own 409, not a 404)
    done = (204,) if key[0] == "DELETE" else (202, 409)
    assert world.send(*key, anns, world.ann).status_code in done, key
    if key[0] == "DELETE":
        assert world.send(*key, anns, world.ann).status_code == 404, key  # and then it is gone
    assert world.send(*key, fresh(world.ann), world.boss).status_code in done, key  # and so may an admin
    assert world.send(*key, fresh(None), None).status_code in done, key  # anonymous work, by its id


@pytest.mark.parametrize(
    "key", [k for k, row in ROUTES.items() if row.scoped and row.access is not Access.DELETE], ids=_id
)
def test_another_users_work_answers_as_a_missing_one(world: World, key: tuple[str, str]) -> None:
    mine = world.send(*key, world.ids, world.ann)
    assert mine.status_code < 400, (key, mine.status_code, mine.text[:300])  # the owner may
    assert world.send(*key, world.ids, world.boss).status_code < 400, key  # and so may an admin
    theirs = world.send(*key, world.ids, world.bob)
    nothing = world.send(*key, world.missing, world.bob)
    assert theirs.status_code == nothing.status_code and theirs.status_code in (404, 422), (key, theirs.text)
    assert _masked(theirs, world.ids) == _masked(nothing, world.missing), key
    if ROUTES[key].access is not Access.USER:  # nor may an anonymous caller reach a user's work by its id
        anonymous = world.send(*key, world.ids, None)
        assert _masked(anonymous, world.ids) == _masked(nothing, world.missing), key


def _masked(r: httpx.Response, ids: Ids) -> tuple[int, Any]:
    """Status and body, with the ids named replaced by one placeholder (a missing id's message names it too)."""
    text = r.text
    for name in ("asset_id", "job_id"):
        text = text.replace(ids[name], "<id>").replace(str(uuid.UUID(ids[name])), "<id>")
    return r.status_code, json.loads(text)


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """An app with PIXMILL_ANONYMOUS=off."""
    tmp = tmp_path_factory.mktemp("closed")
    with TestClient(create_app(make_settings(tmp, anonymous="off", storefront_secret=SHOP_SECRET))) as client:
        ann = account(client, "ann@example.org")
        w = World(client, ann=ann, bob=ann, shop=staff(client), boss=ann)
        ids = {"name": "dmc", "order_id": "o1", "path": "png/x", "signature": "x", "key": "x", "link": ""}
        ids |= {"key_id": uuid.uuid4().hex, "user_id": ann.id}
        w.ids = w.anonymous = w.missing = {**ids, "asset_id": uuid.uuid4().hex, "job_id": uuid.uuid4().hex}
        yield w


@pytest.mark.parametrize("key", sorted(ROUTES), ids=_id)
def test_with_anonymous_use_off_every_api_route_but_health_and_sign_in_needs_a_principal(
    closed: World, key: tuple[str, str]
) -> None:
    r = closed.send(*key, closed.ids, None)
    access = ROUTES[key].access
    if access is Access.PUBLIC:
        assert r.status_code != 401, (key, r.text[:300])
    elif access is Access.SIGN_IN:
        assert r.status_code < 500 and "PIXMILL_ANONYMOUS" not in r.text, (key, r.status_code, r.text[:300])
    else:
        assert r.status_code == 401, (key, r.status_code, r.text[:300])
    if access in (Access.OPEN, Access.ANONYMOUS):
        assert "PIXMILL_ANONYMOUS=off" in r.json()["detail"], key


def test_with_anonymous_use_off_accounts_work_as_before(closed: World) -> None:
    (asset,) = upload(closed.client, ("a.jpg", images.jpeg(64, 48)), headers=closed.ann.headers)
    job = submit(closed.client, [asset["id"]], PIPELINE, headers=closed.ann.headers)
    assert wait_for(closed.client, job["id"], headers=closed.ann.headers)["status"] == "COMPLETED"
    assert closed.client.get("/api/v1/operations", headers=closed.ann.headers).status_code == 200
    assert closed.client.get("/api/livez").status_code == 200


def test_a_key_acts_only_within_its_scopes_even_where_anonymous_callers_may(world: World) -> None:
    narrow = account(world.client, "narrow@example.org", scopes=["render:sign"])
    for key in [("POST", "/api/v1/uploads"), ("POST", "/api/v1/jobs"), ("GET", "/api/v1/jobs/{job_id}")]:
        r = world.send(*key, world.anonymous, narrow)
        assert r.status_code == 403 and "scope" in r.json()["detail"], (key, r.text)
    r = world.send("POST", "/api/process", world.anonymous, narrow)
    assert r.status_code == 403 and "scope" in r.json()["detail"]  # PixTools' shape: {"detail": "…"}
    assert world.send("POST", "/api/v1/render-urls", world.anonymous, narrow).status_code == 200


def test_a_staff_key_left_in_the_environment_is_ignored_with_a_warning_saying_how_to_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PIXMILL_STAFF_API_KEY", "old-shared-key")
    with TestClient(create_app(make_settings(tmp_path))) as client:
        r = client.get("/api/v1/storefront/orders", headers={"X-API-Key": "old-shared-key"})
        assert r.status_code == 401  # no longer a credential
    warned = [rec.getMessage() for rec in caplog.records if "PIXMILL_STAFF_API_KEY" in rec.getMessage()]
    assert warned and "--role staff" in warned[0] and "--scopes orders,palettes" in warned[0]
