"""Content-addressed blob storage (board images): the port and its memory, file and SQL backends."""
