"""Broadband Forum data-model facts: extraction, loading, value checks and simulator models."""
