"""A ``sitecustomize`` that refuses and logs every Python socket connection in a child process.

Tests write :func:`socket_guard_source` as ``sitecustomize.py`` into a folder on the child's
``PYTHONPATH`` and set ``SNB_SOCKET_LOG``: every attempt is appended to that file, and
``<log>.active`` proves the guard was loaded. ZeroMQ's C sockets (a Jupyter kernel's own
messages) are not touched.
"""

from __future__ import annotations

__all__ = ["socket_guard_source"]

_GUARD = '''
import os, socket
_LOG = os.environ["SNB_SOCKET_LOG"]
def _refuse(what, *args):
    with open(_LOG, "a") as fh:
        fh.write(f"{what} {args!r}\\n")
    raise OSError(f"network blocked by the test guard: {what}")
socket.socket.connect = lambda self, *a: _refuse("connect", *a)
socket.socket.connect_ex = lambda self, *a: _refuse("connect_ex", *a)
socket.create_connection = lambda *a, **k: _refuse("create_connection", *a)
'''
_NO_DNS = '''socket.getaddrinfo = lambda *a, **k: _refuse("getaddrinfo", *a)
'''
_ACTIVE = '''with open(_LOG + ".active", "w") as fh:
    fh.write("guard installed\\n")
'''


def socket_guard_source(*, block_dns: bool = False) -> str:
    """The guard's source; ``block_dns`` also refuses name lookups (not inside a Jupyter kernel)."""
    return _GUARD + (_NO_DNS if block_dns else "") + _ACTIVE
