"""Emergency plan pages."""
