"""PixmillError: the one base of every domain's and adapter's error that the API answers as a problem.

Each subclass declares how it is answered (status, title, Retry-After, its detail and extra fields), so the API's
one handler (api/problems.py) knows no domain. It sits below everything that raises it and imports nothing of
pixmill at run time; the core (imaging, canvas, ml) never uses it, and its errors stay mapped by the table in
api/problems.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pixmill.imaging.errors import ImagingError


class PixmillError(Exception):
    """An error the API answers with `status`, `title` and `detail()`; subclasses override what differs."""

    status: int = 500
    title: str = "Internal error"
    # Seconds a client should wait before sending the same request again (the Retry-After header), if it may.
    retry_after: int | None = None
    # An outage operators must hear about is logged with this message (the error's text as `error`).
    log_message: str | None = None
    # A domain error caused by a core error answers with the core error's status and title, which only the API's
    # table of core errors knows.
    core_error: ImagingError | None = None

    def detail(self, show_job: Callable[[str], str] = str) -> str:
        """What was wrong, for the user; `show_job` writes a job id as the client knows it (PixTools: dashed)."""
        return str(self)

    def extra(self) -> dict[str, Any]:
        """Fields added to the problem beside its detail."""
        return {}
