"""Storage layer for the cleaned datasets: atomic, deterministic, locked writes.

Layout of an output folder (``paths.processed_dir()`` for ``council build``)::

    out_dir/
      MANIFEST.json            commit record: each file, its sha256 and object (replaced last)
      <table>.parquet          published copies, for readers that open the files directly
      council.duckdb           the same tables (list[str] columns as VARCHAR[])
      excel/<table>.csv        with excel=True: UTF-8 with BOM, CRLF line ends
      excel/council.xlsx       with excel=True: one sheet per table
      .objects/<sha256>.<ext>  immutable, content-addressed copies that MANIFEST.json points at
      .build.lock(.info)       the build lock and who holds it
      .staging-XXXXXXXX/       only while a build runs (or after one was killed)

Atomicity design. A build (1) serialises every file into a fresh ``.staging-*`` folder (with
:class:`DatasetWriter`, each table as it is added, the DuckDB file in a background thread) and
fsyncs it; (2) renames each new file into ``.objects/<sha256>.<ext>`` (content-addressed, so an
object never changes once it exists); (3) writes the new MANIFEST.json in staging, fsyncs it and
``os.replace``-s it onto ``out_dir/MANIFEST.json`` -- this one rename is the commit point;
(4) copies each changed object to a hidden temporary name beside its published path and
``os.replace``-s it into place, then deletes published files the new set no longer has; (5)
deletes objects that neither the new nor the previous manifest uses, and the staging folder.

Guarantees. Readers that go through the manifest (:func:`read_table`, :func:`list_tables`, or
anyone who opens the ``object`` paths listed in MANIFEST.json) see the complete old set or the
complete new set whatever point a build is killed at: objects are immutable and the manifest
changes in one rename. The published plain files are not touched before the commit, so a crash
before step (4) leaves the old set everywhere. A crash inside step (4) leaves the plain files
mixed: :func:`verify` then reports each plain file whose bytes do not match MANIFEST.json (and
left-over files of an earlier set), and the next :func:`write_datasets` (or :func:`repair`)
republishes them from the objects. Stale staging folders and temporary files of killed builds
are removed at the start of the next write. Readers that open the plain files *while* a build is
publishing can still see a mix; they should call :func:`verify` or read through the manifest.

Determinism. Parquet is written by polars with fixed settings (zstd level 3, statistics on,
rechunked, fixed row-group size), CSV and xlsx carry no timestamps (the workbook's created date
is fixed at 2000-01-01 and xlsxwriter stamps zip members with 1980-01-01), so identical tables
give byte-identical files. DuckDB files embed a random database id, so ``council.duckdb`` is
only rebuilt when its *source digest* (the sha256 of the parquet files it is made from, plus the
duckdb version) differs from the one in the current manifest. Every file whose content is
unchanged is left alone (its mtime is kept); :class:`WriteReport` lists what was written.

Excel exports. List columns are joined with ``"; "`` (:data:`LIST_SEPARATOR`); in the CSV an
empty list is written as ``""`` and a missing value as an empty field. Struct and nested list
values are written as JSON text. Dates are real Excel dates in the xlsx (``yyyy-mm-dd``);
datetimes are written as wall-clock ``yyyy-mm-dd hh:mm:ss`` (a time zone is dropped).
xlsx cells hold at most 32,767 characters (longer text is truncated there, never in the CSV).

Metadata passed to :func:`write_datasets` is stored in MANIFEST.json only, so that the data
files' bytes depend on the tables alone.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "LIST_SEPARATOR",
    "MANIFEST_NAME",
    "BuildLock",
    "DatasetWriter",
    "OutputError",
    "ParquetTable",
    "WriteReport",
    "duckdb_content_digest",
    "list_tables",
    "read_manifest",
    "read_table",
    "repair",
    "verify",
    "write_datasets",
]

MANIFEST_NAME = "MANIFEST.json"
MANIFEST_FORMAT = "council-datasets/1"
LIST_SEPARATOR = "; "
OBJECTS_DIR = ".objects"
STAGING_PREFIX = ".staging-"
PUBLISH_SUFFIX = ".publish-tmp"
LOCK_NAME = ".build.lock"
LOCK_INFO_NAME = ".build.lock.info"
EXCEL_DIR = "excel"
XLSX_NAME = "council.xlsx"

PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 3
PARQUET_ROW_GROUP_SIZE = 128 * 1024
XLSX_CREATED = datetime(2000, 1, 1)
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLS = 16_384
XLSX_MAX_WIDTH = 60
_EXACT_FLOAT_INT = 2**53

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_CHUNK = 1 << 20


class OutputError(Exception):
    """A dataset folder cannot be written or read; the message is one line naming the path."""


@dataclass
class WriteReport:
    """What :func:`write_datasets` did. Paths are relative to the output folder (posix style)."""

    written: list[str]
    unchanged: list[str]
    manifest_path: Path
    removed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ParquetTable:
    """A table already serialised by :meth:`of` (the parquet bytes :func:`write_datasets` writes).

    A caller that makes its tables one at a time can hand :func:`write_datasets` these instead
    of DataFrames and free each frame as soon as it is serialised.
    """

    data: bytes
    rows: int
    columns: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, df: pl.DataFrame) -> ParquetTable:
        columns = tuple((col, str(dtype)) for col, dtype in df.schema.items())
        return cls(_parquet_bytes(df), df.height, columns)

    def frame(self) -> pl.DataFrame:
        import polars as pl

        return pl.read_parquet(io.BytesIO(self.data))


# --------------------------------------------------------------------------------------------
# Build lock
# --------------------------------------------------------------------------------------------

# Folders whose build lock this process holds, with a nesting count (the lock is per process).
_HELD: dict[str, int] = {}


def _lock_key(out_dir: Path) -> str:
    return os.path.realpath(out_dir)


class BuildLock:
    """Exclusive lock on ``<out_dir>/.build.lock`` for the duration of a build.

    If another process holds it, wait up to ``timeout`` seconds (0 = do not wait) and then raise
    :class:`OutputError` naming the holder's pid and start time (read from the sidecar
    ``.build.lock.info``). Re-entering the lock for the same folder in the same process is a
    no-op, so :func:`write_datasets` can run inside a ``with BuildLock(out_dir):`` block.
    The lock is an ``flock``: the kernel drops it when the holder dies, even by SIGKILL.
    """

    def __init__(self, out_dir: Path, timeout: float = 0) -> None:
        self.out_dir = Path(out_dir)
        self.timeout = max(float(timeout), 0.0)
        self.lock_path = self.out_dir / LOCK_NAME
        self.info_path = self.out_dir / LOCK_INFO_NAME
        self._lock: Any = None
        self._key: str | None = None

    def __enter__(self) -> BuildLock:
        from filelock import FileLock, Timeout

        _ensure_dir(self.out_dir)
        key = _lock_key(self.out_dir)
        if key in _HELD:
            _HELD[key] += 1
            self._key = key
            return self
        lock = FileLock(str(self.lock_path), timeout=self.timeout, thread_local=False)
        try:
            lock.acquire(timeout=self.timeout)
        except Timeout:
            raise OutputError(
                f"{self.out_dir}: another build is running ({self._holder()})"
            ) from None
        except OSError as exc:
            raise _output_error(exc, self.lock_path, "cannot take the build lock") from exc
        try:
            info = {"pid": os.getpid(), "since": time.time()}
            with open(self.info_path, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(info))
        except OSError as exc:
            lock.release()
            raise _output_error(exc, self.info_path, "cannot take the build lock") from exc
        except BaseException:
            lock.release()
            raise
        self._lock = lock
        self._key = key
        _HELD[key] = 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        key, self._key = self._key, None
        if key is None:
            return
        _HELD[key] -= 1
        if _HELD[key] > 0:
            return
        del _HELD[key]
        lock, self._lock = self._lock, None
        try:
            with contextlib.suppress(OSError):
                os.unlink(self.info_path)
        finally:
            lock.release()

    def _holder(self) -> str:
        try:
            info = json.loads(self.info_path.read_text(encoding="utf-8"))
            since = time.strftime("%H:%M:%S", time.localtime(float(info["since"])))
            return f"lock held by pid {int(info['pid'])} since {since}"
        except (OSError, ValueError, KeyError, TypeError):
            return f"lock held by another process; see {self.lock_path}"


# --------------------------------------------------------------------------------------------
# Errors and small file-system helpers
# --------------------------------------------------------------------------------------------

_CAUSES = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOTDIR: "a path component is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.EBUSY: "locked or busy",
    errno.ETXTBSY: "locked or busy",
    errno.EAGAIN: "locked or busy",
}


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _output_error(exc: BaseException, path: Path | str, action: str, note: str = "") -> OutputError:
    """Turn an OSError (or a duckdb error) into a one-line :class:`OutputError`."""
    if isinstance(exc, OSError):
        # For a rename the destination is the interesting path.
        where = exc.filename2 or exc.filename or path
        cause = _CAUSES.get(exc.errno or 0) or _one_line(exc.strerror or str(exc))
    else:
        where = path
        text = str(exc)
        lowered = text.lower()
        if "no space left" in lowered:
            cause = "disk full"
        elif "permission denied" in lowered:
            cause = "permission denied"
        elif "lock" in lowered:
            cause = "locked: " + _one_line(text)[:200]
        else:
            cause = _one_line(text)[:200]
    return OutputError(f"{where}: {action} ({cause}){note}")


def _ensure_dir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: cannot write datasets (it is a file, not a folder)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{path}: cannot write datasets (it is a file, not a folder)") from None
    except OSError as exc:
        raise _output_error(exc, path, "cannot write datasets") from exc


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_bytes(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data`` and fsync it (the only place serialised files are written)."""
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _copy_file(src: Path, dst: Path) -> None:
    """Copy ``src`` to a new file ``dst`` and fsync it."""
    with open(src, "rb") as fin, open(dst, "xb") as fout:
        shutil.copyfileobj(fin, fout, _CHUNK)
        fout.flush()
        os.fsync(fout.fileno())


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_file(path: Path) -> str | None:
    """The file's sha256, or None if it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _rel(path: str) -> Path:
    return Path(*path.split("/"))


# --------------------------------------------------------------------------------------------
# Serialisation (deterministic)
# --------------------------------------------------------------------------------------------


def _parquet_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.rechunk().write_parquet(
        buf,
        compression=PARQUET_COMPRESSION,
        compression_level=PARQUET_COMPRESSION_LEVEL,
        statistics=True,
        row_group_size=PARQUET_ROW_GROUP_SIZE,
    )
    return buf.getvalue()


def _flatten_for_excel(df: pl.DataFrame, *, keep_temporal: bool) -> pl.DataFrame:
    """Make every column a scalar type Excel understands (lists joined with LIST_SEPARATOR)."""
    import polars as pl

    def to_json(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)

    exprs = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Array):
            col = col.arr.to_list()
            dtype = pl.List(dtype.inner)
        if isinstance(dtype, pl.List) and not dtype.inner.is_nested():
            expr = col.list.eval(pl.element().cast(pl.String)).list.join(LIST_SEPARATOR)
        elif dtype.is_nested():
            expr = col.map_elements(to_json, return_dtype=pl.String, skip_nulls=True)
        elif dtype == pl.Binary:
            expr = col.bin.encode("hex")
        elif isinstance(dtype, (pl.Categorical, pl.Enum, pl.Duration, pl.Object)) or (
            not keep_temporal and dtype == pl.Time
        ):
            expr = col.cast(pl.String)
        else:
            expr = col
        exprs.append(expr.alias(name))
    return df.select(exprs)


def _csv_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    _flatten_for_excel(df, keep_temporal=False).write_csv(
        buf,
        include_bom=True,
        line_terminator="\r\n",
        datetime_format="%Y-%m-%d %H:%M:%S%.f",
        null_value="",
        quote_style="necessary",
    )
    return buf.getvalue()


def _display_width(value: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in value)


def _as_frame(table: pl.DataFrame | ParquetTable) -> pl.DataFrame:
    return table.frame() if isinstance(table, ParquetTable) else table


def _xlsx_bytes(tables: Iterable[tuple[str, pl.DataFrame]]) -> bytes:
    """The workbook, one sheet per (name, table); tables are read one at a time."""
    import polars as pl
    import xlsxwriter

    buf = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "nan_inf_to_errors": True,
            "remove_timezone": True,
        },
    )
    workbook.set_properties({"created": XLSX_CREATED, "title": "council datasets"})
    bold = workbook.add_format({"bold": True})
    date_fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_fmt = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    time_fmt = workbook.add_format({"num_format": "hh:mm:ss"})

    for name, table in tables:
        df = _flatten_for_excel(table, keep_temporal=True)
        if df.height + 1 > XLSX_MAX_ROWS or df.width > XLSX_MAX_COLS:
            raise ValueError(
                f"table {name!r} ({df.height} rows, {df.width} columns) does not fit an Excel sheet"
            )
        sheet = workbook.add_worksheet(name[:31])
        sheet.write_row(0, 0, df.columns, bold)
        sheet.freeze_panes(1, 0)
        for c, (col_name, dtype) in enumerate(df.schema.items()):
            series = df.get_column(col_name)
            width = _display_width(col_name)
            if dtype == pl.Date:
                fmt, kind = date_fmt, "datetime"
            elif dtype == pl.Datetime:
                fmt, kind = datetime_fmt, "datetime"
            elif dtype == pl.Time:
                fmt, kind = time_fmt, "datetime"
            elif dtype == pl.Boolean:
                fmt, kind = None, "boolean"
            elif dtype.is_numeric():
                fmt, kind = None, "number"
            else:
                fmt, kind = None, "string"
            for r, value in enumerate(series.to_list(), start=1):
                if value is None:
                    continue
                if kind == "datetime":
                    sheet.write_datetime(r, c, value, fmt)
                    width = max(width, 19 if dtype == pl.Datetime else 10)
                elif kind == "boolean":
                    sheet.write_boolean(r, c, value)
                elif kind == "number" and not (
                    isinstance(value, int) and abs(value) > _EXACT_FLOAT_INT
                ):
                    sheet.write_number(r, c, float(value))
                    width = max(width, min(len(str(value)), 15))
                else:
                    text = str(value)
                    sheet.write_string(r, c, text)
                    if r <= 200:
                        width = max(width, _display_width(text[:XLSX_MAX_WIDTH]))
            sheet.set_column(c, c, min(width + 2, XLSX_MAX_WIDTH))
        if df.width:
            sheet.autofilter(0, 0, max(df.height, 1), df.width - 1)
    workbook.close()
    return buf.getvalue()


def _duckdb_source_digest(parquet_entries: list[tuple[str, str]], duckdb_version: str) -> str:
    payload = json.dumps(
        {"duckdb": duckdb_version, "tables": parquet_entries, "format": MANIFEST_FORMAT},
        sort_keys=True,
    )
    return _sha256_bytes(payload.encode("utf-8"))


def _load_duckdb_table(con: Any, table: str, parquet: Path) -> None:
    """Create ``table`` in the DuckDB connection ``con`` from a staged parquet file."""
    literal = str(parquet).replace("'", "''")
    con.execute(f"CREATE TABLE \"{table}\" AS SELECT * FROM read_parquet('{literal}')")


_DUCKDB_CONFIG = {"threads": "1", "memory_limit": "128MB"}
"""One thread (see :class:`_DuckDBBuilder`), and a small memory limit: the file is built while
the build's tables are still in memory, and DuckDB would otherwise keep every loaded block
cached until it closes (+270 MB at 10,000 meetings). At 10,000 meetings 128 MB loads the
tables in about 0.35 CPU-seconds less than 64 MB, with the same peak of the build (its largest
frames are gone by the time DuckDB's cache fills), and the end of the build waits for DuckDB."""


class _DuckDBBuilder:
    """Builds a DuckDB file from staged parquet files in a background thread, a table at a time.

    DuckDB releases the GIL while it loads, so the file is built while the caller makes and
    serialises its next table. One DuckDB thread: each of DuckDB's threads would start row groups
    of its own; on one the file is built about twice as fast and is half the size (measured at
    10,000 meetings). Errors surface from :meth:`finish` (or the next :meth:`add`);
    :meth:`abort` interrupts the load and waits for the thread.
    """

    def __init__(self, path: Path) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.path = path
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="duckdb-build")
        self._futures: list[Any] = []
        self._con: Any = None
        self._stopping = False

    def add(self, table: str, parquet: Path) -> None:
        self._raise_failed()
        self._futures.append(self._pool.submit(self._load, table, parquet))

    def finish(self) -> str:
        """Wait for every table, checkpoint, close and fsync the file; its content digest."""
        self._futures.append(self._pool.submit(self._close))
        try:
            for future in self._futures:
                future.result()
        finally:
            self._pool.shutdown(wait=True)
        return duckdb_content_digest(self.path)

    def abort(self) -> None:
        """Stop loading (interrupting a running statement) and wait for the thread."""
        self._stopping = True
        for future in self._futures:
            future.cancel()
        con = self._con
        if con is not None:
            with contextlib.suppress(Exception):
                con.interrupt()
        self._pool.shutdown(wait=True)
        if self._con is not None:
            with contextlib.suppress(Exception):
                self._con.close()
            self._con = None

    def _raise_failed(self) -> None:
        for future in self._futures:
            if future.done() and not future.cancelled() and future.exception() is not None:
                future.result()

    def _load(self, table: str, parquet: Path) -> None:
        if self._stopping:
            return
        if self._con is None:
            import duckdb

            self._con = duckdb.connect(str(self.path), config=_DUCKDB_CONFIG)
        _load_duckdb_table(self._con, table, parquet)

    def _close(self) -> None:
        if self._con is None:  # no table: still a valid (empty) file
            import duckdb

            self._con = duckdb.connect(str(self.path), config=_DUCKDB_CONFIG)
        con, self._con = self._con, None
        try:
            con.execute("CHECKPOINT")
        finally:
            con.close()
        _fsync_file(self.path)


