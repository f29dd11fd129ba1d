"""The rule language: strict models of a rule file, its condition, load-time checks (one function
per RULE-* code), loading a pack and describing a rule in plain English."""
