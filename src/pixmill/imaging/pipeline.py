"""Pipelines as DAGs: validate a spec against the catalogue, order it, run it node by node.

JSON form (canonical)::

    {"nodes": [
        {"id": "small", "op": "resize", "params": {"width": 800}, "inputs": ["source"]},
        {"id": "webp", "op": "convert", "params": {"format": "webp"}, "inputs": ["small"], "output": "small"}
    ]}

A plain list of steps (``[{"op": "resize", ...}, {"op": "convert", ...}]``) is shorthand for a chain
whose last step is the output ``result``.

Inputs name ``source`` (the image the job runs on), another node, or ``asset:<id>`` (another uploaded
image, a watermark say: the caller supplies its bytes).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pixmill.imaging.catalogue import Operation, Params, RunContext, get_operation
from pixmill.imaging.decode import ImageInfo, decode
from pixmill.imaging.encode import encode
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.formats import OUTPUT_FORMATS, output_format_for
from pixmill.imaging.limits import check_output_size
from pixmill.imaging.values import BundleValue, DataValue, EncodedValue, ImageValue, Value

SOURCE = "source"
ASSET_PREFIX = "asset:"
MAX_NODES = 64
_ASSET_ID = re.compile(r"^asset:[A-Za-z0-9_-]{1,64}$")
_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"


class NodeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_NAME, description="Unique node name.")
    op: str = Field(description="Operation name from the catalogue.")
    params: dict[str, Any] = Field(default_factory=dict)
    inputs: list[str] = Field(default_factory=lambda: [SOURCE], min_length=1, max_length=8)
    output: str | None = Field(default=None, pattern=_NAME, description="Name of the result, if any.")


class PipelineSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nodes: list[NodeSpec] = Field(min_length=1, max_length=MAX_NODES)
    auto_orient: bool = Field(default=True, description="Apply EXIF orientation before anything else.")


@dataclass(frozen=True)
class Node:
    id: str
    op: Operation[Any]
    params: Params
    inputs: tuple[str, ...]
    output: str | None


@dataclass(frozen=True)
class Pipeline:
    """A validated pipeline, nodes in execution order."""

    nodes: tuple[Node, ...]
    auto_orient: bool = True

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON form, with every default filled in."""
        return {
            "nodes": [
                {
                    "id": n.id,
                    "op": n.op.name,
                    "params": n.params.model_dump(mode="json", exclude_none=True),
                    "inputs": list(n.inputs),
                    **({"output": n.output} if n.output else {}),
                }
                for n in self.nodes
            ],
            **({} if self.auto_orient else {"auto_orient": False}),
        }

    @property
    def queues(self) -> set[str]:
        """The queues this pipeline's nodes need (`ml` when any node runs a model)."""
        return {n.op.queue_of(n.params) if n.op.queue_of else n.op.queue for n in self.nodes}

    def names_needed(self, kind: type) -> list[str]:
        """Names of the `kind` resources the pipeline's nodes need from the caller, in order (once each)."""
        names = [name for n in self.nodes if n.op.needs for name in n.op.needs(n.params).get(kind, [])]
        return list(dict.fromkeys(names))

    @property
    def asset_ids(self) -> list[str]:
        """Ids of the other uploaded images the pipeline reads (``asset:<id>`` inputs), in order."""
        found = [i.removeprefix(ASSET_PREFIX) for n in self.nodes for i in n.inputs if i.startswith(ASSET_PREFIX)]
        return list(dict.fromkeys(found))


def _chain(steps: list[Any]) -> dict[str, Any]:
    nodes: list[Any] = []
    for i, step in enumerate(steps, start=1):
        if not isinstance(step, dict):
            raise InvalidPipeline(
                "each step must be an object", [{"node": f"step{i}", "field": None, "message": "not an object"}]
            )
        node = {"id": f"step{i}", "inputs": [nodes[-1]["id"] if nodes else SOURCE], **step}
        nodes.append(node)
    if nodes:
        nodes[-1].setdefault("output", "result")
    return {"nodes": nodes}


def _loc_field(loc: tuple[int | str, ...]) -> str | None:
    return ".".join(str(x) for x in loc) or None


