"""The application layer: command handlers, the message bus, queries, and the ports they use."""
