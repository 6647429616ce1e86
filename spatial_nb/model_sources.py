"""Where the model table's facts come from: one :class:`Source` per page that was read.

Each source names the page, its address, and the date of the stored copy that was read,
with how that date was established (a git commit date, or the newest date the copy itself
mentions when the copy shows no "last updated" line). Third-party pages are marked as such
and only used where Google's own copies were not available or to confirm observed API
behaviour. Re-check a fact against its page before relying on it: Google changes models often.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Source", "SOURCES"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Source:
    """A page that was read, and the stored copy's date.

    Attributes:
        title: What the page is ("Gemini API docs: Gemini deprecations").
        url: Its address.
        stored: ISO date (YYYY-MM-DD) of the stored copy that was read.
        dated_by: How ``stored`` was established ("commit date", "newest date in the copy").
        says: The fact(s) taken from it, in our own words.
        third_party: True when the page is not Google's.
    """

    title: str
    url: str
    stored: str
    dated_by: str
    says: str = ""
    third_party: bool = False

    def __post_init__(self) -> None:
        if not _ISO_DATE.match(self.stored):
            raise ValueError(f"Source.stored must be an ISO date, got {self.stored!r}")

    def cite(self) -> str:
        """One line: title, address and the stored copy's date.

        >>> SOURCES["cookbook"].cite().startswith("google-gemini/cookbook")
        True
        """
        who = " (third-party page)" if self.third_party else ""
        return f"{self.title}{who} <{self.url}>, stored copy of {self.stored} ({self.dated_by})"

    def __str__(self) -> str:
        return self.cite()


#: Every page the table cites, by a short name.
SOURCES: dict[str, Source] = {
    "cookbook": Source(
        "google-gemini/cookbook quickstarts/Spatial_understanding.ipynb",
        "https://github.com/google-gemini/cookbook/blob/1cbaa8d2e7a275a38d499365bada282b35372f79/"
        "quickstarts/Spatial_understanding.ipynb",
        "2026-07-21",
        "commit date of the file's last change in the snapshot read",
        "MODEL_ID default gemini-3.6-flash (picker also lists gemini-3.5-flash-lite, gemini-2.5-flash, "
        "gemini-2.5-pro, gemini-3-flash-preview, gemini-3.1-pro-preview); temperature 0.5; 25-object "
        "system instruction; calls client.interactions.create(model, input=[image, text], "
        "system_instruction, generation_config) and reads the last step's text",
    ),
    "cookbook_thinking": Source(
        "google-gemini/cookbook quickstarts/Get_started_thinking.ipynb",
        "https://github.com/google-gemini/cookbook/blob/1cbaa8d2e7a275a38d499365bada282b35372f79/"
        "quickstarts/Get_started_thinking.ipynb",
        "2026-07-21",
        "commit date of the file's last change in the snapshot read",
        "thinking levels minimal/low/medium/high; migrating thinking_budget=0 means ThinkingLevel.MINIMAL; "
        "thinking_budget is a legacy generateContent setting",
    ),
    "deprecations": Source(
        "Gemini API docs: Gemini deprecations",
        "https://ai.google.dev/gemini-api/docs/deprecations",
        "2026-09-15",
        "newest date the stored copy mentions (no 'last updated' line in the copy)",
        "gemini-3.8-flash released 2026-09-02, gemini-3.7-flash 2026-08-13, gemini-3.6-flash and "
        "gemini-3.5-flash-lite 2026-07-21, gemini-3.5-flash 2026-05-19: no shutdown date announced",
    ),
    "deprecations_it": Source(
        "Gemini API docs: Gemini deprecations (Italian copy)",
        "https://ai.google.dev/gemini-api/docs/deprecations?hl=it",
        "2026-06-25",
        "newest past date the stored copy mentions",
        "gemini-3-pro-preview shut down 2026-03-09, replacement gemini-3.1-pro-preview; "
        "gemini-3-flash-preview: no shutdown date, replacement gemini-3.5-flash; "
        "gemini-3.1-flash-lite released 2026-05-07 (shutdown 2027-05-07)",
    ),
    "retire_25": Source(
        "AI Deprecations: 'What to Do Before Gemini 2.5 Pro and 2.5 Flash Are Retired on December 1, 2026'",
        "https://dev.to/aideprecations/what-to-do-before-gemini-25-pro-and-25-flash-are-retired-on-december-1-2026-5gg9",
        "2026-11-10",
        "the date the page says it read Google's deprecations page",
        "gemini-2.5-flash and gemini-2.5-pro retired 2026-12-01; requests to gemini-2.5-flash are routed "
        "to gemini-3.5-flash-lite and to gemini-2.5-pro to gemini-3.8-flash; gemini-2.5-flash-lite is "
        "not deprecated",
        third_party=True,
    ),
    "changelog": Source(
        "Gemini API docs: release notes (changelog)",
        "https://ai.google.dev/gemini-api/docs/changelog",
        "2026-07-21",
        "newest entry in the stored copy",
        "2026-07-21: gemini-3.6-flash and gemini-3.5-flash-lite GA; sampling parameters temperature, "
        "top_p and top_k deprecated; 2026-04-30: gemini-robotics-er-1.5-preview shut down (use 1.6)",
    ),
    "latest_model": Source(
        "Gemini API docs: Using the latest Gemini models",
        "https://ai.google.dev/gemini-api/docs/latest-model",
        "2026-07-21",
        "newest date in the stored copy (the 3.6 Flash release it announces)",
        "default thinking level: gemini-3.6-flash medium, gemini-3.5-flash-lite minimal",
    ),
    "vertex_thinking": Source(
        "Google Cloud docs: Thinking (Gemini Enterprise Agent Platform)",
        "https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/thinking",
        "2026-08-13",
        "newest model the stored copy lists (gemini-3.7-flash, released 2026-08-13)",
        "thinking_level values: 3.7 Flash LOW/MEDIUM/HIGH (default MEDIUM); 3.6 Flash "
        "MINIMAL/LOW/MEDIUM/HIGH (default MEDIUM); 3.5 Flash-Lite MINIMAL/LOW/MEDIUM/HIGH (default MINIMAL)",
    ),
    "guide_38": Source(
        "Google Cloud docs: Developer's guide to Gemini 3.8 Flash",
        "https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/guides/gemini-3-8-flash",
        "2026-09-02",
        "newest date in the stored copy (the 3.8 Flash release it describes)",
        "thinking levels: 3.8 Flash LOW/MEDIUM/HIGH (default MEDIUM), 3.7 Flash LOW/MEDIUM/HIGH "
        "(default MEDIUM), 3.1 Pro (gemini-3.1-pro-preview) LOW/MEDIUM/HIGH (default HIGH)",
    ),
    "guide_35": Source(
        "Google Cloud docs: Developer's guide to Gemini 3.5 Flash",
        "https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/guides/gemini-3-5-flash",
        "2026-05-19",
        "newest date in the stored copy (the 3.5 Flash release it describes)",
        "thinking levels: 3.5 Flash MINIMAL/LOW/MEDIUM/HIGH (default MEDIUM); 3.1 Flash-Lite "
        "(gemini-3.1-flash-lite) MINIMAL/LOW/MEDIUM/HIGH (default MINIMAL)",
    ),
    "no_minimal_38": Source(
        "dzivkovi/video-intel release v2.7.1 'gemini-3.8-flash thinking-level fix'",
        "https://github.com/dzivkovi/video-intel/releases/tag/v2.7.1",
        "2026-09-19",
        "release date shown on the page",
        "gemini-3.8-flash (like 3.7) answers thinking_level=minimal with HTTP 400",
        third_party=True,
    ),
    "robotics": Source(
        "Gemini API docs: Gemini Robotics ER overview",
        "https://ai.google.dev/gemini-api/docs/robotics-overview",
        "2026-08-31",
        "newest past date in the stored copy",
        "gemini-robotics-er-2-preview is built on Gemini 3.5 Flash; gemini-robotics-er-1.6-preview "
        "retired 2026-08-31 (upgrade to gemini-robotics-er-2-preview)",
    ),
    "gemini3_guide": Source(
        "Gemini API docs: Gemini 3 developer guide",
        "https://ai.google.dev/gemini-api/docs/gemini-3",
        "2026-12-03",
        "the lead's check recorded in DESIGN.md on that date (the mirror copy read here is undated)",
        "keep temperature at its default 1.0 on Gemini 3 models (lower values can loop); "
        "thinking_level replaces thinking_budget; media_resolution low/medium/high, per request "
        "or per image part",
    ),
    "supervision": Source(
        "roboflow/supervision detection/vlm.py (from_google_gemini_3_5 / _3_6 / _3_7)",
        "https://github.com/roboflow/supervision",
        "2026-12-03",
        "date it was read; the indexed copy shows no commit date",
        "Gemini 3.5 emits the same detection JSON as 2.5 (box_2d, label, optional PNG mask); "
        "3.6 and 3.7 send masks as polygons of [x, y] pairs, 0-1000 over the full image",
        third_party=True,
    ),
    "design": Source(
        "spatial_nb DESIGN.md, 'Per-model request facts' and 'Output formats'",
        "../shared/DESIGN.md",
        "2026-12-03",
        "the lead's check of Google's models, deprecations and Gemini 3 pages and the cookbook",
        "2.5 Flash/Flash-Lite take thinking_budget=0, 2.5 Pro's minimum budget is 128; 3.x take "
        "thinking_level and reject thinking_budget=0 with HTTP 400; masks: PNG in the box on 2.5, "
        "polygons [[x, y], ...] over the whole image (0-1000) on 3.6+ and Robotics-ER; cap the "
        "objects in the instruction (cookbook 25, AI Studio 20 boxes / 10 points / 10 3D boxes)",
    ),
    "rule": Source(
        "spatial_nb family rule (derived from the pages above)",
        "spatial_nb/models.py",
        "2026-12-03",
        "date the rule was written from the sources it names",
        "a model id not in the table gets the settings of its family: Flash from 3.7 on accepts "
        "thinking_level low but not minimal; earlier 3.x Flash and Flash-Lite accept minimal; "
        "3.x Pro accepts low; 2.5 takes budgets; masks as polygons from 3.6 on",
    ),
}
