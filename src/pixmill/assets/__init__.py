"""Uploaded images (assets): checked by content, stored, recorded."""
