"""The web UI's static files."""
