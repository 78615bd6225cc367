"""Characters that text from outside may hold but XML 1.0 cannot (and PostgreSQL cannot store
NUL): the C0 controls but tab, newline and carriage return, lone surrogates, U+FFFE and
U+FFFF. Input holding them is refused where a person typed it; output that other systems
parse (the Open311 feed) never carries them, whatever way they came in.
"""

from __future__ import annotations

import re

# XML 1.0 (5th ed.) § 2.2 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
# [#x10000-#x10FFFF]. Everything else.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def unsafe_character(text: str) -> str | None:
    """The first character of `text` that XML cannot hold, written U+XXXX; None if none."""
    found = _NOT_XML.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def xml_safe(text: str) -> str:
    """`text` without the characters XML cannot hold."""
    return _NOT_XML.sub("", text)
