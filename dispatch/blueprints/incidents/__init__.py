"""incidents pages: the control room's major-incident actions and what a reporting ward is told."""
