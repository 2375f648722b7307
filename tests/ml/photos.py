"""The shared test photos and models (../shared, next to the project): read in place, never copied."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
MODELS = SHARED / "models"
FACES = SHARED / "testsets" / "faces"
PHOTOS = sorted(p.name for p in FACES.glob("*.png"))
# Fail loudly rather than collect no cases (which pytest would report as skipped) when ../shared is missing.
assert PHOTOS, f"no test photos in {FACES}: these tests need ../shared beside the project"


def photo(name: str, side: int | None = None, mode: str = "RGB") -> Image.Image:
    """A test photo in `mode`, shrunk so its longer side is at most `side`."""
    with Image.open(FACES / name) as im:
        out = im.convert(mode)
    if side is not None and max(out.size) > side:
        out.thumbnail((side, side), Image.Resampling.LANCZOS)
    return out


def landscape(name: str, side: int = 160, width_factor: int = 3, at: str = "right") -> tuple[Image.Image, int]:
    """The photo (longer side `side`) on a flat grey canvas `width_factor` times as wide, at its left or right
    end; also the x where the photo starts."""
    im = photo(name, side)
    canvas = Image.new("RGB", (im.width * width_factor, im.height), (128, 128, 128))
    x = canvas.width - im.width if at == "right" else 0
    canvas.paste(im, (x, 0))
    return canvas, x
