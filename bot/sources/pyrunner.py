"""Run a repository's own Python tool (Alembic's offline mode) in a sandboxed subprocess.

It executes repository code, so callers only use it when the operator allowed that. The
sandbox is practical, not a security boundary: a checkout of the commit in a temporary
directory, an environment with none of our variables (tokens, secrets), stdin closed, a
timeout that kills the whole process group, and bounded output.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a repository is only passed through: GitPython stays out of `schema`/`diff`
    import git

TIMEOUT_SECONDS = 120.0
MAX_OUTPUT_BYTES = 32 * 1024 * 1024
PYTHON_ENV = "ROLLBACK_PLAN_PYTHON"  # the interpreter to run the repository's tool with
# Only these of our variables reach the tool: where programs are, and how text is encoded.
_KEPT = ("PATH", "LANG", "LC_ALL", "TZ")


class RunError(RuntimeError):
    """The tool could not run or failed; the message says why in one line. `partial` is
    what it printed on stdout before that."""

    def __init__(self, message: str, partial: str = "", *, stopped: bool = False) -> None:
        super().__init__(message)
        self.partial = partial
        self.stopped = stopped  # killed (timeout, output size): running it again won't help


@dataclass(frozen=True)
class Sandbox:
    """How the repository's tool runs."""

    python: str = sys.executable
    timeout: float = TIMEOUT_SECONDS
    max_output: int = MAX_OUTPUT_BYTES


@contextmanager
def checkout(repo: git.Repo, sha: str, paths: Sequence[str] = ()) -> Iterator[Path]:
    """The tree of `sha` (or only `paths` of it) in a temporary directory, removed afterwards.
    `git archive`: the repository itself (index, worktrees, refs) is never touched."""
    with tempfile.TemporaryDirectory(prefix="rollback-plan-") as tmp:
        root = Path(tmp) / "tree"
        root.mkdir()
        archive = Path(tmp) / "tree.tar"
        cmd = ["git", "--git-dir", repo.git_dir, "archive", "--format=tar", "-o", str(archive)]
        proc = subprocess.run(
            [*cmd, sha, "--", *paths],
            capture_output=True,
            env={**{k: os.environ[k] for k in _KEPT if k in os.environ}, "GIT_NO_LAZY_FETCH": "1"},
            check=False,
        )
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise RunError(
                f"git archive of {sha[:12]} failed: {err[-1] if err else proc.returncode}"
            )
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")  # no links or paths out of the directory
        archive.unlink()
        yield root


def run_tool(
    args: Sequence[str],
    root: Path,
    sandbox: Sandbox,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> str:
    """stdout of `python <args>` run in `cwd` (default: `root`, the checkout, which is also
    on the import path); a RunError when it fails, hangs past the timeout or prints more
    than allowed (saying why)."""
    home = root.parent / "home"
    home.mkdir(exist_ok=True)
    clean = {k: os.environ[k] for k in _KEPT if k in os.environ}
    clean |= {
        "HOME": str(home),
        "PYTHONPATH": str(root),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    try:
        proc = subprocess.Popen(
            [sandbox.python, *args],
            cwd=cwd or root,
            env=clean,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: a timeout kills its children too
        )
    except OSError as exc:
        raise RunError(f"cannot start {sandbox.python}: {exc.strerror}") from None
    out, err, why = _collect(proc, sandbox)
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RunError(f"printed bytes that are not UTF-8 text (offset {exc.start})") from None
    if why is not None:
        raise RunError(why, text, stopped=True)
    if proc.returncode != 0:
        raise RunError(_last_words(err) or f"exited with status {proc.returncode}", text)
    return text


def _collect(proc: subprocess.Popen[bytes], sandbox: Sandbox) -> tuple[bytes, bytes, str | None]:
    """Both streams, until the process ends, the deadline passes or the output is too big."""
    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    total = 0
    why = None
    deadline = time.monotonic() + sandbox.timeout
    with selectors.DefaultSelector() as sel:
        for stream in (proc.stdout, proc.stderr):
            os.set_blocking(stream.fileno(), False)
            sel.register(stream, selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                why = f"did not finish within {sandbox.timeout:g}s: stopped"
                break
            for key, _ in sel.select(left):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                total += len(data)
                chunks[key.fd].append(data)
            if total > sandbox.max_output:
                why = f"printed more than {sandbox.max_output // (1024 * 1024)} MB: stopped"
                break
    if why is not None:
        _kill(proc)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    return b"".join(chunks[out_fd]), b"".join(chunks[err_fd]), why


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _last_words(stderr: bytes) -> str:
    """What went wrong, on one line: the exception that ended the last traceback (its
    message may span lines), else the last line of stderr."""
    lines = [ln.rstrip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    start = max((i for i, ln in enumerate(lines) if ln.startswith("Traceback (")), default=-1)
    if start >= 0:
        tail = lines[start + 1 :]
        # frames are indented; the exception starts at the first line after them that isn't
        last_frame = max((i for i, ln in enumerate(tail) if ln[:1].isspace()), default=-1)
        words = " ".join(ln.strip() for ln in tail[last_frame + 1 :])
    else:
        words = lines[-1].strip() if lines else ""
    return words[:500]
