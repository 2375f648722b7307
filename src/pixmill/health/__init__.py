"""Liveness, readiness and the deep health check."""