def duckdb_content_digest(path: Path) -> str:
    """sha256 of a DuckDB file's tables, column names/types and rows (order-free).

    Two files made from the same data give the same digest even though their bytes differ.
    """
    import duckdb

    digest = hashlib.sha256()
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' ORDER BY table_name"
            ).fetchall()
        ]
        for table in tables:
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            digest.update(repr(("table", table, columns)).encode("utf-8"))
            quoted = table.replace('"', '""')
            # Rows are hashed inside DuckDB and summed (order-free, duplicates counted), so the
            # digest costs one scan and no Python per row.
            count, total = con.execute(
                f'SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM "{quoted}" t'
            ).fetchone()
            digest.update(repr(("rows", count, int(total))).encode("utf-8"))
    finally:
        con.close()
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


def _load_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The current manifest, or None if there is none (or it cannot be parsed)."""
    try:
        return read_manifest(out_dir)
    except (FileNotFoundError, OutputError):
        return None


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """Parse ``<out_dir>/MANIFEST.json``.

    Raises FileNotFoundError if there is none and :class:`OutputError` if it is unreadable.
    The result has ``tables`` (names in write order), ``files`` (relative path -> ``sha256``,
    ``size``, ``object``, ``kind`` ...), ``duckdb``, ``excel``, ``metadata`` and ``retired``.
    """
    path = Path(out_dir) / MANIFEST_NAME
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            errno.ENOENT, f"no {MANIFEST_NAME}; run `council build`", str(path)
        ) from None
    except OSError as exc:
        raise _output_error(exc, path, "cannot read the manifest") from exc
    except ValueError as exc:
        raise OutputError(f"{path}: not a valid manifest ({_one_line(str(exc))})") from exc
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise OutputError(f"{path}: not a valid manifest (unknown format)")
    return data


def list_tables(out_dir: Path) -> list[str]:
    """Table names of the committed set, in the order they were written."""
    return list(read_manifest(out_dir)["tables"])


def read_table(out_dir: Path, name: str, *, check: bool = True) -> pl.DataFrame:
    """Read one table of the committed set through the manifest.

    Reads the immutable object the manifest names (so it never sees a half-published set),
    falling back to the published ``<name>.parquet`` if the object is gone but the copy matches.
    With ``check`` the bytes are verified against the manifest's sha256.
    """
    import polars as pl

    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir)
    entry = manifest["files"].get(f"{name}.parquet")
    if entry is None or entry.get("kind") != "parquet":
        raise KeyError(f"{name!r} is not a table in {out_dir} (tables: {manifest['tables']})")
    for candidate in (out_dir / _rel(entry["object"]), out_dir / f"{name}.parquet"):
        try:
            data = candidate.read_bytes()
        except OSError:
            continue
        if check and _sha256_bytes(data) != entry["sha256"]:
            continue
        return pl.read_parquet(io.BytesIO(data))
    raise OutputError(
        f"{out_dir / f'{name}.parquet'}: missing or does not match {MANIFEST_NAME} "
        "(run the build again)"
    )


def _plain_matches(out_dir: Path, rel: str, entry: Mapping[str, Any]) -> bool:
    path = out_dir / _rel(rel)
    if _sha256_file(path) == entry["sha256"]:
        return True
    if entry.get("kind") == "duckdb" and entry.get("content") and path.is_file():
        # Opening council.duckdb read-write may rewrite its header without changing the data.
        try:
            return duckdb_content_digest(path) == entry["content"]
        except Exception:
            return False
    return False


def verify(out_dir: Path) -> list[str]:
    """Check the folder against its manifest; return one line per problem ([] = consistent).

    Reports a missing/unreadable manifest, objects that are missing or corrupt, published files
    whose bytes differ from the manifest (a half-published or edited set) and files of an earlier
    set that are still lying around.
    """
    out_dir = Path(out_dir)
    try:
        manifest = read_manifest(out_dir)
    except (FileNotFoundError, OutputError) as exc:
        return [_one_line(str(exc))]
    problems: list[str] = []
    for rel, entry in manifest["files"].items():
        obj = entry["object"]
        if _sha256_file(out_dir / _rel(obj)) != entry["sha256"]:
            problems.append(f"{obj}: object for {rel} is missing or corrupt")
        if not _plain_matches(out_dir, rel, entry):
            if (out_dir / _rel(rel)).exists():
                problems.append(f"{rel}: differs from {MANIFEST_NAME} (stale or modified)")
            else:
                problems.append(f"{rel}: missing")
    for rel in manifest.get("retired", []):
        if rel not in manifest["files"] and (out_dir / _rel(rel)).exists():
            problems.append(f"{rel}: left over from an earlier build")
    return problems


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _clean_stale(out_dir: Path) -> None:
    """Remove staging folders and temporary files that killed builds left behind."""
    for child in out_dir.glob(STAGING_PREFIX + "*"):
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    for folder in (out_dir, out_dir / EXCEL_DIR):
        if folder.is_dir():
            for tmp in folder.glob(".*" + PUBLISH_SUFFIX):
                tmp.unlink()


def _validate_options(duckdb_name: str, metadata: Mapping[str, str] | None) -> None:
    if (
        not _FILE_NAME.match(duckdb_name)
        or duckdb_name.endswith(".parquet")
        or duckdb_name == MANIFEST_NAME
    ):
        raise ValueError(f"duckdb_name {duckdb_name!r} is not a plain file name")
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("metadata must map str to str")


def _validate_table(name: object, df: object, seen: set[str]) -> None:
    import polars as pl

    if not isinstance(name, str) or not _TABLE_NAME.match(name):
        raise ValueError(f"table name {name!r} must match {_TABLE_NAME.pattern}")
    folded = name.lower()[:31]
    if folded in seen:
        raise ValueError(f"table name {name!r} clashes with another (case or 31-char limit)")
    if not isinstance(df, (pl.DataFrame, ParquetTable)):
        raise TypeError(f"table {name!r} is a {type(df).__name__}, not a polars DataFrame")
    seen.add(folded)


def write_datasets(
    tables: Mapping[str, pl.DataFrame | ParquetTable],
    out_dir: Path,
    *,
    excel: bool = False,
    duckdb_name: str = "council.duckdb",
    metadata: dict[str, str] | None = None,
) -> WriteReport:
    """Write the tables as parquet + DuckDB (+ CSV/xlsx with ``excel``) atomically as a set.

    A table is a polars DataFrame or a :class:`ParquetTable` (the same bytes, serialised by the
    caller beforehand). :class:`DatasetWriter` does the same for tables made one at a time.

    Takes the :class:`BuildLock` (without waiting) unless this process already holds it. Files
    whose content did not change are not rewritten. On a permission, disk-full or similar error
    an :class:`OutputError` with a one-line message is raised and the old set stays as it was
    (unless the error happened after the commit, which the message then says; the next build
    repairs that). See the module docstring for the design.
    """
    if not tables:
        raise ValueError("write_datasets needs at least one table")
    seen: set[str] = set()
    for name, df in tables.items():
        _validate_table(name, df, seen)
    with DatasetWriter(out_dir, excel=excel, duckdb_name=duckdb_name, metadata=metadata) as w:
        for name, df in tables.items():
            w.add(name, df)
        return w.commit()


class DatasetWriter:
    """Write a set of tables one at a time, atomically as a set (see :func:`write_datasets`).

    ::

        with DatasetWriter(out_dir) as writer:
            for name in names:
                writer.add(name, make_table(name))   # serialised into staging at once
            writer.commit(names)                     # the set is published here

    Each table is serialised into the staging folder when it is added, and the DuckDB file is
    built from it in a background thread while the caller makes the next table. Leaving the
    block without :meth:`commit` (an error, Ctrl-C) discards the staged files; the old set
    stays. The build lock is held from entering the block to leaving it.
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        excel: bool = False,
        duckdb_name: str = "council.duckdb",
        metadata: dict[str, str] | None = None,
    ) -> None:
        _validate_options(duckdb_name, metadata)
        self.out_dir = Path(out_dir)
        self.excel = excel
        self.duckdb_name = duckdb_name
        self.metadata = dict(metadata or {})
        self._lock = BuildLock(self.out_dir)
        self._progress = _Progress()
        self._names: list[str] = []
        self._seen: set[str] = set()
        self._entries: dict[str, dict[str, Any]] = {}
        self._staged: dict[str, Path] = {}
        self._old_files: dict[str, Any] = {}
        self._old: dict[str, Any] | None = None
        self._staging: Path | None = None
        self._db: _DuckDBBuilder | None = None
        self._db_pending: list[tuple[str, Path]] = []
        self._db_deferred = False
        self._report: WriteReport | None = None

    # -- the block ---------------------------------------------------------------------------
    def __enter__(self) -> DatasetWriter:
        self._lock.__enter__()
        try:
            with self._errors():
                _clean_stale(self.out_dir)
                self._old = _load_manifest(self.out_dir)
                self._old_files = self._old["files"] if self._old else {}
                previous = self._old_files.get(self.duckdb_name)
                # The old DuckDB file is kept when every table is unchanged: until a table
                # differs, its load is put off rather than started.
                self._db_deferred = bool(
                    previous and previous.get("kind") == "duckdb" and previous.get("source")
                )
                self._staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.out_dir))
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._db is not None:
                self._db.abort()
            if self._staging is not None:
                shutil.rmtree(self._staging, ignore_errors=True)
        finally:
            self._lock.__exit__(None, None, None)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """OSError → one-line :class:`OutputError`; DuckDB's Ctrl-C → KeyboardInterrupt."""
        try:
            yield
        except OSError as exc:
            note = ""
            if self._progress.committed:
                note = "; the new set is committed but some published files are stale: build again"
            raise _output_error(exc, self.out_dir, "cannot write datasets", note) from exc
        except RuntimeError as exc:
            if "interrupted" not in str(exc).lower():
                raise
            # DuckDB turns Ctrl-C (SIGINT) into RuntimeError('Query interrupted'): make it the
            # KeyboardInterrupt it is (no traceback from the command, exit code 130).
            raise KeyboardInterrupt from None

    def _stage(self, rel: str, data: bytes, kind: str, **extra: Any) -> None:
        assert self._staging is not None, "DatasetWriter is used outside its with block"
        path = self._staging / _rel(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_bytes(path, data)
        sha = _sha256_bytes(data)
        self._entries[rel] = {
            "kind": kind,
            "sha256": sha,
            "size": len(data),
            "object": f"{OBJECTS_DIR}/{sha}{Path(rel).suffix}",
            **extra,
        }
        self._staged[rel] = path

    # -- tables ------------------------------------------------------------------------------
    def add(self, name: str, df: pl.DataFrame | ParquetTable) -> None:
        """Serialise one table into staging (and start loading it into the DuckDB file)."""
        _validate_table(name, df, self._seen)
        self._names.append(name)
        with self._errors():
            table = df if isinstance(df, ParquetTable) else ParquetTable.of(df)
            rel = f"{name}.parquet"
            self._stage(
                rel,
                table.data,
                "parquet",
                table=name,
                rows=table.rows,
                columns=[list(column) for column in table.columns],
            )
            if self.excel:
                self._stage(f"{EXCEL_DIR}/{name}.csv", _csv_bytes(_as_frame(df)), "csv", table=name)
            del table
            self._db_pending.append((name, self._staged[rel]))
            old = self._old_files.get(rel)
            if self._db_deferred and old and old.get("sha256") == self._entries[rel]["sha256"]:
                return
            self._load_pending()

    def _load_pending(self) -> None:
        import duckdb

        self._db_deferred = False
        if self._db is None:
            assert self._staging is not None
            self._db = _DuckDBBuilder(self._staging / self.duckdb_name)
        try:
            for name, parquet in self._db_pending:
                self._db.add(name, parquet)
        except duckdb.Error as exc:
            raise _output_error(
                exc, self.out_dir / self.duckdb_name, "cannot write datasets"
            ) from exc
        self._db_pending.clear()

    def commit(self, order: Iterable[str] | None = None) -> WriteReport:
        """Publish the added tables as the new set, listed in ``order`` (default: as added)."""
        import duckdb

        names = list(order) if order is not None else list(self._names)
        if sorted(names) != sorted(self._names):
            raise ValueError(f"commit order {names} is not the tables added {self._names}")
        if not names:
            raise ValueError("write_datasets needs at least one table")
        if self._report is not None:
            raise RuntimeError("DatasetWriter.commit() was already called")
        assert self._staging is not None, "DatasetWriter is used outside its with block"
        out_dir, staging, entries, staged = self.out_dir, self._staging, self._entries, self._staged
        with self._errors():
            if self.excel:
                frames = ((n, _read_parquet(staged[f"{n}.parquet"])) for n in names)
                self._stage(f"{EXCEL_DIR}/{XLSX_NAME}", _xlsx_bytes(frames), "xlsx")

            # The DuckDB file: the old one if it was made from the same parquet files.
            duckdb_name = self.duckdb_name
            source = _duckdb_source_digest(
                [(n, entries[f"{n}.parquet"]["sha256"]) for n in names], duckdb.__version__
            )
            previous = self._old_files.get(duckdb_name)
            if (
                previous is not None
                and previous.get("kind") == "duckdb"
                and previous.get("source") == source
                and _sha256_file(out_dir / _rel(previous["object"])) == previous["sha256"]
            ):
                entries[duckdb_name] = dict(previous)
                if self._db is not None:
                    self._db.abort()
                    self._db = None
            else:
                self._load_pending()
                assert self._db is not None
                db, self._db = self._db, None
                db_path = db.path
                try:
                    content = db.finish()
                except duckdb.Error as exc:
                    raise _output_error(
                        exc, out_dir / duckdb_name, "cannot write datasets"
                    ) from exc
                sha = _sha256_file(db_path)
                if sha is None:
                    raise OSError(errno.EIO, "cannot read back the DuckDB file", str(db_path))
                entries[duckdb_name] = {
                    "kind": "duckdb",
                    "sha256": sha,
                    "size": db_path.stat().st_size,
                    "object": f"{OBJECTS_DIR}/{sha}{Path(duckdb_name).suffix or '.duckdb'}",
                    "source": source,
                    "content": content,
                }
                staged[duckdb_name] = db_path
            _fsync_dir(staging)
            self._report = self._publish_set(names)
        return self._report

    def _publish_set(self, names: list[str]) -> WriteReport:
        out_dir, entries, staged = self.out_dir, self._entries, self._staged
        old, old_files = self._old, self._old_files
        assert self._staging is not None

        # Move new content into the content-addressed object store.
        objects = out_dir / OBJECTS_DIR
        objects.mkdir(exist_ok=True)
        moved = False
        for rel, entry in entries.items():
            obj = out_dir / _rel(entry["object"])
            if _sha256_file(obj) == entry["sha256"]:
                continue
            os.replace(staged[rel], obj)
            moved = True
        if moved:
            _fsync_dir(objects)

        # Commit: replace MANIFEST.json in one rename.
        retired = sorted(
            rel
            for rel in set(old_files) | set(old.get("retired", []) if old else [])
            if rel not in entries and (out_dir / _rel(rel)).exists()
        )
        manifest = {
            "format": MANIFEST_FORMAT,
            "tables": names,
            "duckdb": self.duckdb_name,
            "excel": self.excel,
            "list_separator": LIST_SEPARATOR,
            "metadata": self.metadata,
            "files": entries,
            "retired": retired,
        }
        data = _manifest_bytes(manifest)
        manifest_path = out_dir / MANIFEST_NAME
        try:
            current = manifest_path.read_bytes()
        except OSError:
            current = None
        if current != data:
            _write_bytes(self._staging / MANIFEST_NAME, data)
            os.replace(self._staging / MANIFEST_NAME, manifest_path)
            _fsync_dir(out_dir)
        self._progress.committed = True

        # Publish plain copies; remove what the new set no longer has.
        written, unchanged = _publish(out_dir, manifest)
        removed = []
        for rel in retired:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(out_dir / _rel(rel))
                removed.append(rel)
        excel_dir = out_dir / EXCEL_DIR
        if not self.excel and excel_dir.is_dir() and not any(excel_dir.iterdir()):
            excel_dir.rmdir()
        if removed:
            _fsync_dir(out_dir)
        keep = {entry["object"] for entry in entries.values()}
        keep |= {entry["object"] for entry in old_files.values()}
        for obj in sorted(objects.iterdir()):
            if f"{OBJECTS_DIR}/{obj.name}" not in keep:
                os.unlink(obj)
        return WriteReport(
            written=sorted(written),
            unchanged=sorted(unchanged),
            manifest_path=manifest_path,
            removed=removed,
        )


def _read_parquet(path: Path) -> pl.DataFrame:
    import polars as pl

    return pl.read_parquet(path)


class _Progress:
    """Where a write got to, for the error message."""

    committed = False


def _publish(out_dir: Path, manifest: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Make every published file match the manifest, copying from the objects where needed."""
    written: list[str] = []
    unchanged: list[str] = []
    touched: set[Path] = set()
    for rel, entry in manifest["files"].items():
        if _plain_matches(out_dir, rel, entry):
            unchanged.append(rel)
            continue
        target = out_dir / _rel(rel)
        target.parent.mkdir(exist_ok=True)
        tmp = target.with_name(f".{target.name}{PUBLISH_SUFFIX}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        _copy_file(out_dir / _rel(entry["object"]), tmp)
        os.replace(tmp, target)
        touched.add(target.parent)
        written.append(rel)
    for folder in sorted(touched):
        _fsync_dir(folder)
    return written, unchanged


def repair(out_dir: Path) -> list[str]:
    """Republish the plain files from the committed set (after a crash); return what changed."""
    out_dir = Path(out_dir)
    with BuildLock(out_dir):
        manifest = read_manifest(out_dir)
        try:
            _clean_stale(out_dir)
            written, _ = _publish(out_dir, manifest)
            for rel in manifest.get("retired", []):
                if rel not in manifest["files"]:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(out_dir / _rel(rel))
                        written.append(rel)
        except OSError as exc:
            raise _output_error(exc, out_dir, "cannot repair datasets") from exc
    return sorted(written)


def _iter_files(out_dir: Path) -> Iterator[str]:
    """Published (non-hidden) files under ``out_dir``, as relative posix paths (for tests)."""
    for path in sorted(out_dir.rglob("*")):
        rel = path.relative_to(out_dir)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            yield rel.as_posix()
