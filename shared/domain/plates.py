"""Number plates as typed or read by a camera, folded to the one form every match uses."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Look-alike letters from other scripts that cameras and keyboards produce, mapped to
# the Latin letter they show. Anything else outside A-Z/0-9 after NFKC is refused.
_LOOKALIKES = str.maketrans(
    {
        "А": "A",
        "В": "B",
        "Е": "E",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "O",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "Х": "X",
        "У": "Y",
        "Ι": "I",
        "Ο": "O",
        "Α": "A",
        "Β": "B",
        "Ε": "E",
        "Ζ": "Z",
        "Η": "H",
        "Κ": "K",
        "Μ": "M",
        "Ν": "N",
        "Ρ": "P",
        "Τ": "T",
        "Υ": "Y",
        "Χ": "X",
    }
)
_PLATE_SEPARATORS = re.compile(r"[\s\-_.·•/]+")
_PLATE_OK = re.compile(r"^[A-Z0-9]{1,10}$")


class PlateError(ValueError):
    pass


# Invisible format characters that ride along when a plate is copied from a web page or
# a chat (zero-width space and joiners, word joiner, BOM, soft hyphen): dropped, not refused.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")


@lru_cache(maxsize=8192)
def normalise_plate(raw: str) -> str:
    """Upper case, no spaces or punctuation; Cyrillic/Greek look-alikes mapped to Latin.

    NFKC first folds full-width and styled forms ("ＡＢ１２") to plain ones; invisible
    format characters are dropped. Raises PlateError for anything that is not letters and
    digits afterwards. Cached: a batch of reads normalises each plate when validated and
    again when stored.
    """
    if raw.isascii():
        # What cameras send: no look-alikes or invisible characters to fold. Plain
        # replaces cost a tenth of the regular expressions below (per read, at thousands
        # of reads a second); anything unusual falls through to them.
        text = raw.upper().replace(" ", "").replace("-", "")
        if 0 < len(text) <= 10 and text.isalnum():
            return text
        text = _PLATE_SEPARATORS.sub("", raw.upper())
    else:
        text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", raw)).upper().translate(_LOOKALIKES)
        text = _PLATE_SEPARATORS.sub("", text)
    if not _PLATE_OK.match(text):
        raise PlateError(f"'{raw}' is not a number plate: use letters A-Z and digits only (1 to 10 characters)")
    return text
