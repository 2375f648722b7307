"""Admin routes: accounts (roles, disabled, quotas) and the audit log. Admin role, `admin` scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pixmill.admin import service
from pixmill.admin.schemas import AuditRead, UserAdminRead, UserPatch
from pixmill.api.deps import Caller, Ctx, require_scope
from pixmill.api.routing import BoundedJsonRoute
from pixmill.db.models import MAX_DB_INT

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    route_class=BoundedJsonRoute,
    dependencies=[require_scope("admin")],
    responses={401: {"description": "Not signed in"}, 403: {"description": "Not an admin"}},
)


@router.get("/users", summary="Every account, with its roles, quotas and stored bytes")
def list_users(ctx: Ctx) -> list[UserAdminRead]:
    return [UserAdminRead(**u) for u in service.list_users(ctx)]


@router.patch(
    "/users/{user_id}",
    summary="Change an account's roles, disabled state or quotas (fields left out stay as they are)",
    responses={404: {"description": "No such user"}, 409: {"description": "It would leave no enabled admin"}},
)
def change_user(ctx: Ctx, caller: Caller, user_id: str, body: UserPatch) -> UserAdminRead:
    changes = body.model_dump(exclude_unset=True)
    return UserAdminRead(**service.change_user(ctx, caller.user_id, user_id, changes))


@router.get("/audit", summary="Security events, newest first (login, failed login, keys, roles, password resets)")
def audit_log(
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=MAX_DB_INT, description="Only events older than this id")] = None,
    user_id: Annotated[str | None, Query(max_length=32)] = None,
    event: Annotated[str | None, Query(max_length=64)] = None,
) -> list[AuditRead]:
    return [
        AuditRead.model_validate(e, from_attributes=True) for e in service.audit_log(ctx, limit, before, user_id, event)
    ]
