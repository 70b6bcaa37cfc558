"""Entry points: the ASGI app (GraphQL, health, metrics) and the command line."""
