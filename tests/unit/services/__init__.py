"""Tests of acs_engine.services."""
