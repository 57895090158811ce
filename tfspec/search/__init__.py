"""Search spaces: the `search { ... }` section of a spec, its points, and the concrete specs
they make. The compile path's part (no TensorFlow): `tfspec tune` (tfspec.search.tune) is the
only module here that imports TensorFlow and KerasTuner."""
