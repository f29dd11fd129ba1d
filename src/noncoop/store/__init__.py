"""Stage 3, store: the workspace on disk. Event parts (Parquet) committed by an atomic manifest,
the quarantine and withdrawn records, the resolved subjects, a key set for de-duplicating event
ids, and the lock that keeps one writer per workspace.

May import: sources, identity and the shared modules.
"""
