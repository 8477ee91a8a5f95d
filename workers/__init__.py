"""RQ jobs and the app context they run in."""
