"""Markdown to plain text, as Coder's `render.PlaintextFromMarkdown` gives it (`format=plaintext`).

Coder renders with glamour (goldmark, CommonMark plus GitHub's extensions) in a style that drops
every decoration: emphasis, code and quote markers go, a link keeps its text and shows its URL
in brackets, an ordered item keeps its number, headings are followed by a single line break and
other blocks by a blank line, and the result is trimmed. Here markdown-it-py (CommonMark, with
strikethrough and tables) parses and this module writes the text back out the same way.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

_PARSER = MarkdownIt("commonmark").enable(["strikethrough", "table"])
_LIST_INDENT = "    "  # glamour's LevelIndent in Coder's plaintext style
_CONTAINERS = ("blockquote", "table", "thead", "tbody")

Block = tuple[str, str]  # (kind, text): the kind decides the separator after it


def plaintext_from_markdown(markdown: str) -> str:
    """The plain text Coder's watch socket sends for `format=plaintext`."""
    return _join(_blocks(SyntaxTreeNode(_PARSER.parse(markdown)))).strip()


def _join(blocks: list[Block]) -> str:
    """A heading's text is followed by one line break, every other block by a blank line."""
    out: list[str] = []
    for index, (_, text) in enumerate(blocks):
        if index:
            out.append("\n" if blocks[index - 1][0] == "heading" else "\n\n")
        out.append(text)
    return "".join(out)


def _blocks(node: SyntaxTreeNode, depth: int = 0) -> list[Block]:
    """The blocks under `node`, in order; quotes and tables contribute their children."""
    blocks: list[Block] = []
    for child in node.children:
        kind = child.type
        if kind in ("paragraph", "heading"):
            blocks.append((kind, _inline(child)))
        elif kind in ("bullet_list", "ordered_list"):
            blocks.append(("list", _list(child, depth)))
        elif kind in ("fence", "code_block", "html_block"):
            blocks.append((kind, child.content.rstrip("\n")))
        elif kind == "tr":
            blocks.append(("row", " ".join(_inline(cell) for cell in child.children)))
        elif kind in _CONTAINERS:
            blocks.extend(_blocks(child, depth))
    return _rows_together(blocks)


def _rows_together(blocks: list[Block]) -> list[Block]:
    """A table's rows are lines of one block, not blocks of their own."""
    merged: list[Block] = []
    for kind, text in blocks:
        if kind == "row" and merged and merged[-1][0] == "row":
            merged[-1] = ("row", f"{merged[-1][1]}\n{text}")
        else:
            merged.append((kind, text))
    return merged


def _list(node: SyntaxTreeNode, depth: int) -> str:
    """One line per item: `N. text` when ordered, the bare text otherwise; nested lists indented."""
    start = int(str(node.attrs.get("start", 1))) if node.type == "ordered_list" else None
    lines = []
    for offset, item in enumerate(node.children):
        text = "\n".join(text for _, text in _blocks(item, depth + 1))
        prefix = f"{start + offset}. " if start is not None else ""
        lines.append(_LIST_INDENT * depth + prefix + text)
    return "\n".join(lines)


def _inline(node: SyntaxTreeNode) -> str:
    """The text of a paragraph, heading or cell: markers dropped, links as `text (url)`."""
    return "".join(_span(child) for child in node.children)


def _span(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind in ("text", "code_inline", "html_inline"):
        return node.content
    if kind in ("softbreak", "hardbreak"):
        return "\n"
    text = _inline(node)
    if kind == "link" and node.markup != "autolink":
        return f"{text} ({node.attrs.get('href', '')})"
    if kind == "image":
        return f"{text} ({node.attrs.get('src', '')})"
    return text
