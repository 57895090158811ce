"""An example tfspec plugin (see README.md).

`catalog` holds the pure-Python catalog entries that `tfspec check` reads (no TensorFlow);
`layers` holds the Keras classes that generated code, the runtime and `tfspec import` use.
Nothing is imported here, so loading the catalog never loads Keras.
"""

__version__ = "0.1.0"
