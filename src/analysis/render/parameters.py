"""A report notebook's parameters: read from its ``parameters`` cell, checked before running.

The convention (see ``notebooks/_template.py``):

- One code cell tagged ``parameters`` (papermill's convention; in py:percent:
  ``# %% tags=["parameters"]``). It holds nothing but assignments of literal defaults, one per
  line::

      data_dir = None
      meeting_id = "tama-2020-09"
      top_n: int = 10
      category = "outsourcing"  # choices: system_change, outsourcing, other

- The type a value must have is the annotation when there is one (``str``, ``int``, ``float``,
  ``bool``, ``list``, ``list[str]``, ``list[int]``, each optionally ``| None``), otherwise the type
  of the default. A default of ``None`` without an annotation accepts any value.
- A trailing comment ``# choices: a, b, c`` limits the value to those choices (parsed as the
  parameter's type; for a list, every element must be one of them). Choices that depend on the
  data (which meetings exist) are the notebook's own check, in the cell after the parameters.
- ``data_dir`` is reserved: the renderer always sets it to the datasets folder.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from typing import Any

DATA_DIR = "data_dir"
PARAMETERS_TAG = "parameters"
_SCALARS = ("str", "int", "float", "bool")
_TYPES = (*_SCALARS, "list", "list[str]", "list[int]", "list[float]", "any")


class ParameterError(ValueError):
    """A parameter is unknown, has the wrong type, or is not one of the allowed choices."""


@dataclass(frozen=True)
class Parameter:
    """One parameter declared in a notebook's ``parameters`` cell."""

    name: str
    type: str  # one of _TYPES
    default: Any
    optional: bool = False  # None is allowed
    choices: tuple[Any, ...] | None = None
    line: int = 0

    def describe(self) -> str:
        text = self.type + (" or None" if self.optional and self.type != "any" else "")
        if self.choices:
            text += f" (one of: {', '.join(map(str, self.choices))})"
        return text


def _cell_source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def parameters_cell_index(nb: Any) -> int | None:
    """Index of the first code cell tagged ``parameters``, or None."""
    for i, cell in enumerate(nb.get("cells", [])):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") == "code" and PARAMETERS_TAG in tags:
            return i
    return None


def _annotation_type(node: ast.expr, where: str) -> tuple[str, bool]:
    """('int', optional) from an annotation such as ``int``, ``list[str]`` or ``str | None``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        parts = [node.left, node.right]
        nones = [p for p in parts if isinstance(p, ast.Constant) and p.value is None]
        others = [p for p in parts if p not in nones]
        if len(nones) == 1 and len(others) == 1:
            return _annotation_type(others[0], where)[0], True
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Optional"
    ):
        return _annotation_type(node.slice, where)[0], True
    text = ast.unparse(node).replace(" ", "")
    if text in _TYPES:
        return text, False
    raise ParameterError(
        f"{where}: unsupported annotation {ast.unparse(node)!r} "
        f"(use str, int, float, bool, list, list[str], list[int], optionally '| None')"
    )


def _type_of(value: Any) -> tuple[str, bool]:
    if value is None:
        return "any", True
    if isinstance(value, bool):
        return "bool", False
    for name, kind in (("int", int), ("float", float), ("str", str)):
        if isinstance(value, kind):
            return name, False
    if isinstance(value, list | tuple):
        kinds = {_type_of(v)[0] for v in value}
        if len(kinds) == 1 and (kind := kinds.pop()) in ("str", "int", "float"):
            return f"list[{kind}]", False
        return "list", False
    raise TypeError(type(value).__name__)


def _comments(source: str) -> dict[int, str]:
    """Line number → text of the comment on that line."""
    out: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, SyntaxError):
        pass
    return out


def _parse_choices(comment: str, param: Parameter, where: str) -> tuple[Any, ...] | None:
    marker = "choices:"
    if marker not in comment:
        return None
    raw = [c.strip() for c in comment.split(marker, 1)[1].split(",") if c.strip()]
    element = param.type[5:-1] if param.type.startswith("list[") else param.type
    try:
        if element == "int":
            return tuple(int(c) for c in raw)
        if element == "float":
            return tuple(float(c) for c in raw)
    except ValueError as exc:
        raise ParameterError(
            f"{where}: choices of {param.name!r} are not {element}: {exc}"
        ) from None
    return tuple(raw)


def parse_parameters(nb: Any, notebook_name: str = "notebook") -> dict[str, Parameter]:
    """The parameters a notebook declares, in the order of its ``parameters`` cell.

    ``nb`` is a notebook node (as jupytext or nbformat reads it). A notebook without a
    ``parameters`` cell declares none. Anything in the cell but assignments of literal defaults is
    a :class:`ParameterError` naming the line.
    """
    index = parameters_cell_index(nb)
    if index is None:
        return {}
    source = _cell_source(nb["cells"][index])
    where = f"{notebook_name}: parameters cell"
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError(f"{where}: line {exc.lineno}: {exc.msg}") from None
    comments = _comments(source)
    params: dict[str, Parameter] = {}
    for stmt in tree.body:
        at = f"{where}, line {stmt.lineno}"
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, annotation = stmt.targets[0], None
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, annotation = stmt.target, stmt.annotation
        else:
            raise ParameterError(f"{at}: only `name = literal default` lines belong here")
        if not isinstance(target, ast.Name):
            raise ParameterError(f"{at}: only `name = literal default` lines belong here")
        try:
            default = ast.literal_eval(stmt.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ParameterError(
                f"{at}: the default of {target.id!r} must be a literal, "
                f"not {ast.unparse(stmt.value)!r}"
            ) from None
        if isinstance(default, tuple):
            default = list(default)
        if annotation is not None:
            kind, optional = _annotation_type(annotation, at)
        else:
            try:
                kind, optional = _type_of(default)
            except TypeError as exc:
                raise ParameterError(f"{at}: unsupported default type {exc}") from None
        param = Parameter(target.id, kind, default, optional, None, stmt.lineno)
        end = getattr(stmt, "end_lineno", None) or stmt.lineno
        choices = _parse_choices(comments.get(end, comments.get(stmt.lineno, "")), param, at)
        params[target.id] = Parameter(target.id, kind, default, optional, choices, stmt.lineno)
    return params


def _check_type(param: Parameter, value: Any, where: str) -> Any:
    """``value`` converted to the parameter's type, or a ParameterError."""

    def fail() -> ParameterError:
        got = "bool" if isinstance(value, bool) else type(value).__name__
        return ParameterError(
            f"{where}: parameter {param.name!r} expects {param.describe()}, got {got} {value!r}"
        )

    if value is None:
        if param.optional:
            return None
        raise fail()
    kind = param.type
    if kind == "any":
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, str | int | float | bool | list | dict):
            raise fail()
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise fail()
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail()
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail()
        return float(value)
    if kind == "str":
        if not isinstance(value, str):
            raise fail()
        return value
    # lists
    if not isinstance(value, list | tuple):
        raise fail()
    value = list(value)
    if kind != "list":
        element = Parameter(param.name, kind[5:-1], None)
        try:
            value = [_check_type(element, v, where) for v in value]
        except ParameterError:
            raise fail() from None
    return value


