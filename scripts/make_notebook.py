"""Generate ``notebooks/Spatial_understanding.ipynb`` (the tour) without outputs.

The notebook follows the sections of Google's cookbook notebook "Spatial understanding",
rewritten on top of spatial_nb. Keeping its source here makes reviews readable (plain
Python strings instead of JSON) and guarantees the committed file carries no outputs.
Detection cells carry ``metadata.spatial_nb = {"section", "kind"}`` so the notebook test
can find each section's overlay. Without an API key the notebook still runs top to bottom:
the sections whose photo and prompt have a recorded answer (``spatial_nb.recordings``: the
socks and the spill) replay it and say so, the others say they need a key. Run from the
repository root: ``python scripts/make_notebook.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spatial_nb import samples  # noqa: E402  (which sections have a recorded answer)
from spatial_nb.models import DEFAULT_MODEL, KNOWN_MODELS, PROFILES  # noqa: E402  (the picker lists current models)

# The repository's public URL is not settled yet; the install cell asks for it rather than
# guess. Put the real one here (e.g. "git+https://github.com/<owner>/spatial_nb") when known.
INSTALL_SOURCE = ""


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str, section: str | None = None, kind: str | None = None):
    cell = new_code_cell(text.strip("\n"))
    if section:
        cell.metadata["spatial_nb"] = {"section": section, "kind": kind}
    return cell


def has_recording(section: str) -> bool:
    """True when the section's photo, prompt and kind have a recorded answer (checked when generating)."""
    ex = samples.example(section)
    return samples.recording_for(ex.name, ex.prompt, ex.kind) is not None


def detect_cell(section: str, kind: str, extra_show: str = "", model: str = "") -> object:
    """One call and one overlay, with the example taken from the shared prompt data.

    Without a key (``client is None``) a section with a recorded answer replays it and prints its
    notice; any other section says that it needs a key.
    """
    model_arg = f", model={model}" if model else ""
    show_args = f"ex.path, res{extra_show}"
    head = f"""
ex = snb.samples.example("{section}")      # photo, kind and prompt from spatial_nb/data/sample_prompts.json
print(ex.name, "|", ex.prompt)
"""
    report = f"""
if other := snb.models.answered_by(res):   # Google may route a retired id to another model
    print("answered by", other)
for item in res:
    print(" -", item.label)
snb.show({show_args})
"""
    if has_recording(section):
        body = f"""
if client is not None:
    res = client.detect(ex.path, ex.prompt, kind="{kind}"{model_arg})
else:  # no key: the answer Google's cookbook quotes for this very photo and prompt - a recording
    recording = snb.samples.recording_for(ex.name, ex.prompt, ex.kind)
    print(recording.notice)
    res = recording.result()
""".strip("\n") + "\n" + report.strip("\n")
    else:
        inside = report.strip("\n").replace(f"snb.show({show_args})", f"display(snb.show({show_args}))  # inside a block")
        indented = "".join(f"    {line}\n" if line else "\n" for line in inside.splitlines())
        body = f"""
if client is None:
    print(NEEDS_KEY)
else:
    res = client.detect(ex.path, ex.prompt, kind="{kind}"{model_arg})
{indented}"""
    return code(head.strip("\n") + "\n" + body.strip("\n"), section=section, kind=kind)


