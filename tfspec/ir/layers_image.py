"""Catalog entries: image preprocessing and augmentation (Resizing, CenterCrop, RandomCrop,
RandomFlip and the other Random* layers, AutoContrast, Solarization, AugMix, RandAugment, CLAHE).

Each takes images: per sample (height, width, channels), or (channels, height, width) with
data_format="channels_first". Keras would also take a rank-2 sample, but as one image spread
over the batch, so the catalog asks for rank 3. None has weights. The augmentations change
their input only when called with training=True (Keras passes the flag: fit trains with it,
predict and evaluate run without it); Resizing, CenterCrop, AutoContrast and CLAHE act always.

Argument order, defaults and ranges follow each class's `__init__` under
keras/src/layers/preprocessing/image_preprocessing (Keras 3.15), plus the checks Keras makes
only when the layer first runs (an unknown interpolation, a channel count the colour layers
cannot take), so that a spec that checks also runs.
"""

from __future__ import annotations

from .catalog import (
    BOOL,
    DATA_FORMAT,
    FLOAT,
    NONE,
    NONNEG_INT,
    POS_INT,
    Arg,
    ShapeError,
    Type,
    choice,
    float_type,
    is_int,
    is_number,
    layer,
    one_of,
)
from .layers_base import SEED, channels_first, fmt, put_spatial, rank_hint, spatial
from .values import show

# -- argument types -----------------------------------------------------------------------------


def factor_type(low, high, *, each=False, ints=False, low_open=False, pair=True, name=None) -> Type:
    """An augmentation factor: a number in [low, high], or (`pair`) a (low, high) pair.

    For a pair the base layer of Keras checks only that its first number is ≤ high and its
    second ≥ low (RandomRotation((-2, 0.5)) is accepted); `each` checks both numbers against
    the range, as RandomZoom, RandomTranslation, RandomShear and Solarization do. `ints`:
    integers only (RandomPosterization's bit counts). `low_open`: low itself is out (RandomZoom).
    """
    what = "an integer" if ints else "a number"
    span = f"{'(' if low_open else '['}{show(low)}, {show(high)}]"

    def kind_ok(x):
        return is_int(x) if ints else is_number(x)

    def inside(x):
        return (x > low if low_open else x >= low) and x <= high

    def test(v):
        if pair and isinstance(v, (tuple, list)):
            if len(v) != 2 or not all(kind_ok(x) for x in v):
                return f"expected {what} or a (low, high) pair of them, got {show(v)}"
            if each and not all(inside(x) for x in v):
                return f"must be a pair of numbers in {span}, got {show(v)}"
            if not each and (v[0] > high or v[1] < low):
                return f"must be a pair whose first number is ≤ {show(high)} and second ≥ {show(low)}, got {show(v)}"
            return None
        if not kind_ok(v):
            return f"expected {what}{' or a (low, high) pair' if pair else ''}, got {show(v)}"
        if not inside(v):
            return f"must be in {span}, got {show(v)}"
        return None

    return Type(name or f"{what} in {span}" + (" or a (low, high) pair" if pair else ""), test)


def _value_range(v):
    if not isinstance(v, (tuple, list)) or len(v) != 2 or not all(is_number(x) for x in v):
        return f"expected a (low, high) pair of numbers, got {show(v)}"
    if not v[0] < v[1]:
        return f"must be a (low, high) pair with low < high, got {show(v)}"
    return None


def _pair_of_sizes(v):
    if not isinstance(v, (tuple, list)) or len(v) != 2 or not all(is_int(x) for x in v):
        return f"expected a (rows, columns) pair of integers, got {show(v)}"
    if min(v) < 1:
        return f"must be a pair of integers ≥ 1, got {show(v)}"
    return None


def _odd_size(v):
    return is_int(v) and v >= 1 and v % 2 == 1


def _kernel_size(v):
    items = v if isinstance(v, (tuple, list)) else (v,)
    if isinstance(v, (tuple, list)) and len(v) != 2:
        return f"expected an odd integer or a (low, high) pair of them, got {show(v)}"
    if not all(is_int(x) for x in items):
        return f"expected an odd integer or a (low, high) pair of them, got {show(v)}"
    if not all(_odd_size(x) for x in items):
        return f"must be odd and ≥ 1 (a blur kernel has a centre), got {show(v)}"
    return None


