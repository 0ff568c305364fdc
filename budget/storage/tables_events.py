"""Tables of the event outbox and webhooks (defined with the events capability)."""
