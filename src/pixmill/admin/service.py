"""Admin use cases: list and change accounts (roles, disabled, quotas), read the audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pixmill.context import Context
from pixmill.db.models import AuditEvent
from pixmill.errors import PixmillError
from pixmill.identity import audit, browser_sessions, principal_cache, repository
from pixmill.identity.service import check_roles


class UserNotFound(PixmillError, LookupError):
    status, title = 404, "User not found"

    def detail(self, show_job: Callable[[str], str] = str) -> str:
        return f"no user has the id {self.args[0]!r}"


class LastAdmin(PixmillError):
    """The change would leave no enabled admin."""

    status, title = 409, "Conflict"


def list_users(ctx: Context) -> list[dict[str, Any]]:
    with ctx.session() as s:
        return [_read(s, u) for u in repository.users(s)]


def _read(s: Any, user: Any) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "roles": list(user.roles),
        "disabled": user.disabled,
        "sso": user.sso_subject is not None,
        "quota_jobs_per_minute": user.quota_jobs_per_minute,
        "quota_storage_bytes": user.quota_storage_bytes,
        "stored_bytes": repository.stored_bytes(s, user.id),
        "created_at": user.created_at,
    }


def change_user(ctx: Context, actor_id: str | None, user_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply the fields given (`changes`, from a PATCH body with only the fields sent); audit role and state changes."""
    with ctx.session() as s:
        user = repository.get_user(s, user_id)
        if user is None:
            raise UserNotFound(user_id)
        if "roles" in changes and changes["roles"] is not None:
            roles = check_roles(changes["roles"])
            if roles != sorted(user.roles):
                audit.record(s, "roles_changed", user_id=user.id, actor_id=actor_id, before=user.roles, after=roles)
                user.roles = roles
        if changes.get("disabled") is not None and changes["disabled"] != user.disabled:
            user.disabled = bool(changes["disabled"])
            audit.record(s, "user_disabled", user_id=user.id, actor_id=actor_id, disabled=user.disabled)
        for field in ("quota_jobs_per_minute", "quota_storage_bytes"):
            if field in changes:
                setattr(user, field, changes[field])
        s.flush()
        if not repository.active_admins(s):
            raise LastAdmin("this would leave no enabled admin: make another admin first")
        s.commit()
        disabled = user.disabled
        result = _read(s, user)
    principal_cache.forget(user_id=user_id)  # roles, disabled: every credential of the user is looked up anew
    if disabled:
        browser_sessions.end_all(ctx, user_id)
    return result


def audit_log(ctx: Context, limit: int, before: int | None, user_id: str | None, event: str | None) -> list[AuditEvent]:
    with ctx.session() as s:
        rows = list(repository.audit_page(s, limit, before, user_id, event))
        for row in rows:
            s.expunge(row)
        return rows
