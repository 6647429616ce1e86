"""The interactive panel: ``snb.Panel()`` — pick an image, a detect type and a prompt, click Run.

Split so the logic is testable without a browser: ``state`` (settings and run history, no
widgets), ``runner`` (one background call at a time), ``messages`` (errors -> escaped HTML),
``status`` (the status line), ``layout`` (the widgets and their arrangement), ``images`` (the
picture), ``settings`` (client per request path, model note), ``recorded`` (recorded answers),
``history`` (restore and compare), ``compare`` (the side-by-side HTML), ``lab`` (the sweep),
``details`` and ``downloads`` (the tabs) and ``view`` (the Panel that wires them).
ipywidgets is imported only when this package is.
"""

from __future__ import annotations

from .runner import BackgroundRunner, Outcome
from .state import ImageChoice, PanelState, RunRecord
from .view import Panel

__all__ = ["Panel", "PanelState", "RunRecord", "ImageChoice", "BackgroundRunner", "Outcome"]
