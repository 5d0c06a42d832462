"""A small renderer for the subset of Helm templating the rollback-plan chart uses, so the
chart is rendered and validated without a `helm` binary (none can be installed here).

Supported, with Go text/template semantics: `{{ }}` actions with `{{-`/`-}}` trimming and
`/* */` comments; pipelines with `|`; fields (`.Values.a.b`, `$.Release.Name`, `$var.x`);
string, number and boolean literals; parentheses; `$var :=` declarations scoped to their
block; `if`/`else if`/`else`, `with`/`else`, `range` (lists, and maps in key order, with
`$i, $v :=`); `define` with `include`. Functions: the Sprig and Helm ones listed in `FUNCTIONS`.

Deliberately stricter than Helm where Helm hides mistakes: printing a missing value, a map or
a list is an error (Helm prints `<no value>` or Go's `map[...]`), so is reading a field of a
missing value, a function not in the list, and any other action (`template`, `block`, `tpl`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class TemplateError(Exception):
    """The chart uses something this renderer doesn't support, or rendering failed."""


# -- values --------------------------------------------------------------------------------


def truthy(value: Any) -> bool:
    """Go's template truth: false, 0, nil and empty strings, lists and maps are false."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float | str | list | tuple | dict):
        return bool(value)
    return True


def go_string(value: Any) -> str:
    """How `{{ value }}` prints a scalar; anything else is refused (use toYaml)."""
    if value is None:
        raise TemplateError("printing a missing value (Helm would print <no value>)")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    raise TemplateError(f"printing a {type(value).__name__}: use toYaml")


def merge_values(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`helm --set`/`-f` semantics: maps merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


# -- lexing --------------------------------------------------------------------------------

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<raw>`[^`]*`)
    | (?P<declare>:=)
    | (?P<assign>=)
    | (?P<punct>[()|,])
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
    | (?P<dot>\.)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def lex(source: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    source = source.rstrip()
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if not match or match.end() == pos:
            raise TemplateError(f"cannot read {source[pos:]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append(Token(kind, match.group(kind)))
        pos = match.end()
    return tokens


# -- syntax tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Field:
    base: str  # "." for the dot, "$" or "$name" for a variable
    path: tuple[str, ...]


@dataclass(frozen=True)
class Function:
    name: str


@dataclass(frozen=True)
class Pipeline:
    commands: tuple[tuple[Operand, ...], ...]
    declare: tuple[str, ...] = ()  # variables set by `$x :=` (or `$i, $v :=` in range)


Operand = Literal | Field | Function | Pipeline


@dataclass
class Text:
    text: str


@dataclass
class Action:
    pipeline: Pipeline


@dataclass
class Branch:
    """if/with/range: the body runs for a truthy pipeline, `otherwise` for the rest."""

    keyword: str
    pipeline: Pipeline
    body: list[Node] = field(default_factory=list)
    otherwise: list[Node] = field(default_factory=list)


Node = Text | Action | Branch


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise TemplateError("unexpected end of action")
        self.pos += 1
        return token

    def pipeline(self, allow_declare: bool = True) -> Pipeline:
        declare: list[str] = []
        if allow_declare:
            declare = self._declaration()
        commands: list[tuple[Operand, ...]] = []
        while True:
            commands.append(self._command())
            token = self.peek()
            if token is None or token.text == ")":
                break
            if token.text != "|":
                raise TemplateError(f"unexpected {token.text!r}")
            self.take()
        return Pipeline(tuple(commands), tuple(declare))

    def _declaration(self) -> list[str]:
        names: list[str] = []
        start = self.pos
        while (token := self.peek()) is not None and token.kind == "var" and "." not in token.text:
            names.append(self.take().text)
            nxt = self.peek()
            if nxt is not None and nxt.kind == "declare":
                self.take()
                return names
            if nxt is not None and nxt.kind == "assign":
                raise TemplateError("variable assignment with = is not supported")
            if nxt is None or nxt.text != ",":
                break
            self.take()
        self.pos = start
        return []

    def _command(self) -> tuple[Operand, ...]:
        operands: list[Operand] = []
        while (token := self.peek()) is not None and token.text not in ("|", ")"):
            operands.append(self._operand())
        if not operands:
            raise TemplateError("empty command")
        return tuple(operands)

    def _operand(self) -> Operand:
        token = self.take()
        if token.kind == "string":
            return Literal(json.loads(token.text))
        if token.kind == "raw":
            return Literal(token.text[1:-1])
        if token.kind == "number":
            return Literal(float(token.text) if "." in token.text else int(token.text))
        if token.kind == "dot":
            return Field(".", ())
        if token.kind == "field":
            return Field(".", tuple(token.text[1:].split(".")))
        if token.kind == "var":
            base, *path = token.text.split(".")
            return Field(base, tuple(path))
        if token.kind == "ident":
            if token.text in ("true", "false"):
                return Literal(token.text == "true")
            if token.text == "nil":
                return Literal(None)
            return Function(token.text)
        if token.text == "(":
            inner = self.pipeline(allow_declare=False)
            if self.take().text != ")":
                raise TemplateError("unclosed parenthesis")
            return inner
        raise TemplateError(f"unexpected {token.text!r}")


def parse_pipeline(source: str) -> Pipeline:
    parser = _Parser(lex(source))
    pipeline = parser.pipeline()
    if parser.peek() is not None:
        raise TemplateError(f"unexpected {parser.peek()!r} in {source!r}")
    return pipeline


def _pieces(source: str) -> Iterator[tuple[str, str]]:
    """("text", s) and ("action", s) in order, with `{{-` / `-}}` trimming applied."""
    pieces: list[tuple[str, str]] = []
    trim_next = False
    pos = 0
    for match in _ACTION.finditer(source):
        text = source[pos : match.start()]
        if trim_next:
            text = text.lstrip(" \t\r\n")
        if match.group(1):
            text = text.rstrip(" \t\r\n")
        pieces.append(("text", text))
        pieces.append(("action", match.group(2).strip()))
        trim_next = bool(match.group(3))
        pos = match.end()
    tail = source[pos:]
    pieces.append(("text", tail.lstrip(" \t\r\n") if trim_next else tail))
    return iter(pieces)


@dataclass(frozen=True)
class _ElseIf:
    """Marks the else-branch of a chain whose inner `if` is open, so `end` closes both."""

    owner: Branch


def parse(source: str) -> tuple[list[Node], dict[str, list[Node]]]:
    """A template's top-level nodes, and the bodies of the templates it `define`s."""
    defines: dict[str, list[Node]] = {}
    # each open block: (nodes being filled, the Branch or define name it belongs to)
    stack: list[tuple[list[Node], Branch | _ElseIf | str | None]] = [([], None)]
    for kind, content in _pieces(source):
        nodes = stack[-1][0]
        if kind == "text":
            if content:
                nodes.append(Text(content))
            continue
        if content.startswith("/*"):
            if not content.endswith("*/"):
                raise TemplateError(f"unclosed comment {content[:40]!r}")
            continue
        keyword, _, rest = content.partition(" ")
        rest = rest.strip()
        if keyword in ("if", "with", "range"):
            branch = Branch(keyword, parse_pipeline(rest))
            nodes.append(branch)
            stack.append((branch.body, branch))
        elif keyword == "else":
            owner = stack[-1][1]
            if not isinstance(owner, Branch) or stack[-1][0] is owner.otherwise:
                raise TemplateError("else without if/with/range")
            stack.pop()
            if rest.startswith("if "):
                # `else if X` is an `if` nested in the else branch, closed by the same end
                inner = Branch("if", parse_pipeline(rest[3:]))
                owner.otherwise.append(inner)
                stack.append((owner.otherwise, _ElseIf(owner)))
                stack.append((inner.body, inner))
            elif rest:
                raise TemplateError(f"unsupported else form: {content!r}")
            else:
                stack.append((owner.otherwise, owner))
        elif keyword == "end":
            if len(stack) == 1:
                raise TemplateError("end without a block")
            stack.pop()
            # an `else if` chain ends with the outer block too
            while isinstance(stack[-1][1], _ElseIf):
                stack.pop()
        elif keyword == "define":
            name = json.loads(rest)
            body: list[Node] = []
            defines[name] = body
            stack.append((body, name))
        elif keyword in ("template", "block", "break", "continue"):
            raise TemplateError(f"{keyword!r} actions are not supported")
        else:
            nodes.append(Action(parse_pipeline(content)))
    if len(stack) != 1:
        raise TemplateError("a block is not closed with end")
    return stack[0][0], defines