def _check_choices(param: Parameter, value: Any, where: str) -> None:
    if not param.choices or value is None:
        return
    values = value if isinstance(value, list) else [value]
    bad = [v for v in values if v not in param.choices]
    if bad:
        raise ParameterError(
            f"{where}: parameter {param.name!r} = {bad[0]!r} is not one of the allowed choices: "
            f"{', '.join(map(str, param.choices))}"
        )


def validate_parameters(
    declared: dict[str, Parameter], values: dict[str, Any], notebook_name: str = "notebook"
) -> dict[str, Any]:
    """Check ``values`` against the declared parameters; return them converted (int → float).

    Raises :class:`ParameterError` for an unknown name (listing the known ones), a value of the
    wrong type (naming the expected type) or a value outside the declared choices.
    ``data_dir`` is not accepted here: the renderer sets it.
    """
    where = notebook_name
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == DATA_DIR:
            raise ParameterError(
                f"{where}: {DATA_DIR!r} is set by the renderer (pass the data folder instead)"
            )
        if name not in declared:
            known = ", ".join(n for n in declared if n != DATA_DIR) or "none"
            raise ParameterError(
                f"{where}: unknown parameter {name!r} (the notebook declares: {known})"
            )
        param = declared[name]
        converted = _check_type(param, value, where)
        _check_choices(param, converted, where)
        out[name] = converted
    return out


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_cli_value(param: Parameter, raw: str, notebook_name: str = "notebook") -> Any:
    """A command-line string (``-p name=value``) converted to the parameter's declared type.

    Lists are comma-separated (``a,b``) or a JSON/YAML list (``[1, 2]``); ``none``/``null`` is
    None for a parameter that allows it.
    """
    where = notebook_name

    def fail(expected: str) -> ParameterError:
        return ParameterError(f"{where}: parameter {param.name!r} expects {expected}, got {raw!r}")

    text = raw.strip()
    if param.optional and text.lower() in ("none", "null", ""):
        return None
    kind = param.type
    if kind == "any":
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return raw
    if kind == "str":
        return raw
    if kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise fail("bool (true/false)")
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise fail("int") from None
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            raise fail("float") from None
    # lists
    if text.startswith("["):
        import yaml

        try:
            items = yaml.safe_load(text)
        except yaml.YAMLError:
            raise fail(kind) from None
        if not isinstance(items, list):
            raise fail(kind)
        if kind == "list[str]":
            return [str(i) for i in items]
        return items
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if kind in ("list", "list[str]"):
        return parts
    element = Parameter(param.name, kind[5:-1], None)
    return [parse_cli_value(element, p, notebook_name) for p in parts]
