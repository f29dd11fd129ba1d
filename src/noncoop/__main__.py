"""`python -m noncoop`, and the `noncoop` command: the command line."""

import gc


def main() -> None:
    """Import the command line with the cycle collector off, then run it. The imports make a
    few hundred thousand objects that live as long as the process: the collector walked them
    over and over while they were made (0.03-0.04 CPU s of every run, measured), and `run`
    then keeps them out of its walks for good."""
    gc.disable()
    try:
        from noncoop.cli.app import run
    finally:
        gc.enable()
    run()


if __name__ == "__main__":  # not when a worker process starts from this module (ingest)
    main()
