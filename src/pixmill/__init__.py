"""pixmill: image pipelines, paint-by-dots canvases and ML enhancement on one processing core."""

__version__ = "0.1.0"
