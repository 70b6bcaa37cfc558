"""HugMood: an event-sourced, local-first emotional-wellness social platform."""

__version__ = "0.1.0"
