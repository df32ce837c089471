"""Schema errors as located one-sentence problems, in the words of the scenario's author.

Each jsonschema error becomes one sentence at the offending node: unknown keys at the key with a
did-you-mean, missing keys at the mapping that lacks them, value errors as "'qty' must be <noun>,
found <value>". The noun comes from the schema's `x-expected` annotation when the failing
subschema (or one enclosing it at the same instance) has one. For `oneOf`/`anyOf` the branch the
author evidently meant is chosen and its errors are reported, instead of "is not valid under any
of the given schemas". A hint is added when how YAML read the source text explains the error.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urljoin

from jsonschema.exceptions import ValidationError

from peak_trade.harness.decimal_validator import _number_text
from peak_trade.harness.errors import Problem
from peak_trade.harness.loader import JsonPath, LoadedDocument, json_pointer
from peak_trade.harness.secret_screen import HIDDEN, HOLDS_SECRET, SecretScreen, is_secret_path
from peak_trade.harness.yaml_scalars import PLAIN_DECIMAL_ADVICE, yaml11_boolean_hint

_YAML11_BOOLEAN = re.compile(r"(?i:y|n|yes|no|on|off)")
_EXPONENT_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+")
_QUOTED_LITERAL = re.compile(r"""(["'])([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)|(?i:true|false))\1""")
_TYPE_NOUNS = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}
# Keywords whose subschema applies to a child of the instance rather than the instance itself.
_INTO_CHILD = {"properties", "patternProperties", "prefixItems", "additionalProperties", "items"}
_INTO_CHILD |= {"contains", "propertyNames", "unevaluatedItems", "unevaluatedProperties"}
# Past these, an enclosing `x-expected` no longer names the failing value.
_NEW_SUBJECT = _INTO_CHILD | {"oneOf", "anyOf"}
_NAMED = {"properties", "patternProperties", "prefixItems", "dependentSchemas", "$defs"}
_NAMED |= {"allOf", "anyOf", "oneOf"}


