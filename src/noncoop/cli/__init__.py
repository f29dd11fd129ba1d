"""The command line on top: options parsed, library called, results shown; no logic of its own.
One module per command group (ingest, scan, demo, rules, alerts, reports), views for the
terminal, and one place (errors.py) where user-actionable errors become an exit code.

May import: every stage.
"""
