"""reports pages."""
