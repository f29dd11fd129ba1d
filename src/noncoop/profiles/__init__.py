"""The shipped mapping profiles (YAML), one per agency export format."""
