"""Stage 7, reports: what a strategy meeting reads. A child's or household's case file from the
workspace and the alert store, the chronology in words, the timeline figure, pseudonymisation as
a stage before any rendering, and the renderings (render/).

May import: alerts, the store, earlier stages and the shared modules.
"""
