"""Validation: the JSON Schema of the normalised spec, then semantic checks."""
