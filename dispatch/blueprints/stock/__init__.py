"""stock pages."""
