"""The one error the reading layer raises for a raw file that cannot be read as minutes."""

from __future__ import annotations

import re

_LINE_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029\x0b\x0c\x85]+\s*")


def one_line(text: str) -> str:
    """Collapse line breaks (and the blanks around them) into single spaces."""
    return _LINE_BREAKS.sub(" ", text).strip()


class InputError(Exception):
    """A raw file that cannot be read as minutes.

    ``str(e)`` is one line: ``'<path>: <reason>'``, or ``'<path>:<line>: <reason>'`` when a
    line number is given. The path is kept exactly as the caller gave it.
    """

    def __init__(self, path: str, reason: str, line: int | None = None):
        self.path = str(path)
        self.reason = one_line(str(reason)) or "unreadable input"
        self.line = line
        # Keep all three in ``args`` so the exception survives pickling (multiprocessing).
        super().__init__(self.path, self.reason, line)

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.path}:{self.line}: {self.reason}"
        return f"{self.path}: {self.reason}"
