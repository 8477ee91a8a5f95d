"""Utility interruption log pages."""
