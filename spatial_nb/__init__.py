"""spatial_nb: explore Gemini's spatial understanding in notebooks.

Give Gemini an image and a prompt, get a :class:`Result` of boxes, masks, points or 3D
boxes in resolution-free coordinates, and draw it on any size of the same picture.

    >>> import spatial_nb as snb
    >>> res = snb.parse('[{"box_2d": [100, 200, 500, 800], "label": "cat"}]')
    >>> res[0].box
    (0.2, 0.1, 0.8, 0.5)

Heavy parts (the Gemini client, widgets, folder labelling) are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    FormatVersionError,
    GeminiRequestError,
    ImageLoadError,
    MissingKeyError,
    OfflineCacheMiss,
    SpatialNBError,
)
from .result import Item, Result

# The core verbs are light (no matplotlib or SDK import) and bound at once. Their modules
# are named apart from them (parsing/drawing/plotting): a submodule called "draw" would
# replace snb.draw with the module as soon as anything imported it.
from .drawing import draw  # noqa: E402
from .parsing import parse  # noqa: E402
from .plotting import plot, plot_grid  # noqa: E402

__version__ = "0.1.0"

# name -> module that defines it; resolved lazily so `import spatial_nb` stays fast.
_LAZY = {
    "to_html": ".html",
    "label_boxes": ".labels",
    "show": ".display",
    "Client": ".client",
    "Panel": ".widgets",
    "run_folder": ".batch",
    "load_image": ".images",
    "sweep": ".sweeping",
}
_LAZY_MODULES = {"prompts", "samples", "models", "export", "evaluate", "fonts", "cache", "consensus"}

__all__ = [
    "Item",
    "Result",
    "parse",
    "draw",
    "plot",
    "plot_grid",
    "SpatialNBError",
    "MissingKeyError",
    "FormatVersionError",
    "ImageLoadError",
    "OfflineCacheMiss",
    "GeminiRequestError",
    *_LAZY,
    *_LAZY_MODULES,
]

if TYPE_CHECKING:  # pragma: no cover
    from . import cache, consensus, evaluate, export, fonts, models, prompts, samples
    from .batch import run_folder
    from .client import Client
    from .display import show
    from .html import to_html
    from .labels import label_boxes
    from .images import load_image
    from .sweeping import sweep
    from .widgets import Panel


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'spatial_nb' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
