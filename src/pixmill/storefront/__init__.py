"""The print shop's workflow: instant canvas previews, signed order events, renders, staff review."""
