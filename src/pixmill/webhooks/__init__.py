"""Outbound webhooks: the final job status, POSTed and signed."""
