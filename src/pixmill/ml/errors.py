"""Errors ml raises; the operations that call ml turn them into the core's errors (pixmill.imaging.inference)."""

from __future__ import annotations


class MLError(Exception):
    """Base of every error ml raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ModelUnavailable(MLError):
    """Inference cannot run in this deployment: a model file, the `ml` extra or the configured device is missing."""
