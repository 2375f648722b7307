"""Drill palettes as data: imported from CSV, stored and versioned in the database."""
