"""Refuse network access in this process (and in workers it forks): for tests and audits.

The build reads local files only; it must work, identically, on a machine with no network.
:func:`blocked` (a context manager) and :func:`install` make every Internet socket operation
of Python code -- name lookups, ``connect``, ``sendto``, :func:`socket.create_connection` --
raise :class:`NetworkBlocked` and record the attempt in :data:`ATTEMPTS`, so that a test also
sees an attempt some library swallowed. Local (``AF_UNIX``) sockets, which multiprocessing may
use, stay allowed. Native code that opens sockets itself (a DuckDB extension download, say) is
not covered: run the process in an empty network namespace for that (``unshare -rn``, see
``tests/test_faults.py``).

To run a command with the guard::

    python -c "import sys; from analysis import netguard; netguard.install(); \\
               from analysis.cli import main; sys.argv[0] = 'council'; main()" build ...
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

__all__ = ["ATTEMPTS", "NetworkBlocked", "blocked", "install", "installed", "uninstall"]


class NetworkBlocked(OSError):
    """A network operation was attempted while the guard was on."""


#: Every attempt made while the guard was on: ``"<operation> <target>"``.
ATTEMPTS: list[str] = []

_LOCAL_FAMILIES = {getattr(socket, "AF_UNIX", None)} - {None}
_SOCKET_METHODS = ("connect", "connect_ex", "sendto", "sendmsg")
_MODULE_FUNCTIONS = (
    "create_connection",
    "getaddrinfo",
    "gethostbyname",
    "gethostbyname_ex",
    "gethostbyaddr",
)
_saved: dict[str, Any] = {}
_recorders: list[list[str]] = []


def _refuse(what: str, target: Any) -> None:
    ATTEMPTS.append(f"{what} {target!r}")
    for recorder in _recorders:
        recorder.append(ATTEMPTS[-1])
    raise NetworkBlocked(f"network access blocked: {what} {target!r}")


def _guard_method(name: str, original: Any) -> Any:
    def guarded(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
        if self.family not in _LOCAL_FAMILIES:
            _refuse(f"socket.{name}", args[-1] if args else kwargs)
        return original(self, *args, **kwargs)

    guarded.__name__ = name
    return guarded


def _guard_function(name: str) -> Any:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _refuse(name, args[0] if args else kwargs)

    guarded.__name__ = name
    return guarded


def installed() -> bool:
    return bool(_saved)


def install() -> None:
    """Turn the guard on (idempotent)."""
    if _saved:
        return
    for name in _SOCKET_METHODS:
        original = getattr(socket.socket, name, None)
        if original is not None:
            _saved[f"socket.{name}"] = original
            setattr(socket.socket, name, _guard_method(name, original))
    for name in _MODULE_FUNCTIONS:
        if hasattr(socket, name):
            _saved[name] = getattr(socket, name)
            setattr(socket, name, _guard_function(name))


def uninstall() -> None:
    """Turn the guard off and restore the socket module."""
    for key, original in _saved.items():
        if key.startswith("socket."):
            setattr(socket.socket, key.removeprefix("socket."), original)
        else:
            setattr(socket, key, original)
    _saved.clear()


@contextlib.contextmanager
def blocked() -> Iterator[list[str]]:
    """``with blocked() as attempts:`` -- the guard is on inside; ``attempts`` lists what was
    tried there."""
    was_on = installed()
    install()
    attempts: list[str] = []
    _recorders.append(attempts)
    try:
        yield attempts
    finally:
        _recorders.remove(attempts)
        if not was_on:
            uninstall()
