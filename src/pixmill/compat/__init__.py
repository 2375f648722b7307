"""The PixTools-shaped API (/api/process, /api/jobs/{id}), translated onto the same jobs and pipelines."""
