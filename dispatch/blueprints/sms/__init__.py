"""Twilio webhooks."""
