"""Command handlers: plain async functions of (command, dependencies, context)."""
