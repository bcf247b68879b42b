"""Checks of installer/: the bundle spec's inputs, the icons, the desktop entry, ext() when frozen."""
