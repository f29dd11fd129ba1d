"""`python -m noncoop` runs the command line."""

from noncoop.cli.app import run

run()
