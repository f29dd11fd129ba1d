"""Stage 6, alerts: what happens to an alert after the engine finds it. The lifecycle of episodes
(new, ongoing, reopened, resolved) as a pure function, triage (acknowledge, close, snooze), the
append-only audit, the SQLite store holding them, and flat exports.

May import: the engine (its Alert), earlier stages and the shared modules.
"""
