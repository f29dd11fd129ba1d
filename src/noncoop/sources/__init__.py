"""Stage 1, sources: what a partnership declares (sources.yaml, mapping profiles) and how its
files are read (CSV in blocks with physical line numbers).

May import: the shared modules (vocab, events, quarantine, yamlspec, diagnostics, asof).
"""
