"""Tests of cascade."""