class _Explainer:
    def __init__(
        self, doc: LoadedDocument, schema: Mapping[str, Any], screen: SecretScreen | None = None
    ) -> None:
        self.doc = doc
        self.schema = schema
        self.screen = screen if screen is not None else SecretScreen()

    def hidden(self, path: JsonPath, instance: object) -> str | None:
        """Why the value at `path` may not be quoted, or None: a secret is described, never
        repeated (whatever its type), and so is any value holding a configured secret."""
        if is_secret_path(path):
            return HIDDEN
        if self.screen and (
            self.screen.hides(instance) or self.screen.hides(self.doc.sources.get(path, ""))
        ):
            return HOLDS_SECRET
        return None

    def found(self, path: JsonPath, instance: object) -> str:
        """What the author wrote at `path`, as a noun phrase that may quote it unless hidden."""
        why = self.hidden(path, instance)
        if why is None:
            return _describe(instance, self.doc.sources.get(path))
        return f"{_kind(instance)} ({why})"

    def problem(self, path: JsonPath, message: str, *, key: bool = False) -> Problem:
        line, col = self.doc.locate(path, key=key)
        pointer = json_pointer(path)
        return Problem(file=self.doc.path, line=line, col=col, message=message, json_path=pointer)

    def hidden_key_problem(self, path: JsonPath, name: str, message: str) -> Problem:
        """A problem located at key `name` whose pointer stops at its parent: the name may hold a
        secret, and the pointer is printed."""
        line, col = self.doc.locate((*path, name), key=True)
        pointer = json_pointer(path)
        return Problem(file=self.doc.path, line=line, col=col, message=message, json_path=pointer)

    def explain(self, error: ValidationError) -> Iterator[Problem]:
        keyword = error.validator
        path: JsonPath = tuple(error.absolute_path)
        instance = error.instance
        if keyword in ("oneOf", "anyOf") and error.context:
            yield from self.combinator(error, path)
        elif keyword in ("additionalProperties", "unevaluatedProperties"):
            yield from self.unknown_keys(error, path)
        elif keyword == "required" and isinstance(instance, Mapping):
            for name in error.validator_value:
                if name not in instance:
                    yield self.problem(path, f"missing required key '{name}'", key=True)
        elif keyword == "dependentRequired" and isinstance(instance, Mapping):
            for name, needed in error.validator_value.items():
                for other in needed:
                    if name in instance and other not in instance:
                        message = f"key '{name}' requires key '{other}' next to it"
                        yield self.problem((*path, name), message, key=True)
        elif "propertyNames" in error.absolute_schema_path and isinstance(instance, str):
            expected = self.noun(error) or "a valid key"
            if is_secret_path(path) or self.screen.hides(instance):
                # A name that is no name may be the secret itself, pasted one line too high.
                why = HIDDEN if is_secret_path(path) else HOLDS_SECRET
                message = f"a key here must be {expected} (the key is {why})"
                yield self.hidden_key_problem(path, instance, message)
                return
            message = f"key '{instance}' must be {expected}"
            yield self.problem((*path, instance), message, key=True)
        else:
            yield self.problem(path, self.sentence(error, path))

    # oneOf / anyOf: report the branch that was evidently meant.
    def combinator(self, error: ValidationError, path: JsonPath) -> Iterator[Problem]:
        branches: dict[Any, list[ValidationError]] = defaultdict(list)
        for sub in error.context:
            branches[sub.relative_schema_path[0]].append(sub)
        depth = len(path)
        fitting = {
            index: errors
            for index, errors in branches.items()
            if not any(e.validator == "type" and len(e.absolute_path) == depth for e in errors)
        }
        if not fitting:
            expected = self.noun(error) or _join_or(
                _TYPE_NOUNS.get(name, name)
                for errors in branches.values()
                for e in errors
                if e.validator == "type" and len(e.absolute_path) == depth
                for name in _as_list(e.validator_value)
            )
            found = self.found(path, error.instance)
            yield self.problem(path, f"{_subject(path)} must be {expected}, found {found}")
            return
        chosen = min(fitting.items(), key=lambda item: _branch_rank(item[0], item[1], depth))
        for sub in chosen[1]:
            yield from self.explain(sub)

    def unknown_keys(self, error: ValidationError, path: JsonPath) -> Iterator[Problem]:
        instance = error.instance
        if not isinstance(instance, Mapping):
            yield self.problem(path, self.sentence(error, path))
            return
        allowed = _property_names(error.schema, self.schema)
        if error.validator == "additionalProperties":
            patterns = list(error.schema.get("patternProperties", {}))
            extra = [
                name
                for name in instance
                if name not in allowed and not any(re.search(p, name) for p in patterns)
            ]
        else:
            extra = _unexpected_names(error.message) or [n for n in instance if n not in allowed]
        for name in extra:
            if self.screen.hides(name):
                yield self.hidden_key_problem(path, name, f"unknown key ({HOLDS_SECRET})")
                continue
            yield self.problem((*path, name), _unknown_key(name, allowed), key=True)

    def sentence(self, error: ValidationError, path: JsonPath) -> str:
        keyword, value, instance = error.validator, error.validator_value, error.instance
        subject = _subject(path)
        source = self.doc.sources.get(path)
        hidden = self.hidden(path, instance)
        found = self.found(path, instance)
        noun = self.noun(error)
        if hidden:  # hints quote the source text: only advice that repeats nothing is left
            hint = _hidden_hint(instance, keyword, value)
            found = f"{_kind(instance)} ({hidden}; {hint})" if hint else found
            tail = ""
        else:
            hint = _source_hint(source, instance, keyword, value)
            tail = f" ({hint})" if hint else ""
        if keyword == "type":
            expected = noun or _join_or(_TYPE_NOUNS.get(t, t) for t in _as_list(value))
            return f"{subject} must be {expected}, found {found}{tail}"
        if keyword == "enum":
            choices = ", ".join(_show(choice) for choice in value)
            expected = noun or f"one of {choices}"
            suggestion = ""
            if isinstance(instance, str) and not hidden:
                names = [choice for choice in value if isinstance(choice, str)]
                close = difflib.get_close_matches(instance, names, n=1)
                suggestion = f" (did you mean '{close[0]}'?)" if close else ""
            return f"{subject} must be {expected}, found {found}{suggestion}{tail}"
        count = len(instance) if isinstance(instance, Sequence | Mapping) else 0
        plain = {
            "const": lambda: _show(value),
            "pattern": lambda: f"text matching the pattern {value!r}",
            "format": lambda: f"a valid {value}",
            "minimum": lambda: f"at least {_show(value)}",
            "maximum": lambda: f"at most {_show(value)}",
            "exclusiveMinimum": lambda: f"greater than {_show(value)}",
            "exclusiveMaximum": lambda: f"less than {_show(value)}",
            "multipleOf": lambda: f"a multiple of {_show(value)}",
            "minLength": lambda: f"at least {value} characters long",
            "maxLength": lambda: f"at most {value} characters long",
            "minItems": lambda: f"a list of at least {_items(value)}",
            "maxItems": lambda: f"a list of at most {_items(value)}",
            "uniqueItems": lambda: "a list without repeated items",
            "minProperties": lambda: f"a mapping of at least {_keys(value)}",
            "maxProperties": lambda: f"a mapping of at most {_keys(value)}",
            "contains": lambda: "a list with at least one matching item",
        }
        if keyword in plain:
            expected = noun or plain[keyword]()
            if keyword in ("minItems", "maxItems") and isinstance(instance, list):
                found = f"{_items(count)}"
            elif keyword in ("minProperties", "maxProperties") and isinstance(instance, Mapping):
                found = f"{_keys(count)}"
            return f"{subject} must be {expected}, found {found}{tail}"
        if keyword == "items" and value is False and isinstance(instance, list):
            limit = len(error.schema.get("prefixItems", []))
            return f"{subject} must be a list of at most {_items(limit)}, found {_items(count)}"
        if keyword == "oneOf":
            return (
                f"{subject} matches more than one of the allowed forms; it must match exactly one"
            )
        if keyword == "not":
            if noun:
                return f"{subject} must be {noun}, found {found}"
            return f"{subject} must not match {_show(value)}, found {found}"
        if hidden:  # jsonschema's own message quotes the instance
            return f"{subject} is not valid here ({keyword}), found {found}"
        return f"{subject}: {error.message}"

    def noun(self, error: ValidationError) -> str | None:
        """The `x-expected` for the failing value: the outermost one among the schemas that
        describe this same instance since the last branch chosen (a `$ref` site overrides its
        definition), else the one on the subschema holding the failing keyword."""
        same_instance: list[Any] = []
        node: Any = self.schema
        parts = list(error.absolute_schema_path)
        index = hops = 0
        while isinstance(node, Mapping) and index < len(parts) and hops < 32:
            same_instance.append(node)
            part = parts[index]
            if part not in node and "$ref" in node:  # jsonschema leaves "$ref" out of paths
                node = _resolve_local(self.schema, node["$ref"])
                hops += 1
                continue
            hops = 0
            try:
                child = node[part]
                if part in _NAMED and index + 1 < len(parts):
                    index += 1
                    child = child[parts[index]]
            except (KeyError, IndexError, TypeError):
                same_instance = []  # lost the way: trust only the failing subschema
                break
            if part in _NEW_SUBJECT:
                same_instance = []
            node = child
            index += 1
        for candidate in (*same_instance, error.schema):
            if isinstance(candidate, Mapping) and isinstance(candidate.get("x-expected"), str):
                return candidate["x-expected"]
        return None


