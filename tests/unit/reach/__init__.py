"""Tests of acs_engine.reach."""
