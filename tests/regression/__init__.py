"""Tests of regression."""