def _branch_rank(index: Any, errors: list[ValidationError], depth: int) -> tuple[Any, ...]:
    """Smaller is the likelier intended branch: errors deeper inside the instance (it matched
    further), then a misspelt discriminating key close to a required one, then fewer errors."""
    deepest = max(len(e.absolute_path) for e in errors)
    missing = [
        name
        for e in errors
        if e.validator == "required" and len(e.absolute_path) == depth
        for name in e.validator_value
        if isinstance(e.instance, Mapping) and name not in e.instance
    ]
    present = [
        name
        for e in errors
        if len(e.absolute_path) == depth and isinstance(e.instance, Mapping)
        for name in e.instance
    ]
    closeness = max(
        (difflib.SequenceMatcher(None, a, b).ratio() for a in missing for b in present),
        default=0.0,
    )
    return (-deepest, -closeness, len(errors), index)


def _property_names(schema: Any, root: Mapping[str, Any], depth: int = 0) -> list[str]:
    """Property names a mapping schema allows, including those of its combinator branches."""
    if not isinstance(schema, Mapping) or depth > 8:
        return []
    names = list(schema.get("properties", {}))
    for keyword in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(keyword, []):
            names += _property_names(branch, root, depth + 1)
    for keyword in ("then", "else"):
        names += _property_names(schema.get(keyword), root, depth + 1)
    if "$ref" in schema:
        names += _property_names(_resolve_local(root, schema["$ref"]), root, depth + 1)
    return list(dict.fromkeys(names))