def build() -> nbformat.NotebookNode:
    # Current models only (retired ids still work when typed); no live catalogue here, so the
    # generated notebook does not depend on the machine that generated it. The cell itself prints
    # today's list from the live catalogue (Colab's form needs a fixed list).
    models_param = ", ".join(f'"{m}"' for m in KNOWN_MODELS if PROFILES[m].status == "current")
    cells = [
        md(
            """
# Spatial understanding with Gemini

Gemini can do more than describe a picture: it can say *where* things are. Ask for 2D
boxes, segmentation masks, points or 3D boxes and it answers with coordinates you can
draw. This notebook is a guided tour built on **spatial_nb**: each section explains one
idea, makes one call and draws the answer on the photo.

The tour follows the structure of Google's cookbook notebook *Spatial understanding*
(google-gemini/cookbook, `quickstarts/Spatial_understanding.ipynb`) and uses the sample
photos bundled with spatial_nb: the AI Studio app's gallery (socks, origami, spill, ...)
and a few others (licences in `images/LICENSES.md`). There is no magic prompt: change the
prompts, pick another photo, or use your own.
"""
        ),
        md(
            """
## Setup

### Install

The cell below installs spatial_nb only when it cannot be imported yet (for example in a
fresh Colab runtime); tell it where from. Everything spatial_nb needs (the google-genai
SDK, ipywidgets, Pillow, matplotlib, numpy and a CJK font) comes with it.
"""
        ),
        code(
            f"""
# Where pip gets spatial_nb when it is not importable yet: the repository
# ("git+https://github.com/<owner>/spatial_nb") or the path of an uploaded wheel.
SPATIAL_NB_SOURCE = "{INSTALL_SOURCE}"  # @param {{type:"string"}}

try:
    import spatial_nb  # already installed (local checkout, or a previous run)
except ImportError:
    if not SPATIAL_NB_SOURCE:
        raise ImportError("spatial_nb is not installed: set SPATIAL_NB_SOURCE above and run this cell again") from None
    %pip install -q "{{SPATIAL_NB_SOURCE}}"
"""
        ),
        md(
            """
### API key

spatial_nb reads the key from the `GOOGLE_API_KEY` (or `GEMINI_API_KEY`) environment
variable, or in Colab from a secret named `GOOGLE_API_KEY` (key icon in the left bar;
allow this notebook to read it). Get a key at <https://aistudio.google.com/apikey>. The
key is never printed, cached or written into the notebook.

**No key?** The notebook still runs. Two sections, the socks and the spill, then replay
real answers that Google's cookbook quotes for those very photos and prompts (recordings,
clearly marked as such: one answer from one model at one time); the other sections say
that they need a key.
"""
        ),
        code(
            """
from spatial_nb.client import find_api_key

# Looks in GOOGLE_API_KEY, GEMINI_API_KEY, then the Colab secret; prints only whether one was found.
print("API key found:", find_api_key() is not None)
"""
        ),
        md(
            """
### Pick a model

`gemini-3.6-flash` (the cookbook's default) handles all four kinds of answer quickly. The
list holds the models current when this notebook was written, and the cell prints the ones
Google lists today (asked once a day); `gemini-2.5-flash` and `gemini-2.5-pro` were
retired on 2026-12-01 (Google answers them with 3.x models), so they are not offered. Type
any other id if you like: spatial_nb keeps one table of what each model needs (how to turn
thinking down, which mask format it answers, its default temperature) in `snb.models`,
gives a new point release such as `gemini-3.9-flash` its family's settings, and adapts when
the API refuses a setting. Every result also says which model really answered.
"""
        ),
        code(
            f"""
import spatial_nb as snb

MODEL = "{DEFAULT_MODEL}"  # @param [{models_param}] {{"allow-input": true}}

NEEDS_KEY = "Skipped: this section needs an API key (see Setup); it has no recorded answer."
try:
    client = snb.Client(model=MODEL)
except snb.MissingKeyError:
    client = None  # the socks and spill sections replay recorded answers instead
    print("No API key: the socks and spill sections show recorded answers; the others are skipped.")
if client is not None:
    try:
        client.catalogue()  # the models Google serves today (kept a day: at most one request)
    except snb.GeminiRequestError as exc:
        print("Could not read today's model list:", exc)
print("Models to pick from today:", ", ".join(snb.models.picker_models()))
profile = snb.models.profile(MODEL)
print(profile.name, "-", profile.notes)
print("kinds:", ", ".join(profile.kinds), "| masks as:", profile.mask_format or "-")
print("default temperature:", snb.models.default_temperature(MODEL))
if notice := snb.models.retirement_notice(MODEL):
    print(notice)
"""
        ),
        md(
            """
## System instructions, and why these settings

Every request carries a short **system instruction** so the prompt itself can stay short.
For boxes it is the cookbook's: return a JSON list of boxes with labels, no masks, no code
fences, at most 25 objects, and give repeated objects distinct names. Masks, points and 3D
boxes use the AI Studio app's wording (at most 20, 10 and 10 objects).

Three settings matter:

- **temperature above 0**: with greedy decoding the model tends to repeat itself and list
  the same box again and again. spatial_nb sends each model's own default: 1.0 on Gemini 3
  (Google's Gemini 3 guide advises against lowering it), the cookbook's 0.5 on Gemini 2.5;
  pass `temperature=` to choose;
- **an object cap** in the instruction keeps answers short and fast;
- **thinking as low as the model allows**: it adds latency without better boxes. Gemini
  2.5 takes a thinking budget (0), Gemini 3 models a thinking *level*: `minimal` where the
  model accepts it, `low` on 3.7+ Flash and Pro. When the API refuses a setting anyway,
  spatial_nb tries the next one, tells you once, and remembers what worked.

`snb.prompts.raw_prompt` shows exactly what will be sent:
"""
        ),
        code(
            """
print(snb.prompts.raw_prompt("Detect the cup, the spoon and the saucer", kind="boxes", model=MODEL))
"""
        ),
        md(
            """
## The sample photos

spatial_nb ships the AI Studio app's gallery photos (Apache-2.0) and a few others, with
sample prompts for every kind of answer, many of them quoted from the cookbook and the app.
The panel and this notebook read the same prompt list (`spatial_nb/data/sample_prompts.json`).
`snb.samples.recordings()` lists the recorded answers that come with them.
"""
        ),
        code(
            """
for s in snb.samples.list_samples():
    print(f"{s.name:24} {s.title:34} {s.licence}")
for rec in snb.samples.recordings():
    print(f"recorded answer: {rec.image} | {rec.prompt!r} | {rec.model}")
"""
        ),
        md(
            """
## Overlaying information

The simplest use: name the objects you want and get one box per object. Coordinates
come back normalized (0 to 1), so spatial_nb can draw them on any size of the photo.
`snb.show` displays a bounded-size JPEG, which keeps the notebook small.
"""
        ),
        detect_cell("overlay", "boxes"),
        md(
            """
## Search within an image

A prompt does not have to list object names: describe what you are looking for and
Gemini finds the matching parts of the picture.
"""
        ),
        detect_cell("search", "boxes"),
        md(
            """
## Multilinguality

Gemini can label in other languages, and translate at the same time. spatial_nb draws
Chinese, Japanese and Korean labels with a bundled Noto Sans CJK font, so nothing has to
be installed with apt.
"""
        ),
        detect_cell("multilingual", "boxes"),
        md(
            """
## Reasoning labels

A label can be more than a name. Ask a question about the scene and let each label
carry the answer for that object: advice, an explanation, a judgement.
"""
        ),
        detect_cell("reasoning", "boxes"),
        md(
            """
## Segmentation masks

Gemini can also return a mask for each box. Each family is asked for the format it answers
best: Gemini 2.5 and 3.5 send a small probability map (a PNG) covering just the box, Gemini
3.6+ and Robotics-ER an outline, a polygon of `[x, y]` points over the whole image.
spatial_nb decodes either and paints it over the object. Models without documented masks
(3.1 Pro, for example) are swapped for one that has them in this cell.
"""
        ),
        code(
            """
MASK_MODEL = MODEL if snb.models.supports(MODEL, "masks") else snb.models.suggest_model("masks")
print("masks with", MASK_MODEL)
"""
        ),
        detect_cell("masks", "masks", model="MASK_MODEL"),
        md(
            """
## Pointing

Sometimes a point says enough: where to grasp, where to click, which one. A point takes
fewer tokens than a box, so answers come back sooner.
"""
        ),
        detect_cell("points", "points"),
        md(
            """
## 3D boxes

Gemini can also estimate a 3D box for each object: centre and size in metres in the
camera's frame, plus rotation angles. Drawing it needs the camera's **field of view**,
which a photo does not state; spatial_nb assumes 60 degrees horizontally, as Google's
viewers do. Move the slider
and re-run the cell to see how the drawing changes (the answer comes from the cache, so
this costs nothing).
"""
        ),
        code(
            """
FOV_DEGREES = 60  # @param {type:"slider", min:30, max:120, step:5}
""",
        ),
        detect_cell("boxes3d", "boxes3d", extra_show=", fov=FOV_DEGREES"),
        md(
            """
## The Interactions API

Google's current docs and cookbook call Gemini through the **Interactions API**,
`client.interactions.create(model=..., input=[image, text], system_instruction=...,
generation_config=...)`. spatial_nb speaks it too: `snb.Client(backend="interactions")`
sends the same image, prompt, system instruction and settings (thinking as a level, the
mask format, the safety setting) and reads the answer the same way. The call it makes is:

```python
interaction = genai_client.interactions.create(
    model=MODEL,
    input=[{"type": "user_input", "content": [
        {"type": "image", "data": "<base64 JPEG>", "mime_type": "image/jpeg"},
        {"type": "text", "text": prompt}]}],
    system_instruction=snb.prompts.system_instruction("boxes"),
    generation_config={"temperature": 1.0, "thinking_level": "minimal"},
    safety_settings=[{"type": "dangerous_content", "threshold": "block_only_high"}],
    store=False,                   # keep nothing (not the photo either) on Google's servers
    automatic_continuation=False,  # exactly one billed call
)
answer_text = interaction.output_text
```

One difference matters for your pictures: an interaction is **stored** on Google's servers
by default, image included, so it can be continued later. spatial_nb always sends
`store=False`: nothing is kept, and there is no automatic continuation, so each call is one
billed request. `generate_content` stays the default because the Batch API and response
schemas are shaped like it; both paths share the answer cache (the path is part of its key).
"""
        ),
        code(
            """
if client is None:
    print(NEEDS_KEY)
else:
    iclient = snb.Client(model=MODEL, backend="interactions")  # sent with store=False
    ex = snb.samples.example("overlay")
    res_i = iclient.detect(ex.path, ex.prompt)
    print(len(res_i), "items from", res_i.model_version or res_i.model, "| tokens:", (res_i.usage or {}).get("total_tokens"))
    print("request path:", res_i.request.get("backend"), "| settings sent:", res_i.request["thinking"], res_i.request["temperature"])
    snb.show(ex.path, res_i)
"""
        ),
        md(
            """
## The cookbook's other photos (optional, needs internet)

The photos the cookbook shares with the AI Studio app's gallery (the socks, the origami,
the spill) ship with spatial_nb, so the sections above need no download. The cookbook's
other photos (cupcakes, a bento box, vegetables, a bookshelf...) are not ours to
redistribute, but `snb.samples.fetch` downloads them once into your cache (and checks
later that they did not change), and `snb.samples.cookbook_prompts` has the cookbook's
prompts for them. Tick the box to try it (it needs a key too).
"""
        ),
        code(
            """
FETCH_COOKBOOK_PHOTOS = False  # @param {type:"boolean"}

if FETCH_COOKBOOK_PHOTOS and client is None:
    print(NEEDS_KEY)
elif FETCH_COOKBOOK_PHOTOS:
    photo = snb.samples.fetch("Cupcakes.jpg")
    prompt = snb.samples.cookbook_prompts("Cupcakes.jpg", "boxes")[0]
    cupcakes = client.detect(photo, prompt)
    snb.show(photo, cupcakes)
else:
    print("Skipped. Cookbook photos:", ", ".join(snb.samples.COOKBOOK_NAMES))
"""
        ),
        md(
            """
## The panel

Everything above in one widget: pick a photo (or upload your own), a kind, a model and a
prompt (the sample prompts are offered for each photo), then run it and compare runs.
Its settings hold the media resolution, the request path (`generate_content` or the
Interactions API) and a timeout; the temperature follows the model until you move it.
Without a key, its **Show a recorded answer (no key)** button replays the recordings.
"""
        ),
        code(
            """
panel = snb.Panel(client=client)
panel
"""
        ),
        md(
            """
## What's next

- **Label a folder**: `snb.run_folder("photos/", "Detect every cup", out="labels/")` asks
  the same question about every image and writes one JSON line per image to
  `labels/results.jsonl`; re-running it skips the images already done (on the command
  line: `spatial-nb batch`).
- **Export**: `snb.export.to_coco(...)`, `to_yolo(...)` and `to_supervision(...)` turn
  results into training data or into input for other tools; `snb.evaluate` compares them
  with ground truth.
- **Save and reload** a result: `res.to_json()` and `snb.Result.from_json(text)`.
- **Interactive HTML**: `snb.to_html(image, res)` is a self-contained overlay where
  hovering an object highlights it.
- **Command line**: `spatial-nb detect images/coffee.jpg "Detect the cup, the spoon and the saucer" --out overlay.png`.
- **Run the panel as an app**: `voila notebooks/panel.ipynb`.
"""
        ),
        code(
            """
# A result is plain data: save it, reload it, draw it again later without a request
# (without a key, res is the spill section's recorded answer).
saved = res.to_json()
print(len(saved), "characters;", snb.Result.from_json(saved)[0].label)
"""
        ),
    ]
    for number, cell in enumerate(cells, 1):
        cell["id"] = f"cell-{number:02d}"  # stable ids: regenerating changes only what changed
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["colab"] = {"provenance": []}
    return nb


def main(out: str = "notebooks/Spatial_understanding.ipynb") -> int:
    nb = build()
    nbformat.validate(nb)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    print(f"wrote {out}: {len(nb.cells)} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
