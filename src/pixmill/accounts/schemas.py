"""What the account routes take and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field


# (pydantic refuses a string with an unpaired surrogate itself, so no text here reaches argon2 or the database
# unencodable.)
def _plain(value: str) -> str:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("control characters are not allowed")
    return value


Email = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(_plain)]
Password = Annotated[str, Field(min_length=1, max_length=1024)]
Name = Annotated[str, Field(max_length=200), AfterValidator(_plain)]
Scope = Annotated[str, Field(max_length=64), AfterValidator(_plain)]


class RegisterIn(BaseModel):
    email: Email
    password: Password = Field(description="10 to 1024 characters")
    display_name: Name = ""
    invite: Annotated[str, Field(max_length=200), AfterValidator(_plain)] | None = Field(
        default=None, description="An admin's invite for this e-mail (PIXMILL_REGISTRATION=invite)"
    )


class LoginIn(BaseModel):
    email: Email
    password: Password


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str
    roles: list[str]
    created_at: datetime


class SignedIn(UserOut):
    csrf_token: str = Field(description="Send it back as the X-CSRF-Token header on every state-changing request")


class Me(BaseModel):
    id: str
    email: str
    display_name: str
    roles: list[str]
    scopes: list[str]
    via: str = Field(description="How the caller signed in: session, api_key or sso")


class PasswordResetIn(BaseModel):
    email: Email


class PasswordResetConfirm(BaseModel):
    token: Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_plain)]
    password: Password = Field(description="The new password: 10 to 1024 characters")


class InviteIn(BaseModel):
    email: Email


class InviteOut(BaseModel):
    email: str
    invite: str
    expires_at: datetime


class ApiKeyIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_plain)]
    scopes: list[Scope] = Field(min_length=1, max_length=20)
    expires_at: datetime | None = Field(default=None, description="When it stops working; default never")


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself, shown this once: only its hash is kept")