def _fill_color(v):
    if v is None or is_number(v):
        return None
    if isinstance(v, (tuple, list)) and len(v) == 3 and all(is_number(x) for x in v):
        return None
    return f"expected None, a number or 3 numbers (one per RGB channel), got {show(v)}"


VALUE_RANGE = Type("(low, high) pair of numbers", _value_range)
TILE_GRID = Type("(rows, columns) pair of integers ≥ 1", _pair_of_sizes)
KERNEL_SIZE = Type("odd integer or (low, high) pair of them", _kernel_size)
FILL_COLOR = Type("None, a number or 3 numbers", _fill_color)
UNIT = float_type(minimum=0, maximum=1, name="number in [0, 1]")
# Keras's affine transforms (ops.image.affine_transform) know these on the TensorFlow backend.
AFFINE_INTERPOLATION = choice("nearest", "bilinear", name="interpolation")
FILL_MODE = choice("reflect", "wrap", "constant", "nearest", name="fill mode")
# ops.image.resize on the TensorFlow backend (RESIZE_INTERPOLATIONS).
RESIZE_INTERPOLATION = choice("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area", name="interpolation")
FLIP_MODE = choice("horizontal", "vertical", "horizontal_and_vertical", name="flip mode")
RANGE = Arg("value_range", VALUE_RANGE, (0, 255))


# -- shape rules ------------------------------------------------------------------------------


def image(x, a, kind):
    """(height, width, channels) of one image, in the layer's data format."""
    first = channels_first(a)
    if len(x) != 3:
        layout = "(channels, height, width)" if first else "(height, width, channels)"
        hint = rank_hint(kind, 3, x)
        if len(x) > 3:
            hint = "give it one image per sample: Reshape, or apply it per frame with TimeDistributed"
        raise ShapeError(f"{kind} expects images {layout}, got shape {fmt(x)} (rank {len(x)})", hint)
    (h, w), c = spatial(x, first)
    return h, w, c


def need_channels(kind, x, a, allowed, why):
    """Refuse a known channel count the layer cannot take (every such layer takes data_format)."""
    first = channels_first(a)
    c = spatial(x, first)[1]
    if c is not None and c not in allowed:
        counts = " or ".join(str(n) for n in sorted(allowed, reverse=True))
        other = "last" if first else "first"
        hint = (
            f'are the channels {other}? write data_format="channels_{other}"'
            if x[-1 if first else 0] in allowed
            else None
        )
        raise ShapeError(f"{kind} {why}: it takes images with {counts} channels, got {c} in {fmt(x)}", hint)


def keep(kind, channels=None):
    """A layer that keeps the image's shape; `channels(a)` -> (allowed counts, why) or None."""

    def rule(ins, a):
        (x,) = ins
        image(x, a, kind)
        need = channels(a) if channels is not None else None
        if need is not None:
            need_channels(kind, x, a, *need)
        return x

    return rule


def resized(kind):
    """Resizing, CenterCrop, RandomCrop: (height, width) from the arguments, channels kept."""

    def rule(ins, a):
        (x,) = ins
        _, _, c = image(x, a, kind)
        return put_spatial((a["height"], a["width"]), c, channels_first(a))

    return rule


RGB = ({3}, "converts between RGB and HSV")


def image_layer(name, args, shape=None, check=None, doc=""):
    return layer(name, args=args, shape=shape or keep(name), training=True, check=check, doc=doc)


# -- resizing and cropping ------------------------------------------------------------------------


def resizing_check(a):
    if a["crop_to_aspect_ratio"] and a["pad_to_aspect_ratio"]:
        return [
            (
                "crop_to_aspect_ratio and pad_to_aspect_ratio cannot both be True",
                "crop to keep the aspect ratio, or pad: pick one",
                "pad_to_aspect_ratio",
            )
        ]
    return []


