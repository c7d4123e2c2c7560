"""Tests of tracker.measure."""
