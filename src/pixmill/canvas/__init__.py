"""Paint-by-dots canvases: palette, colour budget, grid, mapping, cleanup, dot plan, preview, PDF guide.

Pure: no web, database or queue imports.
"""
