"""Dispatch: maintenance ticketing and on-call dispatch for hospital estates and facilities."""
