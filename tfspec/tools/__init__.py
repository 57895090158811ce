"""Tooling around specs: formatter, graph pictures, schema, explanations, import, export."""
