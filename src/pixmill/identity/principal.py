"""The caller of a request or the owner of a piece of work: a user (through a session, an API key or an SSO
token) or nobody (anonymous). Roles say what a user may do; scopes narrow what one credential may do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["user", "staff", "admin"]
ROLES: tuple[Role, ...] = ("user", "staff", "admin")

# What each role may do, as scopes. A session or an SSO token has all its roles' scopes; an API key has the
# scopes it was created with, and never more than its owner's roles allow today.
USER_SCOPES = frozenset({"assets", "jobs", "render:sign", "library"})
STAFF_SCOPES = USER_SCOPES | {"orders", "palettes"}
ADMIN_SCOPES = STAFF_SCOPES | {"admin"}
ALL_SCOPES = ADMIN_SCOPES
_ROLE_SCOPES: dict[str, frozenset[str]] = {"user": USER_SCOPES, "staff": STAFF_SCOPES, "admin": ADMIN_SCOPES}

Via = Literal["anonymous", "session", "api_key", "sso"]


def scopes_of(roles: frozenset[str]) -> frozenset[str]:
    """Every scope the roles allow (`user` is implied for any account)."""
    out: frozenset[str] = USER_SCOPES
    for role in roles:
        out |= _ROLE_SCOPES.get(role, frozenset())
    return out


@dataclass(frozen=True)
class Principal:
    """Who is calling. `user_id` is None only for anonymous callers."""

    via: Via
    user_id: str | None = None
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    key_id: str | None = None  # the API key used, when via == "api_key"
    email: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_staff(self) -> bool:
        """Staff or admin (an admin may do all that staff may)."""
        return "staff" in self.roles or self.is_admin

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    def can_see(self, owner_id: str | None) -> bool:
        """Whether a resource owned by `owner_id` is this caller's to see in lists and by id: an admin sees
        everything, a user their own. Anonymous work (owner None) is reached only by its unguessable id."""
        return self.is_admin or (self.user_id is not None and owner_id == self.user_id)

    def reaches(self, owner_id: str | None) -> bool:
        """Whether work owned by `owner_id` is this caller's to read by id or to use as an input: anonymous work
        (by its unguessable id) for anyone, a user's for that user and admins."""
        return owner_id is None or self.can_see(owner_id)

    @property
    def owner_id(self) -> str | None:
        """The owner recorded on what this caller creates (None: anonymous)."""
        return self.user_id


ANONYMOUS = Principal(via="anonymous")


def for_user(user_id: str, roles: frozenset[str], via: Via, email: str | None = None) -> Principal:
    """A user's principal with all the scopes of their roles (sessions and SSO tokens)."""
    return Principal(via=via, user_id=user_id, roles=roles | {"user"}, scopes=scopes_of(roles), email=email)
