"""Histories replayed once on the scratch PostgreSQL and kept as template databases.

Every plan of a repository proves on the same deployed history (a re-plan, our down and the
author's); a copy of a template (CREATE DATABASE ... TEMPLATE) is one statement where a replay
is hundreds. A template is keyed by everything that decides its content (the statements as
run, in order, the engine's version and session settings), is closed to connections once made
so nothing can change it, and only its copies are written to. The reverted-to history is kept
as its catalog, the one thing a proof reads from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.engines.scratch import EngineError

if TYPE_CHECKING:
    from bot.engines.catalog import Catalog
    from bot.engines.postgres import PostgresDatabase, PostgresServer
    from bot.engines.scratch import ScratchDatabase
    from bot.engines.seed import Seeded

KEPT = 8  # templates per server; a hydra-sized one is about 10 MB on disk
_FORMAT = 1  # what a template holds (the history, then rows by seed()); bump when that changes

log = logging.getLogger(__name__)


def history_key(kind: str, engine: str, session: Sequence[str], statements: Sequence[str]) -> str:
    """The content key of a replayed history: `kind` of state, the engine's version, the
    statements every session runs first (settings, stand-in extensions), the statements."""
    text = json.dumps([_FORMAT, kind, engine, list(session), list(statements)])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Deployed:
    """A replayed history with rows in every table, as the proof reads it before the script."""

    catalog: Catalog
    seeded: Seeded
    rows: Mapping[str, tuple[list[str], list[tuple[Any, ...]]]]


@dataclass(frozen=True)
class TemplateCounts:
    """What the cache did so far, for tests and benchmarks."""

    built: int  # histories replayed into a new template
    served: int  # copies handed to proofs
    spares: int  # of those, copies made ahead, while the worker was idle
    kept: tuple[str, ...]  # template database names, least recently used first
    ready: tuple[str, ...]  # copies made ahead, not handed out yet


@dataclass(frozen=True)
class _Kept:
    template: str
    deployed: Deployed


class Templates:
    """Deployed histories kept as templates on one server, and reverted-to catalogs; the
    least recently used dropped beyond `size`.

    Two locks, always taken in this order when both are: this cache's maps, then the server's
    admin link (shared with the rest of the process). A proof served by a copy made ahead never
    waits for the admin link."""

    def __init__(
        self, server: PostgresServer, admin: threading.Lock, prelude: Sequence[str], size: int
    ) -> None:
        self._server = server
        self._admin = admin
        self._prelude = tuple(prelude)
        self._size = size
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a spare was made or given up
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._catalogs: OrderedDict[str, Catalog] = OrderedDict()
        self._spares: dict[str, PostgresDatabase] = {}  # key -> a copy made ahead, unused
        self._making: set[str] = set()  # keys whose spare is being made
        self._building: dict[str, threading.Lock] = {}
        self._chores: deque[Callable[[], None]] = deque()
        self._idle = threading.Condition()  # guards the chores; notified when none is left
        self._working = False
        self._built = 0
        self._served = 0
        self._spares_served = 0

    def key(self, kind: str, settings: Sequence[str], statements: Sequence[str]) -> str:
        """The key of `statements` replayed on this server after `settings`."""
        return history_key(kind, self._server.version, (*self._prelude, *settings), statements)

    @property
    def counts(self) -> TemplateCounts:
        """Counters and the templates kept, for tests and benchmarks."""
        with self._lock:
            names = tuple(k.template for k in self._kept.values())
            ready = tuple(db.name for db in self._spares.values())
            return TemplateCounts(self._built, self._served, self._spares_served, names, ready)

    def settle(self) -> None:
        """Wait until the copies made ahead and the drops of used copies are done."""
        with self._idle:
            self._idle.wait_for(lambda: not self._working)

    def deployed(
        self, key: str, build: Callable[[PostgresDatabase], Deployed]
    ) -> tuple[ScratchDatabase, Deployed]:
        """A new copy of the template of `key`, which `build` makes on a new database first
        if there is none; and what the template holds. Raises what `build` raises, and
        EngineError when the server refuses to keep or copy a template.

        A used copy is dropped in the background, where the next copy of the same template is
        made ahead too: both are off the next proof's path."""
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:  # one thread builds a key; the others wait for its template
            try:
                if key not in self._kept:
                    self._build(key, build)
            finally:
                with self._lock:
                    if self._building.get(key) is building:
                        del self._building[key]
        with self._lock:
            self._changed.wait_for(lambda: key not in self._making)
            kept = self._kept.get(key)
            if kept is None:
                raise EngineError("CREATE DATABASE ... TEMPLATE", "the template was dropped")
            self._kept.move_to_end(key)
            copy = self._spares.pop(key, None)
            self._served += 1
            self._spares_served += copy is not None
        if copy is None:
            try:
                with self._admin:
                    copy = self._server.new_database(template=kept.template, prelude=self._prelude)
            except EngineError:
                self._forget(key, kept)
                raise
        self._schedule(partial(self._make_spare, key))
        return _Copy(copy, partial(self._schedule, partial(self._drop, copy))), kept.deployed

    def close(self) -> None:
        """Drop every template and copy made ahead (copies handed out are their holders')."""
        self.settle()
        with self._lock:
            kept = list(self._kept.items())
        for key, entry in kept:
            self._forget(key, entry)

    def discard(self, key: str) -> None:
        """Stop handing out the template of `key` (a copy of it failed): the next proof of its
        history builds it again."""
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None:
            self._forget(key, kept)

    def catalog(self, key: str, read: Callable[[], Catalog]) -> Catalog:
        """The catalog of `key`, read by `read` the first time."""
        with self._lock:
            catalog = self._catalogs.get(key)
            if catalog is not None:
                self._catalogs.move_to_end(key)
                return catalog
        catalog = read()
        with self._lock:
            self._catalogs[key] = catalog
            while len(self._catalogs) > self._size:
                self._catalogs.popitem(last=False)
        return catalog

    def _build(self, key: str, build: Callable[[PostgresDatabase], Deployed]) -> None:
        with self._admin:
            db = self._server.new_database(prelude=self._prelude)
        try:
            deployed = build(db)
        except BaseException:
            with self._admin:
                db.close()
            raise
        with self._admin:
            try:
                template = self._server.seal(db)
            except EngineError:
                with contextlib.suppress(EngineError):
                    self._server.drop_template(db.name)
                raise
        evicted: list[tuple[str, _Kept]] = []
        with self._lock:
            self._built += 1
            self._kept[key] = _Kept(template, deployed)
            while len(self._kept) > self._size:
                evicted.append(next(iter(self._kept.items())))
                del self._kept[evicted[-1][0]]
        for old_key, old in evicted:
            self._forget(old_key, old)

    def _forget(self, key: str, kept: _Kept) -> None:
        """Drop a template (and its spare copy) no longer kept, or failing."""
        with self._lock:
            if self._kept.get(key) is kept:
                del self._kept[key]
            spare = self._spares.pop(key, None)
        with self._admin:
            try:
                if spare is not None:
                    spare.close()
                self._server.drop_template(kept.template)
            except EngineError as err:
                # left on the server until it stops; the cache no longer hands it out
                log.warning("could not drop the template %s: %s", kept.template, err.message)

    def _make_spare(self, key: str) -> None:
        with self._lock:
            kept = self._kept.get(key)
            if kept is None or key in self._spares or key in self._making:
                return
            self._making.add(key)
        copy = None
        try:
            with self._admin:
                copy = self._server.new_database(template=kept.template, prelude=self._prelude)
            _warm(copy, kept.deployed)
        finally:
            with self._lock:
                self._making.discard(key)
                if copy is not None and self._kept.get(key) is kept:
                    self._spares[key] = copy
                    copy = None
                self._changed.notify_all()
            if copy is not None:  # its template was dropped meanwhile
                self._drop(copy)

    def _drop(self, db: PostgresDatabase) -> None:
        with self._admin:
            db.close()

    def _schedule(self, chore: Callable[[], None]) -> None:
        """Run `chore` on this cache's worker thread, started when there is work."""
        with self._idle:
            self._chores.append(chore)
            if not self._working:
                self._working = True
                threading.Thread(target=self._work, name="scratch-templates", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._idle:
                if not self._chores:
                    self._working = False
                    self._idle.notify_all()
                    return
                chore = self._chores.popleft()
            try:
                chore()
            except Exception as err:  # a background chore must not die silently: say it
                log.warning("scratch template housekeeping failed: %s", err)


def _warm(db: PostgresDatabase, deployed: Deployed) -> None:
    """Read a copy made ahead as a proof will, so its new session has the catalog and the
    tables cached by then: a cold session reads its first catalog about twice as slowly.
    Reads only; a failure is the proof's to meet and say."""
    tables = deployed.catalog.names("tables")
    with contextlib.suppress(EngineError):
        db.catalog()
        db.queries([f"SELECT * FROM {_quoted(t)} LIMIT 0" for t in tables])


def _quoted(table: str) -> str:
    from bot.engines.postgres import quote_ident

    return ".".join(quote_ident(part) for part in table.split(".", 1))


class _Copy:
    """A copy of a template handed to a proof; its close drops it in the background."""

    dialect = "postgres"

    def __init__(self, db: PostgresDatabase, on_close: Callable[[], None]) -> None:
        self._db = db
        self._on_close: Callable[[], None] | None = on_close

    def execute(self, statements: Sequence[str]) -> None:
        self._db.execute(statements)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self._db.query(sql)

    def queries(self, sqls: Sequence[str]) -> list[list[tuple[Any, ...]]]:
        return self._db.queries(sqls)

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        return self._db.rows(table)

    def catalog(self) -> Catalog:
        return self._db.catalog()

    def fresh_session(self) -> None:
        self._db.fresh_session()

    def close(self) -> None:
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()
