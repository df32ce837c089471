"""Strict YAML loading for scenario files, with a line and column for every node.

Theory of operation: bytes are size-checked and decoded as strict UTF-8, then PyYAML *composes*
the text into a node tree (never constructs Python objects from it, so no tag can run code). A
composer hook bounds the nesting depth, wraps every alias so its own position is kept, and marks
explicit tags. Our own iterative walk then turns the nodes into plain data while it knows the JSON
path of every node, and refuses what YAML reads surprisingly: duplicate and non-string keys, merge
keys, tags, YAML 1.1 booleans (`no`), octal/hex/sexagesimal/underscored numbers, exponents, NaN and
infinity (the rules for one scalar are in yaml_scalars.py). YAML floats become `Decimal` built
from the source text, never from a binary float. Aliases are expanded with a node budget and a
depth bound, so an alias bomb or a recursive alias ends with a problem, not a hang or a
RecursionError. Every problem the walk can find is collected and raised together as one
`ScenarioLoadError`.

That is the reference path. Most scenario files take a fast path to the very same document:
libyaml's C parser produces the events, and one pass turns them into data, positions and sources
(see "the fast path" below). Whatever it is not sure to read exactly like the reference path,
every document with a problem included, it leaves to the reference path, which alone reports.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from peak_trade.execution.live.regular_files import open_regular
from peak_trade.harness.errors import Problem, ScenarioLoadError
from peak_trade.harness.yaml_scalars import _TAG, _plain_value, _Refused, _scalar_value

__all__ = ["LoadedDocument", "load_scenario_file", "load_scenario_text"]

JsonPath = tuple[str | int, ...]

EMPTY_FILE_MESSAGE = (
    "the file is empty: a scenario is a mapping with id, title, config, broker, steps and expect"
)

_BOM = "\ufeff"
_SECRETS_PATH = ("config", "secrets")
_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HIDDEN_REFUSAL = (
    "this value cannot be read as written; write a secret as a string in quotes "
    "(not shown: it sits under config.secrets)"
)
_HIDDEN_KEY = (
    "the names of secrets must be plain strings such as api_key "
    "(this key is not shown: it sits under config.secrets)"
)

# Scalars whose source text is worth keeping for hints: numbers in any notation, booleans, nulls.
_LITERAL_LOOKING = re.compile(
    r"[-+]?(?:[0-9][0-9_]*\.?[0-9_]*|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?i:inf|nan)|(?i:y|n|yes|no|on|off|true|false|null|~)"
)
_ANCHORS = re.compile(r"^(?:&\S+\s+)+")


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """A scenario document as plain data, with the source position of every node.

    Paths are JSON path tuples (`("steps", 3, "submit", "qty")`); positions are 1-based
    (line, col). `positions` holds the position of each VALUE node (for an alias: the `*alias`),
    `key_positions` the position of the KEY of each mapping entry.
    """

    path: str
    data: dict[str, object]
    positions: Mapping[JsonPath, tuple[int, int]]
    key_positions: Mapping[JsonPath, tuple[int, int]]
    sources: Mapping[JsonPath, str]
    sha256: str = ""  # of the bytes that were loaded, secrets redacted (`scenario_digest`)
    size: int = 0  # how many bytes were loaded (the work model charges echoes of the file)
    # With `keep_going`: what strict loading refused without losing the document's shape (a
    # duplicate key, a YAML 1.1 boolean, a tag...), and the pointers of the values it left as
    # null placeholders, so that the schema's complaints about those are not reported twice.
    problems: tuple[Problem, ...] = ()
    placeholders: tuple[str, ...] = ()

    def locate(self, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """Position of `path` (its key when `key` is true), else of its nearest known ancestor."""
        here = tuple(path)
        if key and here in self.key_positions:
            return self.key_positions[here]
        while True:
            if here in self.positions:
                return self.positions[here]
            if not here:
                return (1, 1)
            here = here[:-1]


def json_pointer(path: Sequence[str | int]) -> str:
    """RFC 6901 pointer for a path tuple; the root is "/" so that it is never empty."""
    parts = (str(part).replace("~", "~0").replace("/", "~1") for part in path)
    return "/" + "/".join(parts)


def load_scenario_file(
    path: str | Path,
    *,
    max_bytes: int = 1_048_576,
    max_nodes: int = 100_000,
    max_depth: int = 64,
    keep_going: bool = False,
) -> LoadedDocument:
    """Read and strictly load one scenario file; raises `ScenarioLoadError` with all problems.

    With `keep_going`, problems that leave the document's shape intact are returned in the
    document's `problems` instead (see `load_scenario_text`)."""
    display = str(path)
    try:
        # Only a regular file: a FIFO would block open() forever, a device never ends.
        with open_regular(path) as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > max_bytes:
                raise ScenarioLoadError([_file_problem(display, _too_big(max_bytes, size))])
            raw = stream.read(max_bytes + 1)
        if len(raw) > max_bytes:  # the file grew after fstat()
            raise ScenarioLoadError([_file_problem(display, _too_big(max_bytes, None))])
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ScenarioLoadError(
            [_file_problem(display, f"cannot read the file: {reason}")]
        ) from None
    return load_scenario_text(
        raw,
        path=display,
        max_bytes=max_bytes,
        max_nodes=max_nodes,
        max_depth=max_depth,
        keep_going=keep_going,
    )


