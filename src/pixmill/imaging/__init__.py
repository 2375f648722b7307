"""The pure image core: decode with limits, operations, encode. Knows nothing of HTTP, databases or queues."""
