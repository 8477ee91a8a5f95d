"""tickets pages."""