def load_scenario_text(
    text_or_bytes: str | bytes,
    *,
    path: str = "<string>",
    max_bytes: int = 1_048_576,
    max_nodes: int = 100_000,
    max_depth: int = 64,
    keep_going: bool = False,
) -> LoadedDocument:
    """Strictly load scenario YAML given as text or UTF-8 bytes; `path` is only for messages.

    A syntax error, a bound reached or a top level that is not a mapping always raises. The walk's
    own refusals (duplicate keys, YAML 1.1 booleans, tags, merge keys, refused numbers) raise too,
    unless `keep_going`: then the document is returned with them in `problems`, each refused
    value a null placeholder, so the caller can also report the schema's problems of the file.

    A `ScenarioLoadError` carries (and is redacted with) the values under `config.secrets` as
    far as the document could be read: from the walk, else from its lines.
    """
    try:
        return _load_text(text_or_bytes, path, max_bytes, max_nodes, max_depth, keep_going)
    except ScenarioLoadError as error:
        raise error.with_secrets(_secrets_in_raw(text_or_bytes, max_bytes)) from None


def _secrets_in_raw(text_or_bytes: str | bytes, max_bytes: int) -> list[str]:
    from peak_trade.harness.secret_screen import secrets_in_text  # only for a failing document

    if isinstance(text_or_bytes, bytes):
        text = text_or_bytes[: max_bytes + 1].decode("utf-8", "replace")
    else:
        text = text_or_bytes[: max_bytes + 1]
    return secrets_in_text(text)


