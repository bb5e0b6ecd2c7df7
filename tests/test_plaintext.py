"""`format=plaintext`: Markdown to text as Coder's render.PlaintextFromMarkdown gives it."""

from __future__ import annotations

import pytest

from mock_server.plaintext import plaintext_from_markdown

# coderd/render/markdown_test.go TestPlaintext "Simple": Coder's own expectation, verbatim
CODER_SIMPLE = """# Provide the machine image
See the [registry](https://container.registry.blah/namespace) for options.

![Minion](https://octodex.github.com/images/minion.png)

**This is bold text.**
__This is bold text.__
*This is italic text.*
> Blockquotes can also be nested.
~~Strikethrough.~~

1. Lorem ipsum dolor sit amet.
2. Consectetur adipiscing elit.
3. Integer molestie lorem at massa.

`There are also code tags!`"""
CODER_SIMPLE_TEXT = (
    "Provide the machine image\nSee the registry (https://container.registry.blah/namespace) "
    "for options.\n\nMinion (https://octodex.github.com/images/minion.png)\n\nThis is bold "
    "text.\nThis is bold text.\nThis is italic text.\n\nBlockquotes can also be nested.\n"
    "Strikethrough.\n\n1. Lorem ipsum dolor sit amet.\n2. Consectetur adipiscing elit.\n3. "
    "Integer molestie lorem at massa.\n\nThere are also code tags!")


def test_coders_own_example_converts_exactly() -> None:
    assert plaintext_from_markdown(CODER_SIMPLE) == CODER_SIMPLE_TEXT


@pytest.mark.parametrize(("markdown", "text"), [
    ("This is a simple description, so nothing changes.",
     "This is a simple description, so nothing changes."),  # Coder's "Nothing changes"
    ("Your workspace **dev** was deleted.", "Your workspace dev was deleted."),
    ("  padded  \n\n", "padded"),
    ("", ""),
    ("Visit <https://coder.com>", "Visit https://coder.com"),
    ("3. three\n4. four", "3. three\n4. four"),
    ("- one\n- two\n  1. nested", "one\ntwo\n    1. nested"),
    ("```\nmake test\n```", "make test"),
    ("| a | b |\n|---|---|\n| 1 | 2 |", "a b\n1 2"),
])
def test_markers_go_and_the_words_stay(markdown: str, text: str) -> None:
    assert plaintext_from_markdown(markdown) == text
