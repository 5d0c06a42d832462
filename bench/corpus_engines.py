"""A migration history advancing on one scratch database, with downs tried at each state.

PostgreSQL and SQLite run DDL in transactions, so a step that fails is rolled back and a down
is tried inside a transaction that is rolled back after reading the catalog: the state
database never needs copying. MariaDB commits DDL as it goes, so a down runs on the state
database itself and the step is then run again; whenever the state is in doubt (a failed step
or down, a re-run that doesn't give the same catalog) the database is rebuilt by replaying the
steps that succeeded. Everything runs on the project's scratch engines (bot.engines).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.engines import Catalog, EngineError, ScratchDatabase, ScratchServer

# Transaction control inside a file: the harness runs each file in its own transaction, as
# golang-migrate, goose, sqlx and others do, so the file's own BEGIN/COMMIT are left out.
_TX_CONTROL = re.compile(
    r"^\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK)"
    r"(\s+(WORK|TRANSACTION|IMMEDIATE|DEFERRED|EXCLUSIVE))?\s*;?\s*$",
    re.IGNORECASE,
)
# PostgreSQL: statements that must run outside a transaction block (CREATE INDEX
# CONCURRENTLY, 25001) or that use an enum value added in the same transaction (55P04).
_NOT_IN_TRANSACTION = frozenset({"25001", "55P04"})
# Re-running a step after its down: rows it inserts may still be there (the down keeps data)
_DATA = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def transaction_control(statement: str) -> bool:
    """Whether a statement only begins or ends a transaction."""
    return bool(_TX_CONTROL.match(statement))


@dataclass
class History:
    """One database on ``server`` at the state of the steps applied so far."""

    server: ScratchServer
    prelude: Sequence[str] = ()
    applied: list[list[str]] = field(default_factory=list)
    rebuilds: int = 0
    _db: ScratchDatabase | None = None
    _dirty: bool = False  # a step ran partly outside a transaction
    _state: Catalog | None = None  # the current state's catalog, once read

    @property
    def transactional(self) -> bool:
        return self.server.dialect in ("postgres", "sqlite")

    @property
    def db(self) -> ScratchDatabase:
        if self._db is None:
            self._db = self.server.new_database()
            self._db.execute(list(self.prelude))
        return self._db

    def catalog(self) -> Catalog:
        """The catalog of the current state."""
        if self._state is None:
            self._state = self.db.catalog()
        return self._state

    def step(self, statements: list[str]) -> EngineError | None:
        """Apply one step; on failure the state stays as it was and the error is returned."""
        before = self.catalog()
        self._dirty = False
        error = self._run(statements)
        if error is None:
            self.applied.append(statements)
            self._state = None
        elif (self._dirty or not self.transactional) and self.db.catalog() != before:
            self._rebuild()
        return error

    def try_down(
        self, statements: list[str], expected: Catalog
    ) -> tuple[Catalog | None, EngineError | None]:
        """The catalog after running ``statements`` at the current state, or the error; the
        state is the same afterwards. ``expected`` is the current state's catalog."""
        if self.transactional:
            try:
                self.db.execute(["BEGIN"])
                self.db.execute(statements)
                return self.db.catalog(), None
            except EngineError as err:
                if err.code not in _NOT_IN_TRANSACTION:
                    return None, err
            finally:
                self._rollback()
            return self._down_outside_transaction(statements)
        try:
            self.db.execute(statements)
            after = self.db.catalog()
        except EngineError as err:
            # MariaDB commits each DDL statement: rebuild only if the failed down changed any
            if self.db.catalog() != expected:
                self._rebuild()
            return None, err
        self._redo_last(expected)
        return after, None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _run(self, statements: list[str]) -> EngineError | None:
        if not self.transactional:
            try:
                self.db.execute(statements)
            except EngineError as err:
                return err
            return None
        try:
            self.db.execute(["BEGIN"])
            self.db.execute(statements)
            self.db.execute(["COMMIT"])
            return None
        except EngineError as err:
            self._rollback()
            if err.code not in _NOT_IN_TRANSACTION:
                return err
        # PostgreSQL statements that refuse a transaction block: run the file statement by
        # statement, as the tools' no-transaction mode does
        self._dirty = True
        try:
            self.db.execute(statements)
        except EngineError as err:
            return err
        return None

    def _down_outside_transaction(
        self, statements: list[str]
    ) -> tuple[Catalog | None, EngineError | None]:
        try:
            self.db.execute(statements)
            return self.db.catalog(), None
        except EngineError as err:
            return None, err
        finally:
            self._rebuild()

    def _redo_last(self, expected: Catalog) -> None:
        if self.applied:
            try:
                for statement in self.applied[-1]:
                    try:
                        self.db.execute([statement])
                    except EngineError:
                        if not _DATA.match(statement):
                            raise
                if self.db.catalog() == expected:
                    return
            except EngineError:
                pass
        self._rebuild()

    def _rollback(self) -> None:
        # no transaction may be open: the failing statement can have ended it
        with contextlib.suppress(EngineError):
            self.db.execute(["ROLLBACK"])

    def _rebuild(self) -> None:
        """A fresh database with the steps that succeeded replayed on it."""
        self.rebuilds += 1
        self.close()
        for statements in self.applied:
            self.db.execute(statements)