def _load_text(
    text_or_bytes: str | bytes,
    path: str,
    max_bytes: int,
    max_nodes: int,
    max_depth: int,
    keep_going: bool = False,
) -> LoadedDocument:
    if isinstance(text_or_bytes, str):
        size = len(text_or_bytes.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise ScenarioLoadError([_file_problem(path, _too_big(max_bytes, size))])
        text = text_or_bytes.removeprefix(_BOM)
    else:
        if len(text_or_bytes) > max_bytes:
            raise ScenarioLoadError([_file_problem(path, _too_big(max_bytes, len(text_or_bytes)))])
        text = _decode(text_or_bytes, path)
    fast = _load_fast(text, max_depth, max_nodes)
    if fast is not None:
        return _document(path, fast.root, fast, text_or_bytes)
    # The reference path: every document the fast path passes on, and every message, come from it.
    root = _compose(text, path, max_depth, max_nodes)
    if root is None or (
        isinstance(root, ScalarNode) and root.tag == _TAG + "null" and root.value == ""
    ):
        raise ScenarioLoadError([Problem(file=path, line=1, col=1, message=EMPTY_FILE_MESSAGE)])
    if not isinstance(root, MappingNode):
        line, col = _position(root.start_mark)
        message = f"the top level must be a mapping, found {_node_kind(root)}"
        raise ScenarioLoadError(
            [Problem(file=path, line=line, col=col, message=message, json_path="/")]
        )
    walk = _Walk(path, text, max_nodes, max_depth)
    data = walk.run(root)
    if walk.problems:
        # One report per spot in the text, even when aliases reach it along several paths.
        unique = {(p.line, p.col, p.message): p for p in reversed(walk.problems)}
        found = tuple(unique[key] for key in sorted(unique))
        if not keep_going or walk.stopped:
            raise ScenarioLoadError(found, secrets=walk.secrets)
        document = _document(path, data, walk, text_or_bytes)
        return dataclasses.replace(
            document, problems=found, placeholders=tuple(dict.fromkeys(walk.placeholders))
        )
    return _document(path, data, walk, text_or_bytes)


def _document(
    path: str, data: dict[str, object], tables: _Walk | _FastBuilder, text_or_bytes: str | bytes
) -> LoadedDocument:
    raw = text_or_bytes if isinstance(text_or_bytes, bytes) else text_or_bytes.encode()
    return LoadedDocument(
        path=path,
        data=data,
        positions=tables.positions,
        key_positions=tables.key_positions,
        sources=tables.sources,
        sha256=scenario_digest(raw, _secrets_in_data(data)),
        size=len(raw),
    )


def _secrets_in_data(data: object) -> list[str]:
    from peak_trade.harness.secret_screen import secrets_in_data

    return secrets_in_data(data)


def scenario_digest(raw: bytes, secrets: Sequence[str]) -> str:
    """SHA-256 of a scenario file's bytes with every configured secret redacted.

    The evidence records it, so it must not let anyone test guesses of a secret against it: a
    plain hash of the file would (a short secret falls in a second). With the secrets replaced by
    the redaction marker, in every spelling redaction knows, the digest still changes with every
    other byte of the file, and a file without secrets hashes exactly as `sha256sum` would.
    """
    if secrets:
        from peak_trade.execution.live.audit_trail.redaction import Redactor

        text = raw.decode("utf-8", "surrogateescape")
        redacted = Redactor(secrets, lenient=True).redact_text(text)
        raw = redacted.encode("utf-8", "surrogateescape")
    return hashlib.sha256(raw).hexdigest()


# --- reading and composing ---------------------------------------------------------------------


def _file_problem(path: str, message: str) -> Problem:
    return Problem(file=path, line=1, col=1, message=message)


def _too_big(max_bytes: int, size: int | None) -> str:
    if size is None:
        return f"the file is over the limit of {max_bytes} bytes"
    return f"the file is {size} bytes, over the limit of {max_bytes} bytes"


def _decode(raw: bytes, path: str) -> str:
    body = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = body.rfind(b"\n", 0, exc.start) + 1
        line = body.count(b"\n", 0, exc.start) + 1
        col = len(body[line_start : exc.start].decode("utf-8")) + 1
        message = (
            f"the file is not valid UTF-8: cannot decode byte 0x{body[exc.start]:02x} "
            f"({exc.reason})"
        )
        raise ScenarioLoadError([Problem(file=path, line=line, col=col, message=message)]) from None


class _AliasNode:
    """An `*alias` as it appears in the text: its own position, and the anchored node it names."""

    __slots__ = ("anchor", "end_mark", "start_mark", "target")

    def __init__(self, target: Node, event: AliasEvent) -> None:
        self.target = target
        self.anchor = event.anchor
        self.start_mark = event.start_mark
        self.end_mark = event.end_mark


class _ComposeLimit(yaml.composer.ComposerError):
    pass


class _StrictComposer(yaml.SafeLoader):
    """SafeLoader whose composer bounds depth, keeps alias positions and marks explicit tags."""

    def __init__(self, stream: str, max_depth: int, max_nodes: int) -> None:
        super().__init__(stream)
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.depth = 0
        self.nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            return _AliasNode(super().compose_node(parent, index), event)
        if self.depth > self.max_depth:
            message = f"nesting deeper than {self.max_depth} levels"
            raise _ComposeLimit(None, None, message, event.start_mark)
        self.nodes += 1
        if self.nodes > self.max_nodes:
            message = f"the document has more than {self.max_nodes} nodes"
            raise _ComposeLimit(None, None, message, event.start_mark)
        self.depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if isinstance(event, ScalarEvent | CollectionStartEvent) and event.tag is not None:
            node.explicit_tag = event.tag
        return node


def _compose(text: str, path: str, max_depth: int, max_nodes: int) -> Node | None:
    composer = None
    try:
        composer = _StrictComposer(
            text, max_depth, max_nodes
        )  # the reader checks characters right here
        return composer.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise ScenarioLoadError([_syntax_problem(exc, path)]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        message = f"the control character U+{exc.character:04X} is not allowed in YAML"
        raise ScenarioLoadError([Problem(file=path, line=line, col=col, message=message)]) from None
    except RecursionError:
        message = "nesting too deep to read"
        raise ScenarioLoadError([_file_problem(path, message)]) from None
    finally:
        if composer is not None:
            composer.dispose()


# --- the fast path: libyaml's events, straight to plain data -----------------------------------
#
# PyYAML's pure-Python scanner and parser take most of the time of a load. libyaml (the C parser
# PyYAML wraps) produces the same events several times faster, but its error messages differ and
# it reads a few rare inputs differently. So the fast path is an optimisation only: it takes plain
# printable ASCII text ending in a line break (no tabs, no carriage returns, no unterminated last
# line: where the two parsers' marks and whitespace rules differ), builds in one pass what
# `_StrictComposer` and `_Walk` would build (data, positions, key positions, sources) under the
# same bounds, and leaves the document to the reference path at the first sign of anything else:
# a YAML error, a tag, an anchor or alias, a second document, a bound reached, a root that is not
# a mapping, or anything the walk would report (a duplicate or non-string key, a merge key, a
# refused scalar). Inside flow collections it also leaves plain scalars holding a `?` (libyaml
# keeps them whole, PyYAML ends them there) and empty values (libyaml places them at the next
# token, PyYAML right after the `:`). The tests compare its documents with the reference path's
# on the scenario library, the bad-input corpus and generated YAML.

_FAST_TEXT = re.compile(r"(?:[\x20-\x7e]*\n)*")
# libyaml accepts a comment right after a block scalar's indicators (`|-#`); PyYAML refuses it.
_BLOCK_HEADER_COMMENT = re.compile(r"[|>][-+1-9]{0,2}#")
_MERGE = _TAG + "merge"
_STR = _TAG + "str"
_QUOTED_OR_PLAIN = ("'", '"', None)
try:
    from yaml._yaml import CParser as _CParser
except ImportError:  # PyYAML built without libyaml: every document takes the reference path
    _CParser = None


class _NotFast(Exception):
    """The document is for the reference path."""


def _load_fast(text: str, max_depth: int, max_nodes: int) -> _FastBuilder | None:
    """The document as the reference path would load it, or None to let the reference load it."""
    if (
        _CParser is None
        or _StrictComposer.yaml_path_resolvers
        or not _FAST_TEXT.fullmatch(text)
        or _BLOCK_HEADER_COMMENT.search(text)
    ):
        return None
    parser = _CParser(text)
    try:
        return _FastBuilder(text, max_depth, max_nodes).build(parser.get_event)
    except (yaml.YAMLError, _NotFast, _Refused):
        return None
    finally:
        parser.dispose()


class _FastBuilder:
    """`_StrictComposer` and `_Walk` in one pass over the events of a document they accept."""

    def __init__(self, text: str, max_depth: int, max_nodes: int) -> None:
        self.text = text
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.visited = 0  # nodes and keys, as the composer and the walk count them
        self.root: Any = None
        self.positions: dict[JsonPath, tuple[int, int]] = {}
        self.key_positions: dict[JsonPath, tuple[int, int]] = {}
        self.sources: dict[JsonPath, str] = {}
        # Open collections: [the dict or list, its path, the key awaiting its value or None].
        self.open: list[list[Any]] = []
        self.flow = 0  # how many of them are flow collections

    def build(self, next_event: Any) -> _FastBuilder:
        documents = 0
        while True:
            event = next_event()
            kind = type(event)
            if kind is ScalarEvent:
                self.scalar(event)
            elif kind is MappingStartEvent:
                self.start(event, {})
            elif kind is SequenceStartEvent:
                self.start(event, [])
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                self.flow -= self.open.pop()[3]
            elif kind is AliasEvent:
                raise _NotFast
            elif kind is DocumentStartEvent:
                documents += 1
                if documents > 1:  # a second document
                    raise _NotFast
            elif kind is StreamEndEvent:
                if type(self.root) is not dict:  # empty, or not a mapping
                    raise _NotFast
                return self

    def enter(self, event: Any) -> tuple[int, int]:
        """The composer's checks for a node (keys included); its position."""
        if event.anchor is not None or event.tag is not None or len(self.open) > self.max_depth:
            raise _NotFast
        self.visited += 1
        if self.visited > self.max_nodes:
            raise _NotFast
        return (event.start_mark.line + 1, event.start_mark.column + 1)

    def scalar(self, event: ScalarEvent) -> None:
        where = self.enter(event)
        source, style = event.value, event.style or None  # libyaml's plain style is ""
        if self.flow and style is None and (not source or "?" in source):
            raise _NotFast
        tag = _resolve_scalar(source, event.implicit)
        top = self.open[-1] if self.open else None
        if _wants_key(top):
            self.key(top, source, style, tag, where)  # type: ignore[arg-type]
            return
        path = _child_path(top)
        value = _plain_value(source, style, tag)
        self.positions[path] = where
        if (style is None and (type(value) is not str or tag != _STR)) or (
            style in _QUOTED_OR_PLAIN and _LITERAL_LOOKING.fullmatch(source)
        ):
            written = self.text[event.start_mark.index : event.end_mark.index]
            self.sources[path] = _ANCHORS.sub("", written)
        self.attach(top, value)

    def key(self, top: list[Any], source: str, style: str | None, tag: str, where: Any) -> None:
        """`_Walk.mapping_children` and `_Walk.key` for a key it accepts."""
        if tag == _MERGE and style is None:
            raise _NotFast
        key = _plain_value(source, style, tag)
        if type(key) is not str or key in top[0]:  # not a string, or a duplicate
            raise _NotFast
        top[0][key] = None  # its place in the mapping's order, as the walk gives it
        self.key_positions[(*top[1], key)] = where
        top[2] = key

    def start(self, event: Any, container: dict[str, object] | list[object]) -> None:
        where = self.enter(event)
        top = self.open[-1] if self.open else None
        if _wants_key(top):  # a mapping or a list as a key: the walk refuses it
            raise _NotFast
        path = _child_path(top)
        self.positions[path] = where
        self.attach(top, container)
        flow = 1 if event.flow_style else 0
        self.open.append([container, path, None, flow])
        self.flow += flow

    def attach(self, top: list[Any] | None, value: object) -> None:
        if top is None:
            self.root = value
        elif type(top[0]) is dict:
            top[0][top[2]] = value
            top[2] = None
        else:
            top[0].append(value)


def _wants_key(top: list[Any] | None) -> bool:
    """Whether the next node in the open collection `top` is a mapping key."""
    return top is not None and type(top[0]) is dict and top[2] is None


def _child_path(top: list[Any] | None) -> JsonPath:
    """The path of the next node in the open collection `top` (the root's when None)."""
    if top is None:
        return ()
    container, path, key = top[0], top[1], top[2]
    return (*path, key) if type(container) is dict else (*path, len(container))


def _resolve_scalar(value: str, implicit: tuple[bool, bool]) -> str:
    """The tag `_StrictComposer` (a SafeLoader) resolves for an untagged scalar."""
    if implicit[0]:
        resolvers = _StrictComposer.yaml_implicit_resolvers
        for key in (value[0] if value else "", None):  # by first character, then wildcards
            for tag, pattern in resolvers.get(key, ()):
                if pattern.match(value):
                    return tag
    return _STR


def _syntax_problem(exc: yaml.MarkedYAMLError, path: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    if exc.context == "while scanning a quoted scalar" and exc.context_mark is not None:
        mark = exc.context_mark  # where the quote opens, not the end of the file
    line, col = _position(mark) if mark is not None else (1, 1)
    context = exc.context or ""
    message = exc.problem or context or "invalid YAML"
    if context.startswith("found duplicate anchor") and exc.context_mark is not None:
        first = "line {}, column {}".format(*_position(exc.context_mark))
        anchor = context.removeprefix("found duplicate anchor ").removesuffix("; first occurrence")
        message = f"duplicate anchor {anchor} (first defined at {first})"
    elif context == "expected a single document in the stream":
        message = "found a second YAML document; a scenario file holds exactly one"
    elif exc.problem and context:
        where = ""
        if exc.context_mark is not None and exc.context_mark is not mark:
            where = " at line {}, column {}".format(*_position(exc.context_mark))
        message = f"{exc.problem} ({context}{where})"
    return Problem(file=path, line=line, col=col, message=_with_hint(message, exc))


# (a fragment of PyYAML's problem or context, the fix to suggest), first match wins.
_SYNTAX_HINTS = (
    ("'\\t'", "YAML does not allow tabs for indentation; indent with spaces"),
    (
        "while scanning a quoted scalar",
        "a quoted string is not closed: add the closing quote where the value ends (and write a "
        "quote inside the string as '' in single quotes or \\\" in double quotes)",
    ),
    (
        "mapping values are not allowed here",
        "check the indentation of this line, or quote a value that contains ': '",
    ),
    (
        "could not find expected ':'",
        "a key needs a ':' after it: check this line and the one before for a missing colon, "
        "or indent a value that continues on this line",
    ),
    (
        "expected <block end>",
        "check the indentation: this line is not aligned with the keys or items around it",
    ),
    ("while parsing a block mapping", "check the indentation: keys of one mapping line up"),
    (
        "while parsing a block collection",
        "check the indentation: every item of a list starts with '- ' in the same column",
    ),
    (
        "while parsing a flow sequence",
        "a [ ... ] list is not closed or lacks a comma: end it with ']' and separate its items "
        "with ', '",
    ),
    (
        "while parsing a flow mapping",
        "a { ... } mapping is not closed or lacks a comma: end it with '}' and separate its "
        "entries with ', '",
    ),
    ("found undefined alias", "define the anchor (&name) before the alias (*name) that uses it"),
    (
        "found unknown escape character",
        "in double quotes a backslash starts an escape: write \\\\ for a backslash, or use "
        "single quotes",
    ),
    (
        "cannot start any token",
        "quote the value: it starts with a character YAML reserves (such as @, ` or %)",
    ),
)
_GENERIC_HINT = "check the indentation and the quoting on this line and the one before"


def _with_hint(message: str, exc: yaml.MarkedYAMLError) -> str:
    """The parser's message as a sentence about invalid YAML, with a fix to try."""
    text = f"{message} {exc.problem or ''} {exc.context or ''}"
    hint = next((fix for fragment, fix in _SYNTAX_HINTS if fragment in text), _GENERIC_HINT)
    if isinstance(exc, _ComposeLimit) or message.startswith(("duplicate anchor", "found a second")):
        return message
    return f"invalid YAML: {message}; {hint}"


def _position(mark: yaml.Mark) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def _node_kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    kinds = {"null": "null", "bool": "a boolean", "int": "a number", "float": "a number"}
    kinds["timestamp"] = "a date"
    return kinds.get(node.tag.removeprefix(_TAG), "a string")


def _tag_text(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


# --- the walk ----------------------------------------------------------------------------------

# (node, path, ancestors, via, container, slot): `ancestors` are ids of the collection nodes on
# the path (to spot recursive aliases), `via` the path and position of the first alias on it.
_Task = tuple[Any, JsonPath, tuple[int, ...], Any, Any, Any]


class _Walk:
    def __init__(self, file: str, text: str, max_nodes: int, max_depth: int) -> None:
        self.file = file
        self.text = text
        self.max_nodes = max_nodes
        self.max_depth = max_depth
        self.problems: list[Problem] = []
        self.positions: dict[JsonPath, tuple[int, int]] = {}
        self.key_positions: dict[JsonPath, tuple[int, int]] = {}
        self.sources: dict[JsonPath, str] = {}
        self.visited = 0
        self.secrets: list[str] = []  # every scalar's text under config.secrets, for messages
        self.stopped = False  # a bound ended the walk: the data is incomplete
        self.placeholders: list[str] = []  # pointers of values refused and left null

    def placeholder(self, where: tuple[int, int], path: JsonPath, message: str) -> None:
        """A problem with a value, which stays null in the data."""
        self.problem(where, path, message)
        self.placeholders.append(json_pointer(path))

    def problem(self, where: tuple[int, int], path: JsonPath, message: str) -> None:
        line, col = where
        pointer = json_pointer(path)
        self.problems.append(
            Problem(file=self.file, line=line, col=col, message=message, json_path=pointer)
        )

    def run(self, root: MappingNode) -> dict[str, object]:
        holder: list[Any] = [None]
        stack: list[_Task] = [(root, (), (), None, holder, 0)]
        while stack:
            node, path, ancestors, via, container, slot = stack.pop()
            self.visited += 1
            where = _position(node.start_mark)
            self.positions[path] = where
            if self.visited > self.max_nodes:
                if via is not None:
                    message = f"alias expansion exceeds {self.max_nodes} nodes (alias bomb?)"
                    self.problem(via[1], via[0], message)
                else:
                    self.problem(where, path, f"the document has more than {self.max_nodes} nodes")
                self.stopped = True
                break
            if isinstance(node, _AliasNode):
                if id(node.target) in ancestors:
                    message = f"alias '*{node.anchor}' refers to a node that contains it"
                    self.placeholder(where, path, message + " (recursive alias)")
                    continue
                via = via or (path, where)
                node = node.target
                where = _position(node.start_mark)  # report problems where the text is
            if len(path) > self.max_depth:
                via_path, via_where = via or (path, where)
                self.problem(via_where, via_path, f"nesting deeper than {self.max_depth} levels")
                self.stopped = True
                break
            tag = getattr(node, "explicit_tag", None)
            if tag is not None:
                self.placeholder(where, path, f"tags are not allowed (found {_tag_text(tag)})")
                continue
            inside = (*ancestors, id(node))
            if isinstance(node, MappingNode):
                container[slot] = result = {}
                children = self.mapping_children(node, path, result)
                stack.extend((v, p, inside, via, result, k) for v, p, k in reversed(children))
            elif isinstance(node, SequenceNode):
                container[slot] = items = [None] * len(node.value)
                indexed = list(enumerate(node.value))
                stack.extend((v, (*path, i), inside, via, items, i) for i, v in reversed(indexed))
            else:
                container[slot] = self.scalar(node, path, where)
        return holder[0]

    def mapping_children(
        self, node: MappingNode, path: JsonPath, result: dict[str, object]
    ) -> list[tuple[Any, JsonPath, str]]:
        children: list[tuple[Any, JsonPath, str]] = []
        first_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            self.visited += 1
            key = self.key(key_node, path)
            if key is None:
                continue
            key_path = (*path, key)
            where = _position(key_node.start_mark)
            if key in first_lines:
                message = f"duplicate key '{key}' (first defined at line {first_lines[key]})"
                self.problem(where, key_path, message)
                continue
            first_lines[key] = where[0]
            self.key_positions[key_path] = where
            result[key] = None
            children.append((value_node, key_path, key))
        return children

    def key(self, key_node: Any, path: JsonPath) -> str | None:
        """The key as a string, or None after recording why it cannot be one."""
        where = _position(key_node.start_mark)
        node = key_node.target if isinstance(key_node, _AliasNode) else key_node
        tag = getattr(node, "explicit_tag", None)
        if tag is not None:
            self.problem(where, path, f"tags are not allowed (found {_tag_text(tag)})")
            return None
        if not isinstance(node, ScalarNode):
            self.problem(where, path, f"keys must be strings, found {_node_kind(node)}")
            return None
        if node.tag == _TAG + "merge" and node.style is None:
            message = (
                "merge keys (`<<`) are not allowed; write the keys out in full "
                "(an alias of a whole value, like `key: *anchor`, is fine)"
            )
            self.problem(where, path, message)
            return None
        secret = path[:2] == _SECRETS_PATH
        if secret and not _SECRET_NAME.fullmatch(node.value):
            self.secrets.append(node.value)  # a secret pasted where its name belongs
        try:
            key = _scalar_value(node)
        except _Refused as refused:
            self.problem(where, path, _HIDDEN_KEY if secret else str(refused))
            return None
        if isinstance(key, str):
            return key
        if secret:
            self.problem(where, path, _HIDDEN_KEY)
        elif node.value == "":
            self.problem(where, path, "keys must be strings, found an empty key")
        else:
            found = f"{_node_kind(node)} `{node.value}`"
            message = f"keys must be strings, found {found}; write '{node.value}' in quotes"
            self.problem(where, path, message)
        return None

    def scalar(self, node: ScalarNode, path: JsonPath, where: tuple[int, int]) -> object:
        secret = path[:2] == _SECRETS_PATH
        if secret:
            self.secrets.append(node.value)
        try:
            value = _scalar_value(node)
        except _Refused as refused:
            # The advice quotes the value (and rewrites it); under config.secrets it may not.
            message = _HIDDEN_REFUSAL if secret else str(refused)
            self.placeholder(where, path, message)
            return None
        if (node.style is None and (not isinstance(value, str) or node.tag != _TAG + "str")) or (
            node.style in ("'", '"', None) and _LITERAL_LOOKING.fullmatch(node.value)
        ):
            written = self.text[node.start_mark.index : node.end_mark.index]
            self.sources[path] = _ANCHORS.sub("", written)  # the node starts at its `&anchor`
        return value
