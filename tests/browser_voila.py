"""Helpers for browser tests: serve a notebook with Voilà on 127.0.0.1 and drive Debian's Chromium.

``VoilaServer`` starts ``python -m voila`` with the *current* interpreter as its kernel (a
``python3`` kernelspec written into a temporary ``JUPYTER_PATH``, so a CI virtualenv is used
even when another ``python3`` kernelspec is installed system-wide) and isolated Jupyter
config/data/runtime directories. ``launch_chromium`` opens a persistent Chromium context that
aborts every request whose host is not loopback and records what it blocked and what failed.
"""

from __future__ import annotations

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
    "CHROMIUM", "CHROMIUM_ARGS", "free_port", "VoilaServer", "launch_chromium", "LOCAL_HOSTS", "require",
    "upload_file", "data_url_bytes",
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


class VoilaServer:
    """``python -m voila NOTEBOOK`` on 127.0.0.1 with a chosen environment.

    Example:
        >>> with VoilaServer(nb, tmp_path, env={"GOOGLE_API_KEY": "k"}) as voila:  # doctest: +SKIP
        ...     page.goto(voila.url)
    """

    def __init__(self, notebook: Path, workdir: Path, env: dict[str, str] | None = None, timeout_s: float = 90):
        self.notebook = Path(notebook)
        self.workdir = Path(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.timeout_s = timeout_s
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.log: deque[str] = deque(maxlen=400)

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

    def start(self) -> VoilaServer:
        cmd = [
            sys.executable, "-m", "voila", str(self.notebook), "--no-browser",
            f"--port={self.port}", "--Voila.ip=127.0.0.1",
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=str(self.notebook.parent), env=self._env(), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1,
        )
        ready = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.log.append(line.rstrip())
                if "running at" in line.lower():
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + self.timeout_s
        while not ready.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("Voilà did not start:\n" + "\n".join(self.log))
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> VoilaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


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


def launch_chromium(playwright, profile_dir: Path):
    """A headless persistent Chromium context with every non-loopback request aborted.

    Returns ``(context, network_log)``.
    """
    ctx = playwright.chromium.launch_persistent_context(
        user_data_dir=str(profile_dir),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 1000},
    )
    net = NetworkLog()
    ctx.route("**/*", net.route)
    ctx.on("requestfailed", net.on_failed)
    ctx.on("response", net.on_response)
    return ctx, net


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
