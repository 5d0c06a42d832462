"""Fixtures: a started fake forge and a factory of worlds on it; every world's bot is shut
down and the fake must have seen no request it does not implement."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from socketserver import StreamRequestHandler

import pytest

from tests.e2e.helpers import GitHubWorld, GitLabWorld, World
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab

MakeGitHub = Callable[..., GitHubWorld]
MakeGitLab = Callable[..., GitLabWorld]


def _finish(worlds: list[World]) -> None:
    for world in worlds:
        world.bot.queue.close()
    for world in worlds:
        world.assert_clean()


def _no_nagle(fake: FakeGitHub) -> None:
    """The fake answers HTTP/1.1 keep-alive in two writes (headers, body); with Nagle on,
    the body waits for the client's delayed ACK, 40 ms per request. TCP_NODELAY on its
    connections keeps the whole GitHub run to seconds."""
    server = fake._server
    assert server is not None
    handler = server.RequestHandlerClass
    if isinstance(handler, type) and issubclass(handler, StreamRequestHandler):
        handler.disable_nagle_algorithm = True


@pytest.fixture
def github(tmp_path: Path) -> Iterator[MakeGitHub]:
    worlds: list[World] = []
    with FakeGitHub() as fake:
        _no_nagle(fake)

        def make(*, needs_approval: bool = False, pushed: bool = False) -> GitHubWorld:
            world = GitHubWorld.make(tmp_path, fake, needs_approval=needs_approval, pushed=pushed)
            worlds.append(world)
            return world

        yield make
        _finish(worlds)


@pytest.fixture
def gitlab(tmp_path: Path) -> Iterator[MakeGitLab]:
    worlds: list[World] = []
    with FakeGitLab(hang_s=1.5) as fake:

        def make(*, needs_approval: bool = False, pushed: bool = False) -> GitLabWorld:
            world = GitLabWorld.make(tmp_path, fake, needs_approval=needs_approval, pushed=pushed)
            worlds.append(world)
            return world

        yield make
        _finish(worlds)
