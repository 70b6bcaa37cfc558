"""The pure domain: commands, events and the rules that decide between them (no I/O)."""
