"""One name for one thing: no module or package name in pixmill means two different things (issue 13).

A name counts with or without a trailing "s", so `models.py` beside `model.py`, or `worker/` beside
`workers.py`, is a collision too: a reader searching for one finds the other.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pixmill

ROOT = Path(pixmill.__file__).parent

# Names used on purpose in several packages, each time for the same role, so that anyone knows where a line
# belongs (Polar's slices): every domain has the same files.
SLICE_NAMES = {
    "endpoints",  # a domain's thin routes
    "schemas",  # a domain's request and response models
    "service",  # a domain's logic
    "repository",  # a domain's SQL
    "tasks",  # a domain's registered background tasks
    "expiry",  # a domain's own expiry; pixmill/expiry.py is the sweep that runs each of them
    "states",  # a domain's status values and their transitions (jobs, storefront orders)
    "errors",  # the errors a package raises: each layer owns its own (ml's are not imaging's; issue 13)
    # In adapters/<port>/, each adapter is named for the system it uses, the same in every port folder
    "redis",  # a port's distributed adapter on Redis (cache, events, idempotency)
    "local",  # a port's embedded adapter on this machine (storage on disk, events in-process)
}

# Collisions outside the core (imaging, canvas, ml), each to be ended by a rename in the slice that owns it.
# Remove an entry when its rename lands: test_known_collisions_still_exist says when.
KNOWN_COLLISIONS: set[str] = set()


def _key(name: str) -> str:
    name = name.lower()
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def module_names(root: Path = ROOT) -> dict[str, list[str]]:
    """Every module and package under `root` by its name (plural-insensitive), with the paths that use it."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        if path.name == "__init__.py":
            if path.parent == root:
                continue
            name, where = path.parent.name, f"{path.parent.relative_to(root).as_posix()}/"
        else:
            name, where = path.stem, path.relative_to(root).as_posix()
        found[_key(name)].append(where)
    return found


def collisions(root: Path = ROOT) -> dict[str, list[str]]:
    return {name: paths for name, paths in module_names(root).items() if len(paths) > 1}


def test_no_module_name_is_used_for_two_things() -> None:
    allowed = {_key(n) for n in SLICE_NAMES} | {_key(n) for n in KNOWN_COLLISIONS}
    unexpected = {name: paths for name, paths in collisions().items() if name not in allowed}
    assert not unexpected, (
        f"module names used for different things: {unexpected}; rename one so the name says what it holds "
        "(or, for a name every slice uses for the same role, add it to SLICE_NAMES with the reason)"
    )


def test_known_collisions_still_exist() -> None:
    ended = {name for name in KNOWN_COLLISIONS if _key(name) not in collisions()}
    assert not ended, f"these collisions have ended: remove {sorted(ended)} from KNOWN_COLLISIONS"


def test_the_check_sees_a_plural_twin(tmp_path: Path) -> None:
    (tmp_path / "ml").mkdir()
    (tmp_path / "ml" / "__init__.py").touch()
    (tmp_path / "ml" / "models.py").touch()
    (tmp_path / "canvas").mkdir()
    (tmp_path / "canvas" / "model.py").touch()
    (tmp_path / "ml" / "detection.py").touch()
    assert collisions(tmp_path) == {"model": ["canvas/model.py", "ml/models.py"]}
