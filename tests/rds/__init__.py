"""Tests of rds."""
