"""Errors the imaging core raises; the API maps each type to one HTTP problem."""

from __future__ import annotations

from typing import Any


class ImagingError(Exception):
    """Base of every error caused by the input or the pipeline (never by pixmill itself)."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class UnsupportedFormat(ImagingError):
    """The bytes are not an image of a format pixmill reads."""


class ImageTooLarge(ImagingError):
    """The file, its pixel count, a dimension or its frame count is over a limit."""


class CorruptImage(ImagingError):
    """The image is truncated or damaged and cannot be decoded."""


class InvalidPipeline(ImagingError):
    """The pipeline spec is wrong; `errors` lists each problem with the node and field it concerns."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message, errors=errors or [])
        self.errors = errors or []

    def at_node(self, node: str, op: str) -> InvalidPipeline:
        """This error, raised while `node` ran, naming that node wherever it names none yet."""
        if self.errors and all(e.get("node") is not None for e in self.errors):
            return self
        self.message = f"node {node!r} ({op}): {self.message}"
        self.args = (self.message,)
        self.errors = [e if e.get("node") is not None else {**e, "node": node} for e in self.errors]
        self.details["errors"] = self.errors
        return self


class OutputTooLarge(InvalidPipeline):
    """A node would make an image over the pixel or side limits (checked before anything is allocated)."""


class OperationUnavailable(ImagingError):
    """The operation exists but cannot run in this deployment (a missing model, say)."""


class DeadlineExceeded(ImagingError):
    """The pipeline ran past its deadline."""