# -- evaluation ----------------------------------------------------------------------------


class _Scope:
    def __init__(self, dot: Any, parent: _Scope | None = None, root: Any = None):
        self.dot = dot
        self.parent = parent
        self.root: Any = root if parent is None else parent.root
        self.variables: dict[str, Any] = {}

    def child(self, dot: Any) -> _Scope:
        return _Scope(dot, self)

    def lookup(self, name: str) -> Any:
        if name == "$":
            return self.root
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.variables:
                return scope.variables[name]
            scope = scope.parent
        raise TemplateError(f"undefined variable {name}")


def _field(value: Any, path: tuple[str, ...], description: str) -> Any:
    for name in path:
        if value is None:
            raise TemplateError(f"{description}: nil pointer evaluating .{name}")
        if not isinstance(value, Mapping):
            raise TemplateError(f"{description}: .{name} of a {type(value).__name__}")
        value = value.get(name)
    return value


def _indent(width: int, text: str) -> str:
    pad = " " * width
    return pad + text.replace("\n", "\n" + pad)


def _to_yaml(value: Any) -> str:
    if value is None:
        return "null"
    return str(yaml.safe_dump(value, default_flow_style=False, sort_keys=True)).rstrip("\n")


def _quote(*values: Any) -> str:
    return " ".join(json.dumps(go_string(v), ensure_ascii=False) for v in values if v is not None)


