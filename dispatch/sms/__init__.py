"""SMS plumbing: segment counting, message text, the reply parser and the Twilio client."""
