"""Headless Chromium, kept off the network: PDFs of reports, DOM dumps and screenshots for tests.

Chromium is optional. :func:`find_chromium` looks for it (``COUNCIL_CHROMIUM`` first, then
``chromium``, ``chromium-browser``, ``google-chrome``, ``chrome`` and ``msedge`` on the PATH, then
the usual Windows install folders); without it :func:`print_pdf` raises
:class:`BrowserMissing`, whose message is one line saying what to install.

Every run gets a fresh profile folder and flags that stop Chromium's own background traffic and
send anything else to a dead proxy and a resolver that finds nothing (:func:`offline_flags`):
a page that tried to load something from the network would fail visibly instead of quietly
working on a machine with internet. ``isolate=True`` additionally runs Chromium in a new network
namespace (``unshare -n``, or ``unshare -rn`` when not root) where there is no network at all;
the tests use it where the kernel allows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

NAMES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "msedge",
)
_WINDOWS = (
    r"Google\Chrome\Application\chrome.exe",
    r"Chromium\Application\chrome.exe",
    r"Microsoft\Edge\Application\msedge.exe",
)
INSTALL_HINT = (
    "Chromium not found, so no PDF was written (HTML is fine): install it "
    "(Debian: apt-get install chromium) or set COUNCIL_CHROMIUM to the browser's path"
)


class BrowserMissing(RuntimeError):
    """No Chromium-family browser was found."""


class BrowserError(RuntimeError):
    """Chromium ran but did not produce what was asked."""


def find_chromium() -> str | None:
    """The browser to use, or None."""
    env = os.environ.get("COUNCIL_CHROMIUM")
    if env:
        return env if (Path(env).is_file() or shutil.which(env)) else None
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    if os.name == "nt":  # pragma: no cover - Windows only
        for base in filter(
            None, (os.environ.get(v) for v in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA"))
        ):
            for rel in _WINDOWS:
                path = Path(base) / rel
                if path.is_file():
                    return str(path)
    return None


def require_chromium() -> str:
    path = find_chromium()
    if path is None:
        raise BrowserMissing(INSTALL_HINT)
    return path


def offline_flags(profile: Path) -> list[str]:
    """Flags for a headless run that reaches nothing on the network."""
    flags = [
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--disable-domain-reliability",
        "--disable-breakpad",
        "--disable-quic",
        "--metrics-recording-only",
        "--mute-audio",
        "--hide-scrollbars",
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return flags


@lru_cache(maxsize=1)
def isolation_prefix() -> tuple[str, ...]:
    """``("unshare", "-n")`` (or ``-rn``) when a network namespace can be made here, else ()."""
    unshare = shutil.which("unshare")
    if not unshare:
        return ()
    for prefix in ((unshare, "-n"), (unshare, "-rn")):
        try:
            done = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return prefix
    return ()


def file_url(path: Path, query: str = "") -> str:
    url = Path(path).resolve().as_uri()
    return f"{url}?{query}" if query else url


def run_chromium(
    args: list[str],
    *,
    timeout: float = 120,
    isolate: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the browser headless with :func:`offline_flags` plus ``args``; output captured."""
    browser = require_chromium()
    profile = Path(tempfile.mkdtemp(prefix="council-chromium-"))
    try:
        prefix = list(isolation_prefix()) if isolate else []
        cmd = [*prefix, browser, *offline_flags(profile), *args]
        try:
            return subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise BrowserError(f"Chromium did not finish within {timeout:.0f} s") from exc
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _last_lines(text: str, n: int = 3) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-n:])


def print_pdf(
    html_path: Path,
    pdf_path: Path,
    *,
    query: str = "",
    budget_ms: int = 15000,
    timeout: float = 180,
    isolate: bool = False,
) -> Path:
    """Print ``html_path`` to ``pdf_path`` (A4 from the page's own ``@page`` rule).

    Chromium's own header and footer (date, file path) are left off: the page's print sheet
    draws the running head and page numbers. Charts are given ``budget_ms`` of (virtual) time
    to draw first. Written to a temporary name and renamed, so a half-written PDF never sits
    under the real name. ``query`` is added to the address (``print-pdf`` for a reveal deck).
    """
    pdf_path = Path(pdf_path)
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=pdf_path.parent, prefix=f".{pdf_path.stem}.", suffix=".pdf")
    os.close(fd)
    try:
        done = run_chromium(
            [
                "--no-pdf-header-footer",
                "--run-all-compositor-stages-before-draw",
                f"--virtual-time-budget={budget_ms}",
                f"--print-to-pdf={tmp}",
                file_url(html_path, query),
            ],
            timeout=timeout,
            isolate=isolate,
        )
        data = Path(tmp).read_bytes() if Path(tmp).is_file() else b""
        if not data.startswith(b"%PDF"):
            raise BrowserError(
                f"Chromium wrote no PDF for {Path(html_path).name} (exit {done.returncode}): "
                f"{_last_lines(done.stderr)}"
            )
        from analysis.render.notebook import readable_mode

        os.chmod(tmp, readable_mode())
        os.replace(tmp, pdf_path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return pdf_path


def dump_dom(
    path_or_url: Path | str,
    *,
    budget_ms: int = 10000,
    timeout: float = 120,
    isolate: bool = False,
    env: dict[str, str] | None = None,
) -> str:
    """The page's DOM after its scripts ran (``--dump-dom``)."""
    url = path_or_url if isinstance(path_or_url, str) else file_url(path_or_url)
    done = run_chromium(
        [f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
        timeout=timeout,
        isolate=isolate,
        env=env,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise BrowserError(
            f"--dump-dom failed (exit {done.returncode}): {_last_lines(done.stderr)}"
        )
    return done.stdout


def screenshot(
    path_or_url: Path | str,
    png_path: Path,
    *,
    size: tuple[int, int] = (1200, 1600),
    budget_ms: int = 10000,
    timeout: float = 120,
    isolate: bool = False,
    env: dict[str, str] | None = None,
) -> Path:
    """A PNG of the page's first ``size`` pixels (``--screenshot``)."""
    url = path_or_url if isinstance(path_or_url, str) else file_url(path_or_url)
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.unlink(missing_ok=True)
    done = run_chromium(
        [
            f"--window-size={size[0]},{size[1]}",
            f"--virtual-time-budget={budget_ms}",
            "--run-all-compositor-stages-before-draw",
            f"--screenshot={png_path}",
            url,
        ],
        timeout=timeout,
        isolate=isolate,
        env=env,
    )
    if not png_path.is_file():
        raise BrowserError(
            f"--screenshot wrote nothing (exit {done.returncode}): {_last_lines(done.stderr)}"
        )
    return png_path