def parse_pipeline(raw: Any) -> Pipeline:
    """Validate a pipeline spec (canonical dict or chain list); raise InvalidPipeline naming node and field."""
    if isinstance(raw, list):
        raw = _chain(raw)
    errors: list[dict[str, Any]] = []
    try:
        spec = PipelineSpec.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = err["loc"]
            node = None
            if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
                nodes = raw.get("nodes") if isinstance(raw, dict) else None
                candidate = nodes[loc[1]] if isinstance(nodes, list) and loc[1] < len(nodes) else None
                node = candidate.get("id") if isinstance(candidate, dict) else f"#{loc[1]}"
                loc = loc[2:]
            errors.append({"node": node, "field": _loc_field(loc), "message": err["msg"]})
        raise InvalidPipeline("the pipeline is not valid", errors) from None

    by_id: dict[str, NodeSpec] = {}
    for ns in spec.nodes:
        if ns.id == SOURCE:
            errors.append({"node": ns.id, "field": "id", "message": f"{SOURCE!r} is reserved for the input"})
        elif ns.id in by_id:
            errors.append({"node": ns.id, "field": "id", "message": "duplicate node id"})
        by_id[ns.id] = ns

    built: dict[str, Node] = {}
    for ns in spec.nodes:
        op = get_operation(ns.op)
        if op is None:
            errors.append({"node": ns.id, "field": "op", "message": f"unknown operation {ns.op!r}"})
            continue
        try:
            params = op.params.model_validate(ns.params)
        except ValidationError as exc:
            for err in exc.errors():
                field = _loc_field(("params", *err["loc"]))
                errors.append({"node": ns.id, "field": field, "message": err["msg"]})
            continue
        for name in ns.inputs:
            if name.startswith(ASSET_PREFIX):
                if not _ASSET_ID.match(name):
                    errors.append({"node": ns.id, "field": "inputs", "message": f"bad asset reference {name!r}"})
            elif name != SOURCE and name not in by_id:
                errors.append({"node": ns.id, "field": "inputs", "message": f"unknown input {name!r}"})
        low, high = op.arity
        if not low <= len(ns.inputs) <= high:
            count = (f"exactly {low}" if low == high else f"{low} to {high}") + (" input" if high == 1 else " inputs")
            errors.append({"node": ns.id, "field": "inputs", "message": f"{op.name} takes {count}"})
        elif op.check_inputs and (problem := op.check_inputs(params, len(ns.inputs))):
            errors.append({"node": ns.id, "field": "inputs", "message": problem})
        built[ns.id] = Node(ns.id, op, params, tuple(ns.inputs), ns.output)
    if errors:
        raise InvalidPipeline("the pipeline is not valid", errors)

    order = _topological_order(spec.nodes)
    kinds: dict[str, str] = {SOURCE: "image"}
    for node_id in order:
        node = built[node_id]
        for name in node.inputs:
            kinds.setdefault(name, "image")  # asset:<id>
            if kinds[name] not in node.op.accepts:
                errors.append(
                    {
                        "node": node.id,
                        "field": "inputs",
                        "message": f"{node.op.name} takes {' or '.join(node.op.accepts)}, "
                        f"but {name!r} gives {kinds[name]}",
                    }
                )
        kinds[node.id] = node.op.produces
    outputs = [n.output for n in built.values() if n.output]
    if not outputs:
        errors.append({"node": None, "field": "output", "message": "no node is marked as an output"})
    seen: set[str] = set()
    for name in outputs:
        if name in seen:
            errors.append({"node": None, "field": "output", "message": f"output name {name!r} used twice"})
        seen.add(name)
    if errors:
        raise InvalidPipeline("the pipeline is not valid", errors)
    return Pipeline(tuple(built[i] for i in order), spec.auto_orient)


def _topological_order(nodes: list[NodeSpec]) -> list[str]:
    pending = {n.id: {i for i in n.inputs if i != SOURCE and not i.startswith(ASSET_PREFIX)} for n in nodes}
    order: list[str] = []
    done: set[str] = set()
    while pending:
        ready = [nid for nid, deps in pending.items() if deps <= done]
        if not ready:
            cycle = sorted(pending)
            raise InvalidPipeline(
                "the pipeline has a cycle",
                [{"node": nid, "field": "inputs", "message": "part of a cycle"} for nid in cycle],
            )
        for nid in ready:  # declaration order among the ready ones
            order.append(nid)
            done.add(nid)
            del pending[nid]
    return order


@dataclass(frozen=True)
class Output:
    name: str
    node: str
    index: int  # position of the node in execution order: a stable, user-independent key
    value: EncodedValue | DataValue
    part: int = 0  # position within a node's bundle (thumbnails)


