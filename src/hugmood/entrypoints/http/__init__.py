"""Plain HTTP: middleware (request ids, size limits, metrics) and health and metrics routes."""
