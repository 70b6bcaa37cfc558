"""Shared mood boards served over the Yjs protocol: rooms, the event-backed store, auth."""
