"""report pages."""
