"""Renderings: a report as Markdown, HTML or PDF (files.py writes the one asked for), and CSV
that a spreadsheet opens safely."""
