"""Names that look alike: Unicode TR39 skeletons, from Unicode's own confusables data.

Two strings whose skeletons are equal are confusable ("аlice" with a Cyrillic а and
"alice", "paypa1" and "paypal"). The data is Unicode's confusables.txt as the
confusable-homoglyphs package ships it; the skeleton is TR39's: NFD, drop format characters,
map each character to its prototype, NFD again. A skeleton is only compared, never shown.
"""

import unicodedata
from functools import cache

from confusable_homoglyphs import confusables

# confusables.txt's comments wrap right-to-left characters in these marks (for display)
_DISPLAY_MARKS = str.maketrans("", "", "\u200e\u200f")


@cache
def prototypes() -> dict[str, str]:
    """Each confusable character and the prototype it is shown like.

    The package keeps every line of confusables.txt in both directions (source → prototype
    and back). A source is one code point with one entry; a prototype is never itself
    mapped. A prototype with a single source looks just like that source here: the pair
    then maps to its lower code point, which compares the same.
    """
    data = {
        key.translate(_DISPLAY_MARKS): [entry["c"].translate(_DISPLAY_MARKS) for entry in entries]
        for key, entries in confusables.confusables_data.items()
    }
    mapping = {}
    for char, alikes in data.items():
        if len(char) != 1 or len(alikes) != 1:
            continue
        (target,) = alikes
        pair = len(target) == 1 and data.get(target) == [char]
        if not pair or target < char:
            mapping[char] = target
    return mapping


def skeleton(text: str) -> str:
    """TR39's skeleton of text: equal for strings that look the same."""
    mapping = prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    shown = (char for char in decomposed if unicodedata.category(char) != "Cf")
    return unicodedata.normalize("NFD", "".join(mapping.get(char, char) for char in shown))


def skeletons(name: str) -> set[str]:
    """The skeletons of a name as typed and without case ("ALICE" looks like "alice" too)."""
    return {skeleton(name), skeleton(name.casefold())}


def looks_like(name: str, other: str) -> bool:
    return not skeletons(name).isdisjoint(skeletons(other))