image_layer(
    "Resizing",
    (
        Arg("height", POS_INT, required=True),
        Arg("width", POS_INT, required=True),
        Arg("interpolation", RESIZE_INTERPOLATION, "bilinear"),
        Arg("crop_to_aspect_ratio", BOOL, False),
        Arg("pad_to_aspect_ratio", BOOL, False),
        Arg("fill_mode", choice("constant", name="fill mode"), "constant"),
        Arg("fill_value", FLOAT, 0.0),
        Arg("antialias", BOOL, False),
        Arg("data_format", DATA_FORMAT),
    ),
    resized("Resizing"),
    resizing_check,
    "resize images to (height, width), in training and inference alike",
)
image_layer(
    "CenterCrop",
    (Arg("height", POS_INT, required=True), Arg("width", POS_INT, required=True), Arg("data_format", DATA_FORMAT)),
    resized("CenterCrop"),
    doc="crop the centre (height, width) of images; a smaller image is resized up to it first",
)
image_layer(
    "RandomCrop",
    (
        Arg("height", POS_INT, required=True),
        Arg("width", POS_INT, required=True),
        Arg("seed", SEED),
        Arg("data_format", DATA_FORMAT),
    ),
    resized("RandomCrop"),
    doc="crop a random (height, width) window in training. Keras 3.15 leaves images uncropped at "
    "inference (keras-team/keras#21868), so when it changes the size follow it with "
    "CenterCrop(height, width): a no-op in training, the crop at inference",
)

# -- geometry -------------------------------------------------------------------------------------

AFFINE = (
    Arg("fill_mode", FILL_MODE, "reflect"),
    Arg("interpolation", AFFINE_INTERPOLATION, "bilinear"),
    Arg("seed", SEED),
    Arg("fill_value", FLOAT, 0.0),
    Arg("data_format", DATA_FORMAT),
)

image_layer(
    "RandomFlip",
    (Arg("mode", FLIP_MODE, "horizontal_and_vertical"), Arg("seed", SEED), Arg("data_format", DATA_FORMAT)),
    doc="flip images left-right and/or up-down at random in training",
)
image_layer(
    "RandomRotation",
    (Arg("factor", factor_type(-1, 1), required=True), *AFFINE),
    doc="rotate images by a random fraction of a full turn (factor) in training",
)
ZOOM = factor_type(-1, 1, each=True, low_open=True)
image_layer(
    "RandomZoom",
    (Arg("height_factor", ZOOM, required=True), Arg("width_factor", one_of(NONE, ZOOM)), *AFFINE),
    doc="zoom images in or out by a random fraction in training (width_factor None: keep the aspect ratio)",
)
SHIFT = factor_type(-1, 1, each=True)
image_layer(
    "RandomTranslation",
    (Arg("height_factor", SHIFT, required=True), Arg("width_factor", SHIFT, required=True), *AFFINE),
    doc="shift images by a random fraction of their height and width in training",
)
SHEAR = factor_type(0, 1, each=True)
image_layer(
    "RandomShear",
    (
        Arg("x_factor", SHEAR, 0.0),
        Arg("y_factor", SHEAR, 0.0),
        Arg("interpolation", AFFINE_INTERPOLATION, "bilinear"),
        Arg("fill_mode", FILL_MODE, "reflect"),
        Arg("fill_value", FLOAT, 0.0),
        Arg("data_format", DATA_FORMAT),
        Arg("seed", SEED),
    ),
    doc="shear images along x and/or y by a random amount in training",
)
image_layer(
    "RandomPerspective",
    (
        Arg("factor", factor_type(0, 1), 1.0),
        Arg("scale", UNIT, 1.0),
        Arg("interpolation", AFFINE_INTERPOLATION, "bilinear"),
        Arg("fill_value", FLOAT, 0.0),
        Arg("seed", SEED),
        Arg("data_format", DATA_FORMAT),
    ),
    doc="warp a random fraction (factor) of the images by a random perspective in training",
)
image_layer(
    "RandomElasticTransform",
    (
        Arg("factor", factor_type(0, 1), 1.0),
        Arg("scale", factor_type(0, 1), 1.0),
        Arg("interpolation", AFFINE_INTERPOLATION, "bilinear"),
        # Keras's constructor also names "mirror", which the TensorFlow backend refuses when it runs.
        Arg("fill_mode", FILL_MODE, "reflect"),
        Arg("fill_value", FLOAT, 0.0),
        RANGE,
        Arg("seed", SEED),
        Arg("data_format", DATA_FORMAT),
    ),
    doc="distort a random fraction (factor) of the images by a smooth random displacement in training",
)

# -- colour -----------------------------------------------------------------------------------------

