"""A small reader for the block-style YAML of the repository's manifests (PyYAML is not a dependency).

It reads what ``monitoring/`` uses: ``---`` documents, comments, block mappings and sequences
(including mappings inside ``- `` items), plain, single- and double-quoted scalars, and one-line
flow collections (``["gunicorn", "--config"]``, ``{a: 1}``). Everything else (anchors, aliases, tags,
``|``/``>`` block scalars, multi-line scalars or flow collections) raises ``YamlSubsetError`` rather
than being guessed at, and so do the YAML 1.1 booleans (``yes``, ``on``, ...) that Kubernetes and
Prometheus would read as true/false: quote them. Empty documents are left out.
"""

import json
import re

_PLAIN_KEY = r"[^\s\"'#\[\]{},&*!|>%@`-][^:#]*?|-[^\s:#][^:#]*?"
_QUOTED = r"\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*'"
_ENTRY = re.compile(rf"^(?P<key>{_QUOTED}|{_PLAIN_KEY})\s*:(?:\s+(?P<value>.*))?$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")
_YAML11_BOOLS = {"y", "yes", "n", "no", "on", "off"}


class YamlSubsetError(ValueError):
    """The text is not in the subset this reader understands."""


def load_all(text):
    """The non-empty documents of ``text``, as dicts, lists and scalars."""
    documents, lines = [], []
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.rstrip() in ("---", "..."):
            documents.append(lines)
            lines = []
            continue
        line = _strip_comment(raw).rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        if line[indent] == "\t":
            raise YamlSubsetError(f"line {number}: tab in indentation")
        lines.append((number, indent, line.strip()))
    documents.append(lines)
    return [_Block(lines).document() for lines in documents if lines]


def _strip_comment(line):
    """``line`` without a trailing ``# comment`` (a ``#`` at the start or after a space, unquoted)."""
    quote, escaped = None, False
    for index, char in enumerate(line):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'" and (index == 0 or line[index - 1] in " -:[{,"):
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index]
    return line


class _Block:
    """Recursive descent over (line number, indent, text) triples of one document."""

    def __init__(self, lines):
        self.lines = list(lines)
        self.pos = 0

    def document(self):
        value = self.block(self.lines[0][1])
        if self.pos != len(self.lines):
            raise YamlSubsetError(f"line {self.lines[self.pos][0]}: unexpected indentation")
        return value

    def block(self, indent):
        text = self.lines[self.pos][2]
        return self.sequence(indent) if _is_item(text) else self.mapping(indent)

    def nested(self, indent):
        """The block under a ``key:`` or ``-`` line at ``indent``; a sequence may sit at the key's indent."""
        if self.pos < len(self.lines):
            _, inner, text = self.lines[self.pos]
            if inner > indent or (inner == indent and _is_item(text)):
                return self.block(inner)
        return None

    def mapping(self, indent):
        result = {}
        while self.pos < len(self.lines):
            number, inner, text = self.lines[self.pos]
            if inner < indent or (inner == indent and _is_item(text)):
                break
            if inner > indent:
                raise YamlSubsetError(f"line {number}: unexpected indentation")
            match = _ENTRY.match(text)
            if not match:
                raise YamlSubsetError(f"line {number}: expected 'key: value', got {text!r}")
            key = _scalar(match["key"].strip(), number)
            if key in result:
                raise YamlSubsetError(f"line {number}: duplicate key {key!r}")
            self.pos += 1
            value = match["value"]
            result[key] = self.nested(indent) if not value else _value(value, number)
        return result

    def sequence(self, indent):
        items = []
        while self.pos < len(self.lines):
            number, inner, text = self.lines[self.pos]
            if inner < indent or not _is_item(text):
                break
            if inner > indent:
                raise YamlSubsetError(f"line {number}: unexpected indentation")
            rest = text[1:].lstrip(" ")
            if not rest:
                self.pos += 1
                items.append(self.nested(indent + 1))
            elif _is_item(rest) or _ENTRY.match(rest):
                # "- key: value": the item is a block starting at the key's column.
                self.lines[self.pos] = (number, inner + len(text) - len(rest), rest)
                items.append(self.block(self.lines[self.pos][1]))
            else:
                self.pos += 1
                items.append(_value(rest, number))
        return items


def _is_item(text):
    return text == "-" or text.startswith("- ")


def _value(text, number):
    """A scalar or a one-line flow collection."""
    if text[0] in "[{":
        value, end = _flow(text, 0, number)
        if text[end:].strip():
            raise YamlSubsetError(f"line {number}: text after a flow collection")
        return value
    return _scalar(text, number)


def _scalar(text, number):
    if text[0] == '"':
        if not re.fullmatch(r'"(?:[^"\\]|\\.)*"', text):
            raise YamlSubsetError(f"line {number}: bad double-quoted string")
        return json.loads(text)
    if text[0] == "'":
        if not re.fullmatch(r"'(?:[^']|'')*'", text):
            raise YamlSubsetError(f"line {number}: bad single-quoted string")
        return text[1:-1].replace("''", "'")
    if text[0] in "&*!|>%@`":
        raise YamlSubsetError(f"line {number}: unsupported YAML ({text[0]!r})")
    if text.lower() in _YAML11_BOOLS:
        raise YamlSubsetError(f"line {number}: {text!r} is a boolean in YAML 1.1; quote it")
    if text in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return text.lower() == "true"
    if text in ("null", "Null", "NULL", "~"):
        return None
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


def _flow(text, index, number):
    """Parse a flow value starting at ``index``; return it and the index after it."""
    index = _skip_spaces(text, index)
    if index >= len(text):
        raise YamlSubsetError(f"line {number}: unterminated flow collection")
    opener = text[index]
    if opener not in "[{":
        end = index
        if opener in "\"'":
            match = re.compile(_QUOTED).match(text, index)
            if not match:
                raise YamlSubsetError(f"line {number}: bad quoted string")
            end = match.end()
        else:
            while end < len(text) and text[end] not in ",]}" and not text.startswith(": ", end):
                end += 1
        return _scalar(text[index:end].strip(), number), end
    closer = "]" if opener == "[" else "}"
    result = [] if opener == "[" else {}
    index = _skip_spaces(text, index + 1)
    while index < len(text) and text[index] != closer:
        value, index = _flow(text, index, number)
        if opener == "{":
            index = _skip_spaces(text, index)
            if text[index:index + 1] != ":":
                raise YamlSubsetError(f"line {number}: expected ':' in a flow mapping")
            result[value], index = _flow(text, index + 1, number)
        else:
            result.append(value)
        index = _skip_spaces(text, index)
        if text[index:index + 1] == ",":
            index = _skip_spaces(text, index + 1)
        elif text[index:index + 1] != closer:
            raise YamlSubsetError(f"line {number}: expected ',' or {closer!r}")
    if index >= len(text):
        raise YamlSubsetError(f"line {number}: unterminated flow collection")
    return result, index + 1


def _skip_spaces(text, index):
    while index < len(text) and text[index] == " ":
        index += 1
    return index
