"""Allow `python -m hugmood`."""

from hugmood.entrypoints.cli import main

main()
