"""The shipped rule pack (one YAML file per rule), installed as the `noncoop.rulepack` package."""
