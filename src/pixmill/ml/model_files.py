"""Find model files in the models directory and check them against the manifest; nothing is downloaded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pixmill.ml.device import DeviceSetting
from pixmill.ml.errors import ModelUnavailable
from pixmill.ml.manifest import MANIFEST, ModelFile

_verified: dict[tuple[str, int, int], bool] = {}


@dataclass(frozen=True)
class MLSetup:
    """Where the deployment keeps model files and where inference runs: the resource ML operations read."""

    models_dir: Path | None = None
    device: DeviceSetting = "auto"


@dataclass(frozen=True)
class ModelStatus:
    model: ModelFile
    path: Path | None
    state: str  # installed | missing | corrupt | no models directory


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _matches(model: ModelFile, path: Path) -> bool:
    stat = path.stat()
    key = (str(path), stat.st_size, int(stat.st_mtime_ns))
    if key not in _verified:
        _verified[key] = _sha256(path) == model.sha256
    return _verified[key]


def status(models_dir: Path | None, name: str) -> ModelStatus:
    model = MANIFEST[name]
    if models_dir is None:
        return ModelStatus(model, None, "no models directory")
    path = models_dir / model.path
    if not path.is_file():
        return ModelStatus(model, path, "missing")
    return ModelStatus(model, path, "installed" if _matches(model, path) else "corrupt")


def require(models_dir: Path | None, name: str) -> Path:
    """The checked path of model `name`; raises ModelUnavailable saying which file to put where."""
    st = status(models_dir, name)
    if st.state == "installed":
        assert st.path is not None
        return st.path
    where = f"{models_dir}/{st.model.path}" if models_dir else f"<PIXMILL_MODELS_DIR>/{st.model.path}"
    if st.state == "corrupt":
        raise ModelUnavailable(
            f"model file {where} does not match its sha256 ({st.model.sha256[:12]}…); reinstall {st.model.description}"
        )
    raise ModelUnavailable(
        f"model {name!r} is not installed: put {st.model.path} ({st.model.description}) at {where} "
        "(set PIXMILL_MODELS_DIR to the models directory)"
    )
