"""Stage 5, engine: the rule pack evaluated over the event table as one pure function, events in,
explained alerts out. rules/ (the YAML rule language: model, load, checks), patterns/ (one module
per kind), decide/ (python and durable backends), then households and the timeline, selections,
evaluation and explanations.

May import: the shared modules only (vocab, events, asof, yamlspec, ...): the engine reads no
file and no store, so it runs the same for a region, a shard or a rule's inline test.
"""
