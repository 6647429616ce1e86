"""Helpers for browser tests: serve a notebook with Voilà or JupyterLab on 127.0.0.1, drive Chromium.

``VoilaServer`` starts ``python -m voila`` and ``LabServer`` ``python -m jupyterlab``, both with
the *current* interpreter as their kernel (a ``python3`` kernelspec written into a temporary
``JUPYTER_PATH``, so a CI virtualenv is used even when another ``python3`` kernelspec is installed
system-wide) and isolated Jupyter config/data/runtime/settings directories; JupyterLab's news and
update checks are off. ``launch_chromium`` opens a persistent Debian Chromium context that aborts
every request whose host is not loopback and records what it blocked and what failed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from urllib.parse import urlparse

__all__ = [
    "CHROMIUM", "CHROMIUM_ARGS", "free_port", "VoilaServer", "LabServer", "launch_chromium", "LOCAL_HOSTS",
    "require", "need_browser_stack", "browser_page", "upload_file", "data_url_bytes", "cut_labels",
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
REPO = Path(__file__).resolve().parents[1]


def require(condition: bool, reason: str) -> None:
    """Skip with ``reason`` when ``condition`` is false — but fail under CI=true."""
    import pytest

    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and the browser test cannot run: {reason}")
    pytest.skip(reason)


def need_browser_stack(*modules: str) -> None:
    """Skip (fail under CI=true) unless Chromium, playwright and every one of ``modules`` are there."""
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    for module in ("playwright", *modules):
        try:
            __import__(module)
        except ImportError:  # pragma: no cover - the dev extra installs them
            require(False, f"{module} is not installed (pip install -e '.[dev]'; no browser download needed)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_kernelspec(jupyter_path: Path) -> Path:
    """A ``python3`` kernelspec for this interpreter under ``jupyter_path/kernels``."""
    spec_dir = jupyter_path / "kernels" / "python3"
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (spatial_nb tests)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return spec_dir


class _Server:
    """A Jupyter-family server process on 127.0.0.1 with an isolated environment."""

    name = "Jupyter server"  # what log tails are headed with
    ready_marker = "running at"

    def __init__(self, notebook: Path, workdir: Path, env: dict[str, str] | None = None, timeout_s: float = 90):
        self.notebook = Path(notebook)
        self.workdir = Path(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.timeout_s = timeout_s
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.log: deque[str] = deque(maxlen=400)

    def command(self) -> list[str]:
        raise NotImplementedError

    def cwd(self) -> Path:
        return self.notebook.parent

    def _env(self) -> dict[str, str]:
        jp = self.workdir / "jupyter"
        write_kernelspec(jp / "data")
        for sub in ("config", "runtime"):
            (jp / sub).mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            JUPYTER_PATH=str(jp / "data"),
            JUPYTER_CONFIG_DIR=str(jp / "config"),
            JUPYTER_DATA_DIR=str(jp / "data"),
            JUPYTER_RUNTIME_DIR=str(jp / "runtime"),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p),
            PYDEVD_DISABLE_FILE_VALIDATION="1",
        )
        env.update(self.extra_env)
        return env

    def start(self):
        self.proc = subprocess.Popen(
            self.command(), cwd=str(self.cwd()), env=self._env(), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1,
        )
        ready = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.log.append(line.rstrip())
                if self.ready_marker in line.lower():
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + self.timeout_s
        while not ready.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{type(self).__name__} did not start:\n" + "\n".join(self.log))
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class VoilaServer(_Server):
    """``python -m voila NOTEBOOK`` on 127.0.0.1 with a chosen environment (working directory:
    the notebook's folder, as Voilà itself sets for the kernel).

    Example:
        >>> with VoilaServer(nb, tmp_path, env={"GOOGLE_API_KEY": "k"}) as voila:  # doctest: +SKIP
        ...     page.goto(voila.url)
    """

    name = "Voilà"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "voila", str(self.notebook), "--no-browser",
            f"--port={self.port}", "--Voila.ip=127.0.0.1",
        ]


class LabServer(_Server):
    """``python -m jupyterlab`` serving ``root`` on 127.0.0.1, no token, no news or update checks.

    ``notebook_url`` opens ``notebook`` (a path inside ``root``) in the Lab UI; the app is exposed as
    ``window.jupyterapp`` so tests can wait for the kernel and run cells through Lab's commands.
    """

    name = "JupyterLab"
    ready_marker = "is running at"

    def __init__(self, notebook: Path, workdir: Path, root: Path, env: dict[str, str] | None = None, timeout_s: float = 120):
        super().__init__(notebook, workdir, env, timeout_s)
        self.root = Path(root)
        rel = self.notebook.resolve().relative_to(self.root.resolve()).as_posix()
        self.notebook_url = f"{self.url}lab/tree/{rel}"

    def cwd(self) -> Path:
        return self.root

    def command(self) -> list[str]:
        lab = self.workdir / "jupyter" / "lab"
        for sub in ("settings", "workspaces"):
            (lab / sub).mkdir(parents=True, exist_ok=True)
        # no "get notified about Jupyter news?" toast over the page
        news = lab / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        news.parent.mkdir(parents=True, exist_ok=True)
        news.write_text(json.dumps({"fetchNews": "false"}))
        return [
            sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={self.port}",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={self.root}",
            "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly", "--ServerApp.allow_root=True",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: tests wait on the kernel's status
            f"--LabApp.user_settings_dir={lab / 'settings'}", f"--LabApp.workspaces_dir={lab / 'workspaces'}",
        ]


class NetworkLog:
    """What the page asked for: blocked (non-loopback) URLs, failed and error responses."""

    def __init__(self) -> None:
        self.blocked: list[str] = []
        self.failed: list[tuple[str, str]] = []
        self.bad_status: list[tuple[str, int]] = []
        self.local: list[str] = []

    def route(self, route) -> None:
        url = route.request.url
        host = urlparse(url).hostname or ""
        if host in LOCAL_HOSTS or url.startswith(("data:", "blob:")):
            self.local.append(url)
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")

    def on_failed(self, request) -> None:
        self.failed.append((request.url, str(request.failure)))

    def on_response(self, response) -> None:
        if response.status >= 400:
            self.bad_status.append((response.url, response.status))

    def our_failures(self) -> list[tuple[str, str]]:
        """Failed requests to loopback (what the page needed); blocked CDN fetches excluded."""
        return [(u, f) for u, f in self.failed if (urlparse(u).hostname or "") in LOCAL_HOSTS]


def launch_chromium(playwright, profile_dir: Path, viewport: tuple[int, int] = (1400, 1000)):
    """A headless persistent Chromium context with every non-loopback request aborted.

    Returns ``(context, network_log)``.
    """
    ctx = playwright.chromium.launch_persistent_context(
        user_data_dir=str(profile_dir),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": viewport[0], "height": viewport[1]},
    )
    net = NetworkLog()
    ctx.route("**/*", net.route)
    ctx.on("requestfailed", net.on_failed)
    ctx.on("response", net.on_response)
    return ctx, net


@contextlib.contextmanager
def browser_page(server, profile_dir: Path, failure_png: Path, viewport: tuple[int, int] = (1400, 1000)):
    """``(page, network_log)``: a new page of :func:`launch_chromium`, for a page of ``server``.

    When the block raises, a full-page screenshot goes to ``failure_png`` and the tail of the
    server's log is printed; the browser is closed either way.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        ctx, net = launch_chromium(pw, profile_dir, viewport)
        page = ctx.new_page()
        try:
            yield page, net
        except Exception:
            page.screenshot(path=str(failure_png), full_page=True)
            print(f"{server.name} log tail:\n" + "\n".join(list(server.log)[-40:]))
            raise
        finally:
            ctx.close()


def upload_file(page, button_selector: str, path: Path) -> None:
    """Pick ``path`` in an ipywidgets ``FileUpload`` the way a user does.

    The widget's ``<input type=file>`` is never attached to the page (its button calls
    ``input.click()``), so ``set_input_files`` on a selector cannot reach it; the file chooser
    that the click opens can.
    """
    with page.expect_file_chooser() as chooser:
        page.click(button_selector)
    chooser.value.set_files(str(path))


def data_url_bytes(href: str, mime: str) -> bytes:
    """The bytes of a ``data:<mime>;base64,...`` URL (asserting the mime type)."""
    import base64

    head, _, payload = href.partition(",")
    assert head == f"data:{mime};base64", head
    return base64.b64decode(payload)


#: Elements of the panel whose text must never be cut: labels, buttons, tabs, toggles.
_CUT_JS = """root => {
  const out = [];
  const sel = '.widget-label, button, .jupyter-button, .lm-TabBar-tabLabel, .p-TabBar-tabLabel, .widget-checkbox label';
  for (const el of root.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || !el.textContent.trim()) continue;   // hidden or empty
    if (el.scrollWidth > el.clientWidth + 1) out.push(el.textContent.trim() + ' (' + el.scrollWidth + '>' + el.clientWidth + ')');
  }
  return out;
}"""


def cut_labels(page, root_selector: str = ".snb-panel") -> list[str]:
    """Texts of visible labels, buttons and tabs inside ``root_selector`` that do not fit their box."""
    return page.locator(root_selector).first.evaluate(_CUT_JS)
