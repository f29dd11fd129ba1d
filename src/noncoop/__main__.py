"""`python -m noncoop` runs the command line."""

from noncoop.cli.app import run

if __name__ == "__main__":  # not when a worker process starts from this module (ingest)
    run()