@dataclass(frozen=True)
class Step:
    node: str
    op: str
    ms: float


@dataclass(frozen=True)
class RunResult:
    outputs: list[Output]
    steps: list[Step]


def _size_hint(pipeline: Pipeline) -> Any:
    consumers = [n for n in pipeline.nodes if SOURCE in n.inputs]
    if not consumers or any(n.op.needs_size is None for n in consumers):
        return None

    def hint(info: ImageInfo) -> tuple[int, int] | None:
        sizes = []
        for n in consumers:
            assert n.op.needs_size is not None
            size = n.op.needs_size(n.params, info.width, info.height)
            if size is None:
                return None
            sizes.append(size)
        return max(s[0] for s in sizes), max(s[1] for s in sizes)

    return hint


def _default_format_key(value: ImageValue) -> str:
    fmt = output_format_for(value.source_format)
    return next(k for k, f in OUTPUT_FORMATS.items() if f is fmt)


def _apply(node: Node, inputs: list[Value], ctx: RunContext) -> Value:
    """Run one node; an image -> image operation on an animated image runs on every frame."""
    first = inputs[0]
    if not (node.op.per_frame and node.op.produces == "image" and isinstance(first, ImageValue) and first.animated):
        return node.op.run(inputs, node.params, ctx)
    assert first.frames is not None
    frames: list[Image.Image] = []
    for frame in first.frames:
        ctx.check_deadline()
        out = node.op.run([first.with_image(frame), *inputs[1:]], node.params, ctx)
        assert isinstance(out, ImageValue)
        if not frames:  # each frame was checked by the operation; all of them together, before the rest are made
            check_output_size(out.image.size, ctx.limits, frames=len(first.frames))
        frames.append(out.image)
    return replace(first, image=frames[0], frames=frames, shrunk_from=None)


def run_pipeline(
    pipeline: Pipeline,
    data: bytes,
    ctx: RunContext,
    assets: Mapping[str, bytes] | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> RunResult:
    """Decode `data` once and run every node in order; images at output nodes are encoded.

    assets: the bytes of every ``asset:<id>`` the pipeline reads, by id.
    on_step: called with each step as soon as it is done (progress reports).
    """
    steps: list[Step] = []

    def done(step: Step) -> None:
        steps.append(step)
        if on_step is not None:
            on_step(step)

    t0 = time.perf_counter()
    values: dict[str, Value] = {SOURCE: decode(data, ctx.limits, _size_hint(pipeline), pipeline.auto_orient)}
    done(Step("source", "decode", (time.perf_counter() - t0) * 1000))
    for asset_id in pipeline.asset_ids:
        if assets is None or asset_id not in assets:
            raise InvalidPipeline(
                f"asset {asset_id!r} is not available",
                [{"node": None, "field": "inputs", "message": f"unknown asset {asset_id!r}"}],
            )
        t0 = time.perf_counter()
        values[ASSET_PREFIX + asset_id] = decode(assets[asset_id], ctx.limits, auto_orient=pipeline.auto_orient)
        done(Step(ASSET_PREFIX + asset_id, "decode", (time.perf_counter() - t0) * 1000))
    remaining = dict.fromkeys(values, 0) | {n.id: 0 for n in pipeline.nodes}
    for n in pipeline.nodes:
        for name in n.inputs:
            remaining[name] += 1
    outputs: list[Output] = []
    for index, node in enumerate(pipeline.nodes):
        ctx.check_deadline()
        t0 = time.perf_counter()
        try:
            value = _apply(node, [values[i] for i in node.inputs], ctx)
        except InvalidPipeline as exc:
            raise exc.at_node(node.id, node.op.name) from None
        if node.output:
            result = value
            if isinstance(result, ImageValue):
                result = encode(result, _default_format_key(result))
            if isinstance(result, BundleValue):
                outputs += [
                    Output(f"{node.output}-{key}", node.id, index, item, part)
                    for part, (key, item) in enumerate(result.items.items())
                ]
            else:
                assert isinstance(result, EncodedValue | DataValue)
                outputs.append(Output(node.output, node.id, index, result))
        done(Step(node.id, node.op.name, (time.perf_counter() - t0) * 1000))
        if remaining[node.id]:
            values[node.id] = value
        for name in node.inputs:  # let go of what no later node needs
            remaining[name] -= 1
            if remaining[name] == 0:
                values.pop(name, None)
    return RunResult(outputs, steps)
