"""admin pages: the staff list, people's details, licences and a test SMS."""
