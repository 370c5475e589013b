"""`python -m netmon` runs the CLI."""

from netmon.cli import main

main()
