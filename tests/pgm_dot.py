"""A small reader of the DOT text export_pgm writes (nodes, clusters, edges), for tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME = r'"(?:[^"\\]|\\.)*"|[^\s\[\]"{}]+'
_NODE = re.compile(rf"^\s*({_NAME}) \[(.*)\]$")
_EDGE = re.compile(rf"^\s*({_NAME}) -> ({_NAME})(?: \[.*\])?$")
_SUBGRAPH = re.compile(rf"^\s*subgraph ({_NAME}) \{{$")
_CLUSTER_ATTR = re.compile(r"^\s*label=(.*?) labeljust=")


def _unquote(text: str) -> str:
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('\\"', '"')
    return text


def parse_attrs(text: str) -> dict[str, str]:
    """Parse ``key=value`` pairs; values are bare, "quoted" or <HTML> (nested <>)."""
    attrs, k = {}, 0
    while k < len(text):
        if text[k] == " ":
            k += 1
            continue
        eq = text.index("=", k)
        key, k = text[k:eq], eq + 1
        if text[k] == "<":
            depth, start = 0, k
            while True:
                depth += {"<": 1, ">": -1}.get(text[k], 0)
                k += 1
                if depth == 0:
                    break
            attrs[key] = text[start:k]
        elif text[k] == '"':
            end = k + 1
            while text[end] != '"' or text[end - 1] == "\\":
                end += 1
            attrs[key], k = _unquote(text[k:end + 1]), end + 1
        else:
            end = text.find(" ", k)
            end = len(text) if end < 0 else end
            attrs[key], k = text[k:end], end
    return attrs


@dataclass
class Dot:
    """Nodes (name -> attrs), the plate labels of each node (outermost first), edges.

    ``plate[name]`` is the label of the innermost plate holding the node (None outside any),
    ``plates`` every plate label in order of appearance, ``edge_attrs`` the attributes of
    each ``(parent, child)`` edge.
    """

    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    plate: dict[str, str | None] = field(default_factory=dict)
    plate_path: dict[str, tuple[str, ...]] = field(default_factory=dict)
    plates: list[str] = field(default_factory=list)
    edges: set[tuple[str, str]] = field(default_factory=set)
    edge_attrs: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    graph: dict[str, str] = field(default_factory=dict)

    def kind(self, name: str) -> str:
        """Classify a node by its drawing: latent, observed, fixed, deterministic, factor."""
        a = self.nodes[name]
        if a.get("shape") == "circle":
            return "observed" if "filled" in a.get("style", "") else "latent"
        if a.get("shape") == "plain" and "●" in a.get("label", ""):
            return "fixed"
        if a.get("shape") == "plain" and "■" in a.get("label", ""):
            return "factor"
        if a.get("shape") == "box":
            return "deterministic"
        return "other"


_EDGE_ATTRS = re.compile(r"\[(.*)\]$")


def parse_dot(text: str) -> Dot:
    """Read the DOT source written by ``graphviz.Digraph`` (one statement per line)."""
    dot = Dot()
    stack: list[str | None] = []
    statements, pending = [], ""
    for line in text.splitlines():  # a quoted label may span lines: join until "]" closes
        pending = f"{pending}\n{line}" if pending else line
        if pending.count("[") == pending.count("]"):
            statements.append(pending.replace("\n", " "))
            pending = ""
    for line in statements:
        if _SUBGRAPH.match(line):
            stack.append(None)
            continue
        if line.strip() == "}":
            if stack:
                stack.pop()
            continue
        if stack and (m := _CLUSTER_ATTR.match(line)):
            stack[-1] = _unquote(m.group(1))
            dot.plates.append(stack[-1])
            continue
        if m := _EDGE.match(line):
            key = (_unquote(m.group(1)).split(":")[0], _unquote(m.group(2)).split(":")[0])
            dot.edges.add(key)
            attrs = _EDGE_ATTRS.search(line)
            dot.edge_attrs[key] = parse_attrs(attrs.group(1)) if attrs else {}
            continue
        if m := _NODE.match(line):
            name, attrs = _unquote(m.group(1)), parse_attrs(m.group(2))
            if name == "graph":
                dot.graph = attrs
            elif name not in ("node", "edge"):
                dot.nodes[name] = attrs
                path = tuple(p for p in stack if p is not None)
                dot.plate_path[name] = path
                dot.plate[name] = path[-1] if path else None
    return dot


def plain_label(label: str) -> str:
    """Text of an HTML-like label without its tags, whitespace collapsed."""
    if label.startswith("<") and label.endswith(">"):
        label = label[1:-1]
    text = re.sub(r"<[^>]*>", " ", label).replace("&amp;", "&")
    return " ".join(text.split())


def script_label(label: str) -> str:
    """An HTML-like label as text with its scripts marked: ``N̂_{1,i}``, ``e^{x}``."""
    if label.startswith("<") and label.endswith(">"):
        label = label[1:-1]
    label = re.sub(r"<FONT[^>]*>|</FONT>", "", label)
    label = (label.replace("<SUB>", "_{").replace("</SUB>", "}").replace("<SUP>", "^{")
             .replace("</SUP>", "}").replace("<BR/>", " | "))
    text = re.sub(r"<[^>]*>", " ", label).replace("&amp;", "&")
    return " ".join(text.split())
