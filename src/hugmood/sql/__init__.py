"""Relational engines behind one small port: SQLite (embedded) and PostgreSQL (at scale)."""
