"""FieldACS engine: a TR-069 ACS in pure asyncio. Never imports Qt (a test enforces it)."""

__version__ = "0.1.0"
