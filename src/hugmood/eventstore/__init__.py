"""The event store: the envelope, the store contract (port) and its backends."""