image_layer(
    "RandomContrast",
    (Arg("factor", factor_type(0, 1), required=True), RANGE, Arg("seed", SEED)),
    doc="scale each image's contrast by a random amount in [1 - low, 1 + high] in training",
)
image_layer(
    "RandomBrightness",
    (Arg("factor", factor_type(-1, 1), required=True), RANGE, Arg("seed", SEED)),
    doc="add a random fraction of value_range to each image in training",
)
image_layer(
    "RandomColorDegeneration",
    (
        Arg("factor", factor_type(-1, 1), required=True),
        RANGE,
        Arg("data_format", DATA_FORMAT),
        Arg("seed", SEED),
    ),
    keep("RandomColorDegeneration", lambda a: ({3}, "blends with a grayscale copy")),
    doc="blend RGB images with their grayscale by a random amount in training",
)
image_layer(
    "RandomHue",
    (
        Arg("factor", factor_type(0, 1), required=True),
        RANGE,
        Arg("data_format", DATA_FORMAT),
        Arg("seed", SEED),
    ),
    keep("RandomHue", lambda a: RGB),
    doc="shift the hue of RGB images by a random amount in training",
)
image_layer(
    "RandomSaturation",
    (
        Arg("factor", factor_type(-1, 1), required=True),
        RANGE,
        Arg("data_format", DATA_FORMAT),
        Arg("seed", SEED),
    ),
    keep("RandomSaturation", lambda a: RGB),
    doc="scale the saturation of RGB images by a random amount in training",
)


def jitter_shape(ins, a):
    """Keras gives the saturation and hue steps no data_format: they read RGB on the last axis."""
    (x,) = ins
    image(x, a, "RandomColorJitter")
    colour = [key for key in ("saturation_factor", "hue_factor") if a[key] is not None]
    if colour and x[-1] is not None and x[-1] != 3:
        raise ShapeError(
            f"RandomColorJitter with {colour[0]} takes RGB images with the 3 channels last "
            f"(its saturation and hue steps ignore data_format), got shape {fmt(x)}",
            "leave out saturation_factor and hue_factor, or give it (height, width, 3) images",
        )
    return x


image_layer(
    "RandomColorJitter",
    (
        RANGE,
        Arg("brightness_factor", one_of(NONE, factor_type(-1, 1))),
        Arg("contrast_factor", one_of(NONE, factor_type(0, 1))),
        Arg("saturation_factor", one_of(NONE, factor_type(-1, 1))),
        Arg("hue_factor", one_of(NONE, factor_type(0, 1))),
        Arg("seed", SEED),
        Arg("data_format", DATA_FORMAT),
    ),
    jitter_shape,
    doc="random brightness, contrast, saturation and hue in turn, each only when its factor is given",
)
image_layer(
    "RandomGrayscale",
    (Arg("factor", UNIT, 0.5), Arg("data_format", DATA_FORMAT), Arg("seed", SEED)),
    keep("RandomGrayscale", lambda a: ({1, 3}, "converts RGB to grayscale")),
    doc="turn each image grayscale with probability factor in training (channels kept)",
)
image_layer(
    "RandomInvert",
    (Arg("factor", factor_type(0, 1), 1.0), RANGE, Arg("seed", SEED), Arg("data_format", DATA_FORMAT)),
    doc="invert each image (high - x) with probability factor in training",
)
image_layer(
    "RandomPosterization",
    (
        Arg("factor", factor_type(1, 8, ints=True), required=True),
        RANGE,
        Arg("data_format", DATA_FORMAT),
        Arg("seed", SEED),
    ),
    doc="keep only `factor` bits (1 to 8) of each channel value in training",
)
image_layer(
    "RandomSharpness",
    (
        Arg("factor", factor_type(0, 1), required=True),
        RANGE,
        Arg("data_format", DATA_FORMAT),
        Arg("seed", SEED),
    ),
    doc="sharpen or blur images by a random amount in training",
)
image_layer(
    "RandomGaussianBlur",
    (
        Arg("factor", factor_type(0, 1), 1.0),
        Arg("kernel_size", KERNEL_SIZE, 3),
        Arg("sigma", factor_type(0, 1), 1.0),
        RANGE,
        Arg("data_format", DATA_FORMAT),
        Arg("seed", SEED),
    ),
    doc="blur a random fraction (factor) of the images with a Gaussian kernel in training",
)


