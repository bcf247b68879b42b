"""SVG icons for the console, read with importlib.resources (see app.icons)."""
