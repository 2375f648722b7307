"""Built-in operations, one module each; importing this package registers them all."""

from pixmill.imaging.ops import convert, denoise, metadata, resize

__all__ = ["convert", "denoise", "metadata", "resize"]
