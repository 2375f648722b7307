"""Prometheus metrics: the instruments every process records into, multiprocess mode, and what a scrape reads."""