def _resolve_local(root: Mapping[str, Any], ref: str) -> Any:
    """The subschema a `$ref` names within `root`, or None when it points elsewhere."""
    base = str(root.get("$id", ""))
    target, _, fragment = urljoin(base, ref).partition("#")
    if target != base.partition("#")[0] or (fragment and not fragment.startswith("/")):
        return None
    node: Any = root
    for token in fragment.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(token)] if isinstance(node, list) else node[token]
        except (KeyError, IndexError, ValueError, TypeError):
            return None
    return node


def _unexpected_names(message: str) -> list[str]:
    match = re.search(r"\((.*) (?:was|were) unexpected\)", message)
    if match is None:
        return []
    try:
        names = ast.literal_eval(f"[{match.group(1)}]")
    except (ValueError, SyntaxError):
        return []
    return [name for name in names if isinstance(name, str)]


def _unknown_key(name: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1)
    if close:
        return f"unknown key '{name}' (did you mean '{close[0]}'?)"
    if allowed:
        return f"unknown key '{name}' (allowed keys: {', '.join(map(repr, allowed))})"
    return f"unknown key '{name}'"


def _subject(path: JsonPath) -> str:
    if not path:
        return "the top level"
    last = path[-1]
    return f"item {last}" if isinstance(last, int) else f"'{last}'"


def _describe(instance: object, source: str | None) -> str:
    """What the author wrote, as a noun phrase."""
    if instance is None:
        return "an empty value" if source == "" else "null"
    if isinstance(instance, bool):
        return f"the boolean {'true' if instance else 'false'}"
    number = _number_text(instance)
    if number is not None:
        return f"the number {number}"
    if isinstance(instance, str):
        shown = instance if len(instance) <= 40 else instance[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(instance, Mapping):
        return "a mapping"
    if isinstance(instance, list):
        return "a list"
    return type(instance).__name__


def _kind(instance: object) -> str:
    """What kind of value `instance` is, without a word about the value itself."""
    if instance is None:
        return "null"
    if isinstance(instance, bool):
        return "a boolean"
    if _number_text(instance) is not None:
        return "a number"
    if isinstance(instance, str):
        return "a string"
    if isinstance(instance, Mapping):
        return "a mapping"
    if isinstance(instance, list):
        return "a list"
    return "a value"


def _hidden_hint(instance: object, keyword: Any, value: Any) -> str:
    """`_source_hint` for a value that may not be quoted: advice that repeats nothing."""
    wants_string = keyword != "type" or "string" in _as_list(value)
    if keyword == "type" and wants_string and not isinstance(instance, str | Mapping | list):
        return "write it in quotes for a string"
    return ""


def _source_hint(source: str | None, instance: object, keyword: Any, value: Any) -> str:
    """Advice when how YAML read the source text explains the error."""
    if source is None:
        return ""
    wants_string = keyword != "type" or "string" in _as_list(value)
    wants_number = keyword == "type" and {"number", "integer"} & set(_as_list(value))
    if isinstance(instance, bool):
        if _YAML11_BOOLEAN.fullmatch(source):
            return yaml11_boolean_hint(source)
        if wants_string:
            return f"`{source}` is read as a boolean; write '{source}' in quotes for a string"
    if instance is None and source and wants_string:
        return f"`{source}` is read as null; write '{source}' in quotes for a string"
    if isinstance(instance, str):
        if _EXPONENT_NUMBER.fullmatch(source):
            return f"YAML reads `{source}` as a string, not a number; {PLAIN_DECIMAL_ADVICE}"
        quoted = _QUOTED_LITERAL.fullmatch(source)
        if quoted and wants_number and quoted.group(2)[-1].isdigit():
            return f"write {quoted.group(2)} without quotes for a number"
        wants_boolean = keyword == "type" and "boolean" in _as_list(value)
        if quoted and wants_boolean and quoted.group(2).lower() in ("true", "false"):
            return f"write {quoted.group(2).lower()} without quotes for a boolean"
    if _number_text(instance) is not None and keyword == "type" and wants_string:
        return f"write '{source}' in quotes for a string"
    return ""


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _join_or(nouns: Any) -> str:
    unique = list(dict.fromkeys(nouns))
    if len(unique) <= 1:
        return unique[0] if unique else "something else"
    return ", ".join(unique[:-1]) + " or " + unique[-1]


def _show(value: object) -> str:
    number = _number_text(value)
    if number is not None:
        return number
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, default=str)


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


def _keys(count: int) -> str:
    return f"{count} key" if count == 1 else f"{count} keys"
