"""ML: model files loaded from a models directory, inference, tiling. No web, no queue."""
