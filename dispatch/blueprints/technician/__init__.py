"""technician pages."""
