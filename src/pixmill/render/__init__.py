"""On-the-fly rendering: a pipeline in a signed URL, rendered synchronously and cached by content."""
