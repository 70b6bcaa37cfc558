"""Security adapters: Argon2id password hashing, session tokens and login throttling."""
