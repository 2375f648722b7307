"""Work of the render domain run in worker processes: rendering a signed URL's pipeline (called synchronously)."""

from __future__ import annotations

from pixmill.render.service import render
from pixmill.worker.registry import RENDER, register

register(RENDER, render)
