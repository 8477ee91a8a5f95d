"""QR label pages."""
