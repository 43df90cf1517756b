"""Tests of viz."""
