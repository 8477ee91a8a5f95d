"""Permit to work pages."""