def _printf(fmt: str, *args: Any) -> str:
    values = iter(args)

    def verb(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        value = next(values)
        if match.group(1) == "q":
            return json.dumps(go_string(value))
        return go_string(value)

    return re.sub(r"%([sdvq%])", verb, fmt)


def _required(message: str, value: Any) -> Any:
    if value is None or value == "":
        raise TemplateError(f"required: {message}")
    return value


def _fail(message: str) -> Any:
    raise TemplateError(f"fail: {message}")


def _trunc(length: int, text: str) -> str:
    return text[:length] if length >= 0 else text[length:]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "quote": _quote,
    "squote": lambda *v: " ".join(f"'{go_string(x)}'" for x in v if x is not None),
    "default": lambda fallback, value=None: value if truthy(value) else fallback,
    "required": _required,
    "fail": _fail,
    "toYaml": _to_yaml,
    "toString": go_string,
    "indent": _indent,
    "nindent": lambda width, text: "\n" + _indent(width, text),
    "trunc": _trunc,
    "trim": lambda text: text.strip(),
    "trimSuffix": lambda suffix, text: text.removesuffix(suffix),
    "trimPrefix": lambda prefix, text: text.removeprefix(prefix),
    "replace": lambda old, new, text: text.replace(old, new),
    "contains": lambda part, text: part in text,
    "hasPrefix": lambda prefix, text: text.startswith(prefix),
    "lower": lambda text: text.lower(),
    "printf": _printf,
    "not": lambda value: not truthy(value),
    "empty": lambda value: not truthy(value),
    "eq": lambda first, *others: any(first == other for other in others),
    "ne": lambda a, b: a != b,
}


