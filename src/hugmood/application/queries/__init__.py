"""Queries over the read models. Privacy is enforced here, so every entry point inherits it."""
