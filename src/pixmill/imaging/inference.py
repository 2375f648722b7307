"""Where operations call ml: ml's errors leave as the core's, so API, job and CLI messages keep one type."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from pixmill.imaging.errors import OperationUnavailable
from pixmill.ml.errors import ModelUnavailable

P = ParamSpec("P")
R = TypeVar("R")


def uses_ml(fn: Callable[P, R]) -> Callable[P, R]:
    """`fn`, with ml's ModelUnavailable raised as OperationUnavailable carrying the same message."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ModelUnavailable as exc:
            raise OperationUnavailable(exc.message) from exc

    return wrapper
