"""Tests of acs_engine.admin."""
