"""Replace the names of members and staff with their roles, for material that leaves the council.

:class:`Pseudonyms` maps each name in the attendance lists (and each full name under a signature)
to a stand-in that says the role: 会長, 副会長, 委員A, 事務局A, 職員A; a signatory who is not in
the attendance list becomes 署名者A. :func:`pseudonymize_tables` applies it to every text column
of every table, so reports rendered from the result show no names anywhere — headings, tables,
chart tooltips, quotes from the minutes or the line ledger.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLE_STAND_IN = {
    "chair": "会長",
    "vice_chair": "副会長",
    "member": "委員",
    "secretariat": "事務局",
    "department": "職員",
}
LETTERED = ("member", "secretariat", "department")


def _letter(i: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return letters[i] if i < len(letters) else f"{letters[i % 26]}{i // 26}"


@dataclass
class Pseudonyms:
    """Names → stable stand-ins that name the role; callable on any text."""

    mapping: dict[str, str] = field(default_factory=dict)
    _pattern: re.Pattern[str] | None = None

    @classmethod
    def from_attendees(
        cls, attendees: Any, enabled: bool = True, signatories: list[str] | None = None
    ) -> Pseudonyms:
        if not enabled or attendees is None or attendees.is_empty():
            return cls()
        mapping: dict[str, str] = {}
        counts = dict.fromkeys(LETTERED, 0)
        rows = attendees.select("name", "role").unique(maintain_order=True).iter_rows()
        for name, role in rows:
            if not name or name in mapping:
                continue
            stand_in = ROLE_STAND_IN.get(role, "出席者")
            if role in counts:
                stand_in += _letter(counts[role])
                counts[role] += 1
            mapping[name] = stand_in
        others = 0
        for full in signatories or []:
            if not full or full in mapping:
                continue
            surname = next(
                (n for n in sorted(mapping, key=len, reverse=True) if full.startswith(n)), None
            )
            if surname is not None:
                mapping[full] = mapping[surname]
            else:
                mapping[full] = f"署名者{_letter(others)}"
                others += 1
        names = sorted(mapping, key=len, reverse=True)
        pattern = re.compile("|".join(map(re.escape, names))) if names else None
        return cls(mapping, pattern)

    def __call__(self, text: Any) -> Any:
        if text is None or self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self.mapping[m.group(0)], str(text))


def pseudonyms_for(tables: Mapping[str, Any]) -> Pseudonyms:
    """The stand-ins for every attendee and signatory in the datasets."""
    signatories: list[str] = []
    meetings = tables.get("meetings")
    if meetings is not None and "signatories" in meetings.columns:
        for names in meetings["signatories"].to_list():
            signatories += list(names or [])
    return Pseudonyms.from_attendees(tables.get("attendees"), True, signatories)


def pseudonymize_tables(tables: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the tables with every name in every text column replaced by its stand-in."""
    import polars as pl

    p = pseudonyms_for(tables)
    if not p.mapping:
        return dict(tables)
    out = {}
    for name, df in tables.items():
        exprs = []
        for col, dtype in df.schema.items():
            if dtype == pl.String:
                exprs.append(_replace(pl.col(col), p.mapping))
            elif dtype == pl.List(pl.String):
                exprs.append(pl.col(col).list.eval(_replace(pl.element(), p.mapping)))
        out[name] = df.with_columns(exprs) if exprs else df
    return out


def _replace(expr, mapping: dict[str, str]):
    """Replace names longest first, literally (a full name before its surname)."""
    for name in sorted(mapping, key=len, reverse=True):
        expr = expr.str.replace_all(name, mapping[name], literal=True)
    return expr


def pseudonymized_datasets(data_dir: Path, cache: Path) -> Path:
    """A pseudonymised copy of the datasets in ``data_dir``, kept under ``cache`` by data version.

    Reports rendered against the returned folder show roles instead of names.
    """
    from analysis import load, store
    from analysis.render.versions import data_version

    version = data_version(data_dir)
    target = Path(cache) / f"pseudonymized-{version[:16]}"
    if (target / store.MANIFEST_NAME).is_file():
        return target
    tables = load(data_dir, build_if_missing=False)
    store.write_datasets(pseudonymize_tables(tables), target)
    return target
