"""The HTTP layer: app factory, middleware, problem responses, dependencies."""
