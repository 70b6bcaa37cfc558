"""End-to-end tests: the real `hugmood` server started as a subprocess, driven over HTTP."""