def erasing_shape(ins, a):
    """3 fill values broadcast against the last axis: the RGB channels of channels_last images."""
    (x,) = ins
    _, _, c = image(x, a, "RandomErasing")
    first = channels_first(a)
    if isinstance(a["fill_value"], (tuple, list)) and (first or c not in (3, None)):
        raise ShapeError(
            f"RandomErasing: fill_value {show(a['fill_value'])} has one number per channel of "
            f"(height, width, 3) images, got {fmt(x)}{' (channels first)' if first else ''}",
            "give fill_value one number",
        )
    return x


image_layer(
    "RandomErasing",
    (
        Arg("factor", factor_type(0, 1), 1.0),
        Arg("scale", factor_type(0, 1), (0.02, 0.33)),
        Arg("fill_value", FILL_COLOR),
        RANGE,
        Arg("seed", SEED),
        Arg("data_format", DATA_FORMAT),
    ),
    erasing_shape,
    doc="erase a random rectangle (fill_value, or noise when None) in a random fraction of the images in training",
)
image_layer(
    "Solarization",
    (
        Arg("addition_factor", factor_type(0, 1, each=True), 0.0),
        Arg("threshold_factor", factor_type(0, 1, each=True), 0.0),
        RANGE,
        Arg("seed", SEED),
    ),
    doc="invert the values above a random threshold, after adding a random amount, in training",
)
image_layer(
    "AutoContrast",
    (RANGE,),
    doc="stretch each image's channels to the whole value_range, in training and inference alike",
)


def clahe_shape(ins, a):
    """Keras pads each image up to a whole number of tiles by mirroring it, and MirrorPad refuses
    (when the layer runs) more padding than the image is long: at most 2 tiles per pixel."""
    (x,) = ins
    h, w, _ = image(x, a, "ContrastLimitedAdaptiveHistogramEqualization")
    for what, n, grid in (("height", h, a["tile_grid_size"][0]), ("width", w, a["tile_grid_size"][1])):
        if n is not None and grid > 2 * n:
            raise ShapeError(
                f"ContrastLimitedAdaptiveHistogramEqualization: {grid} tiles along an image {what} of {n} "
                f"need {grid - n} pixels of mirrored padding, more than the {n} the image has",
                f"use at most {2 * n} tiles along the {what}",
            )
    return x


image_layer(
    "ContrastLimitedAdaptiveHistogramEqualization",
    (
        RANGE,
        Arg("clip_limit", FLOAT, 4.0),
        Arg("tile_grid_size", TILE_GRID, (8, 8)),
        Arg("data_format", DATA_FORMAT),
    ),
    clahe_shape,
    doc="equalise the histogram of each tile of a grid, contrast limited (CLAHE), in training and inference alike",
)

# -- policies ---------------------------------------------------------------------------------------

# AugMix and RandAugment hand their factor, made a (low, high) pair, to RandomShear and
# Solarization, which check both numbers against [0, 1].
POLICY_FACTOR = factor_type(0, 1, each=True)
POLICY_CHANNELS = ({1, 3}, "mixes in grayscale")
image_layer(
    "AugMix",
    (
        RANGE,
        Arg("num_chains", NONNEG_INT, 3),
        Arg("chain_depth", NONNEG_INT, 3),
        Arg("factor", POLICY_FACTOR, 0.3),
        Arg("alpha", float_type(above=0, name="number > 0"), 1.0),
        Arg("all_ops", BOOL, True),
        Arg("interpolation", AFFINE_INTERPOLATION, "bilinear"),
        Arg("seed", SEED),
        Arg("data_format", DATA_FORMAT),
    ),
    keep("AugMix", lambda a: POLICY_CHANNELS if a["all_ops"] else None),
    doc="mix num_chains random chains of augmentations into each image (AugMix) in training",
)
image_layer(
    "RandAugment",
    (
        RANGE,
        Arg("num_ops", NONNEG_INT, 2),
        Arg("factor", POLICY_FACTOR, 0.5),
        Arg("interpolation", AFFINE_INTERPOLATION, "bilinear"),
        Arg("seed", SEED),
        Arg("data_format", DATA_FORMAT),
    ),
    keep("RandAugment", lambda a: POLICY_CHANNELS),
    doc="apply num_ops augmentations drawn at random to each batch (RandAugment) in training",
)
