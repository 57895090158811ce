"""The intermediate representation: the layer catalog, lowering, shapes and passes."""
