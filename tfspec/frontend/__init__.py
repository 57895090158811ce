"""Front end: source text -> Lark parse tree -> normalised spec dict (+ span table)."""
