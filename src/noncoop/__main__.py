"""`python -m noncoop` runs the command line."""

from noncoop.cli import app

app()
