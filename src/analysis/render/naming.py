"""Report file names from a notebook name and parameter values, safe to use as one path part.

Parameter values come from schedules, the command line and the data itself, so a value such as
``../x`` or ``/etc/passwd`` must never pick where a file is written: every value is reduced to
one file-name component, and :func:`output_path` checks the result stays inside the folder.
"""

from __future__ import annotations

import hashlib
import re
import string
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

_UNSAFE = re.compile(r"[^\w.+=\-]+")  # \w includes Japanese letters; no slashes, no spaces
_WINDOWS_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}
MAX_NAME_BYTES = 150  # leaves room for suffixes within the usual 255-byte limit


class ReportNameError(ValueError):
    """A report name template is malformed."""


def safe_component(text: str) -> str:
    """``text`` as one file-name component: no separators, no leading dots, bounded length.

    Letters of any script, digits, ``_ . + = -`` are kept; runs of anything else become one
    ``_``. Leading dots and dashes go (no hidden files, no ``..``, nothing that looks like an
    option), Windows device names get a ``_`` prefix, and a name longer than
    :data:`MAX_NAME_BYTES` in UTF-8 is cut and given a short hash of the whole.
    """
    name = unicodedata.normalize("NFC", str(text))
    name = _UNSAFE.sub("_", name)
    name = re.sub(r"_+", "_", name)
    name = re.sub(r"\.{2,}", ".", name)
    name = name.lstrip(".-").rstrip(". ")
    if not name:
        name = "_"
    if name.split(".")[0].upper() in _WINDOWS_RESERVED:
        name = "_" + name
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
        cut = name.encode("utf-8")[: MAX_NAME_BYTES - 11].decode("utf-8", "ignore")
        name = f"{cut}-{digest}"
    return name


def _value_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return name if value else f"no-{name}"
    if isinstance(value, list | tuple):
        return "+".join(_value_text(name, v) for v in value) or "none"
    return "none" if value is None else str(value)


def report_name(
    notebook: Path | str,
    parameters: Mapping[str, Any],
    *,
    order: Iterable[str] | None = None,
    template: str | None = None,
) -> str:
    """The report's base name (no suffix), always one safe file-name component.

    Without ``template``: the notebook's stem followed by the values of ``parameters`` in
    ``order`` (the notebook's declaration order), joined with ``-``, e.g.
    ``meeting_summary-tama-2020-09``. A ``template`` such as ``"会議-{meeting_id}"`` names the
    report instead; only plain ``{parameter}`` fields are allowed.
    """
    if template is not None:
        return safe_component(format_template(template, parameters))
    keys = [k for k in (order or parameters) if k in parameters]
    keys += [k for k in parameters if k not in keys]
    parts = [Path(notebook).stem] + [_value_text(k, parameters[k]) for k in keys]
    return safe_component("-".join(parts))


def template_fields(template: str) -> list[str]:
    """The ``{field}`` names of a name template; anything but plain names is an error."""
    fields = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ReportNameError(f"name template {template!r}: {exc}") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ReportNameError(
                f"name template {template!r}: only plain {{parameter}} fields are allowed"
            )
        fields.append(field)
    return fields


def format_template(template: str, parameters: Mapping[str, Any]) -> str:
    fields = template_fields(template)
    missing = [f for f in fields if f not in parameters]
    if missing:
        raise ReportNameError(f"name template {template!r}: no parameter {missing[0]!r}")
    return template.format_map({f: _value_text(f, parameters[f]) for f in fields})


def output_path(out_dir: Path, name: str, suffix: str) -> Path:
    """``out_dir / (name + suffix)``, refusing anything that would land outside ``out_dir``."""
    root = Path(out_dir).resolve()
    if name != safe_component(name):
        raise ValueError(f"not a safe report name: {name!r}")
    path = (root / f"{name}{suffix}").resolve()
    if path.parent != root:
        raise ValueError(f"report path {path} is outside {root}")
    return path
