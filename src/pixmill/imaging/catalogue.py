"""The one catalogue of operations: the pipeline validator, the API, the CLI and the docs all read it."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from pixmill.imaging.errors import DeadlineExceeded
from pixmill.imaging.limits import Limits
from pixmill.imaging.values import Value

Kind = Literal["image", "encoded", "data", "bundle"]


class Params(BaseModel):
    """Base of every operation's parameters: unknown fields are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=Params)
R = TypeVar("R")


@dataclass(frozen=True)
class RunContext:
    """What an operation may know about the run: the limits, the deadline and the deployment's resources."""

    limits: Limits = field(default_factory=Limits)
    deadline: float | None = None  # time.monotonic() value
    # What the deployment supplies to the operations that need it, one value per type (where model files
    # are, the stored palettes a pipeline names …). The kernel knows none of these types: an operation
    # asks for the type it defines or imports, so the kernel never depends on ml, canvas or a database.
    resources: tuple[object, ...] = ()

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlineExceeded("the pipeline ran past its deadline")

    def resource(self, kind: type[R]) -> R:
        """The caller's resource of type `kind`, or `kind()` (its defaults) when the caller supplied none."""
        for value in self.resources:
            if isinstance(value, kind):
                return value
        return kind()


@dataclass(frozen=True)
class Operation(Generic[P]):
    """One operation: its name, parameters, what it takes and makes, and the function that runs it."""

    name: str
    summary: str
    params: type[P]
    run: Callable[[list[Value], P, RunContext], Value]
    accepts: tuple[Kind, ...] = ("image",)
    produces: Kind = "image"
    # Size this operation needs from its source, given the source's displayed size: lets the decoder
    # shrink on load. None means "the full image".
    needs_size: Callable[[P, int, int], tuple[int, int] | None] | None = None
    queue: Literal["standard", "ml"] = "standard"
    # The named resources a node needs from the caller, by resource type ({Palettes: ["dmc"]}): the caller
    # loads them (Pipeline.names_needed) and supplies them in RunContext.resources.
    needs: Callable[[P], Mapping[type, list[str]]] | None = None
    # When the queue depends on the parameters (crop with gravity "faces" runs a model): params -> queue.
    queue_of: Callable[[P], Literal["standard", "ml"]] | None = None
    # How many inputs a node takes, at least and at most (watermark: the image, and an overlay or not).
    arity: tuple[int, int] = (1, 1)
    # Checks that need both the parameters and the number of inputs; returns an error message or None.
    check_inputs: Callable[[P, int], str | None] | None = None
    # image -> image operations run on every frame of an animated image unless this is False.
    per_frame: bool = True


CATALOGUE: dict[str, Operation[Any]] = {}


def register(op: Operation[P]) -> Operation[P]:
    """Add an operation to the catalogue (once per name)."""
    if op.name in CATALOGUE:
        raise ValueError(f"operation {op.name!r} is registered twice")
    CATALOGUE[op.name] = op
    return op


def get_operation(name: str) -> Operation[Any] | None:
    """The operation called `name`, or None."""
    _load_builtin_ops()
    return CATALOGUE.get(name)


def operations() -> dict[str, Operation[Any]]:
    """Every registered operation by name."""
    _load_builtin_ops()
    return dict(CATALOGUE)


# The entry-point group whose modules register operations when imported (pyproject.toml names the built-in
# package, pixmill.imaging.ops). Loading them through the installed metadata keeps the kernel from importing
# the operations above it: the catalogue is a registry and knows no operation by name.
ENTRY_POINT_GROUP = "pixmill.operations"
_loaded = False


def _load_builtin_ops() -> None:
    global _loaded
    if _loaded:
        return
    found = entry_points(group=ENTRY_POINT_GROUP)
    if not found:
        raise RuntimeError(
            f"no operations are installed (entry-point group {ENTRY_POINT_GROUP!r} is empty): "
            "install pixmill with  pip install -e .  so its package metadata exists"
        )
    for entry in sorted(found, key=lambda e: e.name):
        entry.load()
    _loaded = True


def describe() -> list[dict[str, Any]]:
    """The catalogue as JSON: name, summary, what it takes and makes, parameters' JSON schema."""
    return [
        {
            "name": op.name,
            "summary": op.summary,
            "accepts": list(op.accepts),
            "produces": op.produces,
            "queue": op.queue,
            "inputs": list(op.arity),
            "params": op.params.model_json_schema(),
        }
        for op in sorted(operations().values(), key=lambda o: o.name)
    ]


def _param_text(name: str, schema: dict[str, Any]) -> str:
    text = f"`{name}`"
    if "default" in schema and schema["default"] is not None:
        text += f" = {schema['default']!r}".replace("'", "")
    return text


def markdown() -> str:
    """The catalogue as a Markdown table (the README's operation table is generated from this)."""
    rows = ["| operation | what it does | parameters |", "| --- | --- | --- |"]
    for op in sorted(operations().values(), key=lambda o: o.name):
        props = op.params.model_json_schema().get("properties", {})
        params = ", ".join(_param_text(n, p) for n, p in props.items()) or "—"
        inputs = "" if op.arity == (1, 1) else f" Takes {op.arity[0]} to {op.arity[1]} inputs."
        rows.append(f"| `{op.name}` | {op.summary}{inputs} | {params} |")
    return "\n".join(rows) + "\n"