class Chart:
    """A chart directory: Chart.yaml, values.yaml and templates/."""

    def __init__(self, path: Path):
        self.path = path
        self.metadata: dict[str, Any] = yaml.safe_load((path / "Chart.yaml").read_text())
        self.values: dict[str, Any] = yaml.safe_load((path / "values.yaml").read_text())
        self.templates: dict[str, list[Node]] = {}
        self.defines: dict[str, list[Node]] = {}
        for file in sorted((path / "templates").iterdir()):
            if not file.is_file():
                continue
            try:
                nodes, defines = parse(file.read_text())
            except TemplateError as err:
                raise TemplateError(f"{file.name}: {err}") from None
            for name in defines:
                if name in self.defines:
                    raise TemplateError(f"{file.name}: {name!r} defined twice")
            self.defines.update(defines)
            if not file.name.startswith("_"):
                self.templates[file.name] = nodes

    def render(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        release: str = "rp",
        namespace: str = "default",
    ) -> dict[str, str]:
        """Each template's output, like `helm template`, by file name."""
        context = {
            "Values": merge_values(self.values, overrides or {}),
            "Release": {
                "Name": release,
                "Namespace": namespace,
                "Service": "Helm",
                "IsInstall": True,
                "IsUpgrade": False,
            },
            "Chart": {
                "Name": self.metadata["name"],
                "Version": self.metadata["version"],
                "AppVersion": self.metadata.get("appVersion", ""),
            },
        }
        out: dict[str, str] = {}
        for name, nodes in self.templates.items():
            try:
                out[name] = self._run(nodes, _Scope(context, root=context))
            except TemplateError as err:
                raise TemplateError(f"{name}: {err}") from None
        return out

    def manifests(self, overrides: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """The Kubernetes objects the chart renders to (NOTES.txt and empty documents left out)."""
        docs: list[dict[str, Any]] = []
        for name, text in self.render(overrides).items():
            if not name.endswith((".yaml", ".yml")):
                continue
            for doc in yaml.safe_load_all(text):
                if doc is None:
                    continue
                if not isinstance(doc, dict):
                    raise TemplateError(f"{name}: a document is not a mapping: {doc!r}")
                docs.append(doc)
        return docs

    # -- evaluation ------------------------------------------------------------------------

    def _run(self, nodes: list[Node], scope: _Scope) -> str:
        out: list[str] = []
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, Action):
                value = self._pipeline(node.pipeline, scope)
                if not node.pipeline.declare:
                    out.append(go_string(value))
            else:
                out.append(self._branch(node, scope))
        return "".join(out)

    def _branch(self, node: Branch, scope: _Scope) -> str:
        inner = scope.child(scope.dot)
        if node.keyword == "range":
            return self._range(node, scope)
        value = self._pipeline(node.pipeline, inner)
        if not truthy(value):
            return self._run(node.otherwise, scope.child(scope.dot))
        if node.keyword == "with":
            inner.dot = value
        return self._run(node.body, inner)

    def _range(self, node: Branch, scope: _Scope) -> str:
        pipeline = Pipeline(node.pipeline.commands)
        collection = self._pipeline(pipeline, scope)
        if collection is None:
            items: list[tuple[Any, Any]] = []
        elif isinstance(collection, Mapping):
            items = [(key, collection[key]) for key in sorted(collection)]
        elif isinstance(collection, list | tuple):
            items = list(enumerate(collection))
        else:
            raise TemplateError(f"range over a {type(collection).__name__}")
        if not items:
            return self._run(node.otherwise, scope.child(scope.dot))
        names = node.pipeline.declare
        out: list[str] = []
        for key, value in items:
            inner = scope.child(value)
            if len(names) == 1:
                inner.variables[names[0]] = value
            elif len(names) == 2:
                inner.variables[names[0]] = key
                inner.variables[names[1]] = value
            out.append(self._run(node.body, inner))
        return "".join(out)

    def _pipeline(self, pipeline: Pipeline, scope: _Scope) -> Any:
        value: Any = None
        for index, command in enumerate(pipeline.commands):
            piped = () if index == 0 else (value,)
            value = self._command(command, scope, piped)
        if pipeline.declare:
            if len(pipeline.declare) != 1:
                raise TemplateError("only range declares two variables")
            scope.variables[pipeline.declare[0]] = value
        return value

    def _command(self, command: tuple[Operand, ...], scope: _Scope, piped: tuple[Any, ...]) -> Any:
        head, *args = command
        if not isinstance(head, Function):
            if args or piped:
                raise TemplateError("a value cannot take arguments or a pipe")
            return self._operand(head, scope)
        name = head.name
        if name in ("and", "or"):
            # Go evaluates and/or lazily, returning the deciding operand
            operands = [*args, *(Literal(v) for v in piped)]
            result: Any = None
            for operand in operands:
                result = self._operand(operand, scope)
                if truthy(result) != (name == "and"):
                    return result
            return result
        values = [self._operand(arg, scope) for arg in args] + list(piped)
        if name == "include":
            if len(values) != 2:
                raise TemplateError("include takes a name and a context")
            return self._include(values[0], values[1])
        function = FUNCTIONS.get(name)
        if function is None:
            raise TemplateError(f"function {name!r} is not supported")
        try:
            return function(*values)
        except TypeError as err:
            raise TemplateError(f"{name}: {err}") from None

    def _operand(self, operand: Operand, scope: _Scope) -> Any:
        if isinstance(operand, Literal):
            return operand.value
        if isinstance(operand, Pipeline):
            return self._pipeline(operand, scope)
        if isinstance(operand, Function):
            return self._command((operand,), scope, ())
        base = scope.dot if operand.base == "." else scope.lookup(operand.base)
        return _field(base, operand.path, f"{operand.base}.{'.'.join(operand.path)}")

    def _include(self, name: str, context: Any) -> str:
        body = self.defines.get(name)
        if body is None:
            raise TemplateError(f"include of undefined template {name!r}")
        return self._run(body, _Scope(context, root=context))
