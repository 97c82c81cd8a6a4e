"""Read primary headers of raw frames (FITS, gzip/fpack-compressed FITS, DFOS .hdr dumps).

Why not astropy.io.fits here: header import runs over a decade of frames, and astropy builds
and verifies a Card object per card (≈1000 per ESO header), which makes it the bottleneck; it
also refuses cards that real archives contain (NaN values, over-long cards). This reader
parses the 80-column cards with one regular expression, gives the same values astropy gives
for every valid card (tests/test_headers.py and the benchmark compare them key by key), and
turns the messy cards into warnings instead of errors. Image arithmetic elsewhere uses astropy.

Keywords are returned under their OCA names: `HIERARCH ESO DET DIT` → `DET.DIT`,
`MJD-OBS` stays `MJD-OBS`.
"""

import gzip
import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache

import lz4.frame

BLOCK = 2880
CARD = 80
COMMENTARY = {"COMMENT", "HISTORY", ""}
#: Cards that describe an HDU's structure rather than the observation.
STRUCTURAL = re.compile(
    r"^(SIMPLE|XTENSION|BITPIX|NAXIS\d*|EXTEND|PCOUNT|GCOUNT|TFIELDS|T(TYPE|FORM|UNIT|DIM|NULL|"
    r"SCAL|ZERO|DISP)\d+|THEAP|CHECKSUM|DATASUM|BSCALE|BZERO|BLANK|Z[A-Z0-9_]*)$"
)

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fits.fz", ".fit.fz")
HDR_SUFFIXES = (".hdr",)

_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[EeDd][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_HIERARCH = re.compile(r"^HIERARCH\s+(?P<key>[^=]*?)\s*=(?P<rest>.*)$", re.S)
_STRING = re.compile(r"^'(?P<body>(?:[^']|'')*)'(?P<after>.*)$", re.S)
_COMPLEX = re.compile(r"^\(\s*(?P<re>[^,]+?)\s*,\s*(?P<im>[^)]+?)\s*\)")


class HeaderError(Exception):
    """A file whose header cannot be read; the message names the reason."""


@dataclass
class HeaderRead:
    """What one file yields: its cards as read, keyword values by OCA name, and warnings.

    `text` holds the cards one per line, each padded to 80 columns (longer if a .hdr dump had
    an over-long card), without the END card: the same text for a FITS file and for the .hdr
    dump of its header, so the two compare equal.
    """

    path: str
    kind: str  # "fits" or "hdr"
    text: str = ""
    keywords: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    @property
    def cards(self):
        return self.text.split("\n") if self.text else []

    @property
    def digest(self):
        """SHA-1 of the cards: tells a changed header from a re-read of the same one."""
        return hashlib.sha1(self.text.encode("ascii", "replace")).hexdigest()

    def compressed(self):
        return compress_header(self.text)


def compress_header(text):
    """Stored form of a header: LZ4 frame of the cards (4× faster than zlib level 1 here,
    which made compression a sixth of the import time)."""
    return lz4.frame.compress(text.encode("ascii", "replace"))


def decompress_header(blob):
    return lz4.frame.decompress(bytes(blob)).decode("ascii", "replace")


def is_header_file(name):
    lower = name.lower()
    return lower.endswith(FITS_SUFFIXES) or lower.endswith(HDR_SUFFIXES)


def oca_name(keyword):
    """OCA keyword name: drop `HIERARCH` and the `ESO` prefix, join words with dots."""
    words = keyword.split()
    if words and words[0] == "HIERARCH":
        words = words[1:]
    if len(words) > 1 and words[0] == "ESO":
        words = words[1:]
    return ".".join(words)


# --- card parsing ------------------------------------------------------------------------


def split_card(card):
    """(keyword, value text or None, is_hierarch) for one card image."""
    if card.startswith("HIERARCH"):
        match = _HIERARCH.match(card)
        if match:
            return " ".join(match["key"].split()), match["rest"], True
        return card[:8].strip(), None, False
    keyword = card[:8].strip().upper()
    if keyword in COMMENTARY or card[8:10] != "= ":
        if keyword not in COMMENTARY and card[8:9] == "=":
            return keyword, card[9:], False
        return keyword, None, False
    return keyword, card[10:], False


def parse_value(text):
    """Parse a card's value field into (value, problem); problem is None for valid values.

    Returns the same Python values astropy gives: str without trailing blanks, bool for T/F,
    int, float (D exponents allowed), complex as [re, im]. Blank values give None.
    """
    stripped = text.strip()
    if stripped.startswith("'"):
        match = _STRING.match(stripped)
        if not match:
            return stripped[1:].split("/")[0].rstrip(), "unterminated string"
        return match["body"].replace("''", "'").rstrip(), None
    value_text = stripped.split("/", 1)[0].strip()
    if value_text == "":
        return None, "blank value"
    if value_text == "T":
        return True, None
    if value_text == "F":
        return False, None
    if _INTEGER.match(value_text):
        return int(value_text), None
    if _NUMBER.match(value_text):
        number = float(value_text.replace("D", "E").replace("d", "e"))
        if math.isinf(number):
            return None, f"value {value_text} is out of range"
        return number, None
    if value_text.lower() in {"nan", "+nan", "-nan"}:
        return None, "value is NaN"
    match = _COMPLEX.match(value_text)
    if match and _NUMBER.match(match["re"]) and _NUMBER.match(match["im"]):
        return [float(match["re"].replace("D", "E")), float(match["im"].replace("D", "E"))], None
    return value_text, f"unparsable value {value_text!r} kept as text"


#: ESO keyword categories stored under their OCA names for rules and queries. Other
#: categories (TEL, ADA, AOS, …) stay in the stored full header; an instance can add some.
DEFAULT_KEYWORD_PREFIXES = ("DPR", "TPL", "OBS", "INS", "DET", "SEQ", "OCS", "PRO", "QC")


@lru_cache(maxsize=16)
def _card_pattern(prefixes):
    """One regular expression that finds every wanted card and types its value, in C.

    Groups: HIERARCH ESO keyword (kept categories only) or standard keyword; then exactly
    one of: a quote and the string body, an integer, a float, T/F, or the raw value field
    for what needs a closer look (blank, NaN, D exponents, unterminated strings). Cards are
    matched after a newline rather than with ^ and re.M: the literal lets the regex engine
    jump from line to line instead of trying every position, which halves the time.
    """
    categories = "|".join(re.escape(p) for p in prefixes)
    end = r"(?=[ /\n]|$)"
    # Possessive quantifiers (*+, ++) never backtrack: a card that cannot match fails fast.
    return re.compile(
        r"\n(?:HIERARCH +ESO +((?:%s)(?: ++[A-Za-z0-9_.+-]++)*?) *+=|([A-Z0-9_-]{1,8}+) *+= ) *+"
        r"(?:(')((?:[^'\n]|'')*+)'"
        r"|([+-]?\d++)%s"
        r"|([+-]?(?:\d+\.?\d*|\.\d+)(?:[Ee][+-]?\d+)?)%s"
        r"|([TF])%s"
        r"|([^\n]*+))" % (categories, end, end, end)
    )


def parse_cards(read, prefixes=DEFAULT_KEYWORD_PREFIXES):
    """Fill `read.keywords` from `read.text`, the cards one per line."""
    prefixes = tuple(prefixes)
    text = "\n" + read.text
    keywords = read.keywords
    found = 0
    for hierarch, standard, quote, string, integer, number, flag, other in _card_pattern(
        prefixes
    ).findall(text):
        found += 1
        if hierarch:
            name = hierarch.replace(" ", ".") if "  " not in hierarch else ".".join(hierarch.split())
        else:
            name = standard
        if quote:
            string = string.rstrip()
            keywords[name] = string.replace("''", "'") if "''" in string else string
        elif integer:
            keywords[name] = int(integer)
        elif number and math.isfinite(value := float(number)):
            keywords[name] = value
        elif flag:
            keywords[name] = flag == "T"
        else:
            value, problem = parse_value(other or number)
            if problem:
                read.warnings.append(f"{name}: {problem}")
            keywords[name] = value
    if "\nCONTINUE" in text:
        _join_continued_strings(read, prefixes)
    if found != len(keywords):
        _warn_duplicates(read, prefixes)


def _card_name(card, prefixes):
    """OCA name of a card with a value that we keep, else None."""
    keyword, value_text, hierarch = split_card(card)
    if value_text is None:
        return None
    name = oca_name(keyword)
    if hierarch and not (keyword.startswith("ESO ") and name.split(".", 1)[0] in prefixes):
        return None
    return name or None


def _join_continued_strings(read, prefixes):
    """Long string values: 'text&' followed by CONTINUE cards (the FITS long-string convention)."""
    keywords = read.keywords
    cards = read.cards
    name = None
    for number, card in enumerate(cards, start=1):
        if not card.startswith("CONTINUE"):
            name = None
            continue
        if name is None and number > 1 and not cards[number - 2].startswith("CONTINUE"):
            name = _card_name(cards[number - 2], prefixes)
            if name is None:
                continue  # continues a card we do not keep
        if name is None:
            continue
        value, _ = parse_value(card[8:])
        previous = keywords.get(name)
        if isinstance(value, str) and isinstance(previous, str) and previous.endswith("&"):
            keywords[name] = previous[:-1] + value
        else:
            read.warnings.append(f"card {number}: CONTINUE does not continue a long string")
            name = None


def _warn_duplicates(read, prefixes):
    seen = set()
    for card in read.cards:
        name = _card_name(card, prefixes)
        if name is None:
            continue
        if name in seen and not STRUCTURAL.match(name):
            read.warnings.append(f"{name}: keyword appears more than once; the last value wins")
        seen.add(name)


# --- FITS structure ----------------------------------------------------------------------

_CARD80 = re.compile(r".{80}", re.S)
_SIZE_KEYS = re.compile(
    r"\n(BITPIX|NAXIS\d*|PCOUNT|GCOUNT|GROUPS|ZIMAGE|XTENSION|SIMPLE) *= *('[^'\n]*'|[^ /\n]+)"
)


_END_CARD = "END" + " " * 77


def _find_end(block):
    """Offset of the END card in a header block, or -1."""
    start = 0
    while True:
        index = block.find(_END_CARD, start)
        if index < 0 or index % CARD == 0:
            return index
        start = index + 1


def _read_header(stream, what, block=None):
    """Read 2880-byte blocks up to the END card; return the cards, one per line.

    Returns None at a clean end of file (no further HDU).
    """
    blocks = []
    while True:
        if block is None:
            block = stream.read(BLOCK)
        if not block:
            if not blocks:
                return None
            raise HeaderError(f"truncated: the {what} ends before its END card")
        if len(block) < BLOCK:
            raise HeaderError(
                f"truncated: the {what} stops after {len(blocks) * BLOCK + len(block)} bytes, "
                "inside a 2880-byte header block"
            )
        try:
            text = block.decode("ascii")
        except UnicodeDecodeError:
            raise HeaderError(f"corrupt {what}: non-ASCII bytes in the header") from None
        end = _find_end(text)
        if end >= 0:
            blocks.append(text[:end])
            return "\n".join(_CARD80.findall("".join(blocks)))
        blocks.append(text)
        block = None


def _sizes(cards_text):
    """The keywords that size an HDU, from its cards."""
    return {key: parse_value(value)[0] for key, value in _SIZE_KEYS.findall("\n" + cards_text)}


def _data_size(sizes):
    """Size in bytes of an HDU's data part, without padding."""
    naxis = int(sizes.get("NAXIS") or 0)
    if naxis == 0:
        return 0
    bitpix = abs(int(sizes.get("BITPIX") or 8))
    axes = [int(sizes.get(f"NAXIS{i}") or 0) for i in range(1, naxis + 1)]
    if axes and axes[0] == 0 and sizes.get("GROUPS") is True:  # random groups
        axes = axes[1:]
    gcount = int(sizes.get("GCOUNT") or 1)
    pcount = int(sizes.get("PCOUNT") or 0)
    return bitpix // 8 * gcount * (pcount + math.prod(axes))


def read_fits(path, prefixes=DEFAULT_KEYWORD_PREFIXES):
    """Read a FITS file's primary header, checking that every HDU is complete."""
    path = str(path)
    gzipped = path.lower().endswith(".gz")
    read = HeaderRead(path=path, kind="fits")
    try:
        stream = gzip.open(path, "rb") if gzipped else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise HeaderError(f"cannot open: {exc.strerror or exc}") from None
    try:
        with stream:
            first = stream.read(BLOCK)
            if not first.startswith(b"SIMPLE  ="):
                if not first:
                    raise HeaderError("empty file")
                raise HeaderError("not a FITS file: it does not start with a SIMPLE card")
            read.text = _read_header(stream, "primary header", first)
            sizes = _sizes(read.text)
            if sizes.get("SIMPLE") is not True:
                read.warnings.append("SIMPLE is not T: the file does not follow the FITS standard")
            compressed_image = _walk_hdus(stream, sizes, read, gzipped)
    except EOFError as exc:
        raise HeaderError(f"truncated: the compressed stream ends early ({exc})") from None
    except OSError as exc:
        raise HeaderError(f"cannot read: {exc.strerror or exc}") from None
    if compressed_image:
        _merge_compressed_image_header(read, compressed_image)
    parse_cards(read, prefixes)
    return read


def _merge_compressed_image_header(read, cards_text):
    """fpack: the primary HDU is empty and the image, with the observation's keywords, is a
    compressed extension. Take the keywords the primary header does not already have."""
    have = {split_card(card)[0] for card in read.cards}
    extra = [
        card
        for card in cards_text.split("\n")
        if split_card(card)[0] not in have and not STRUCTURAL.match(split_card(card)[0])
    ]
    if extra:
        read.text = "\n".join([read.text, *extra]) if read.text else "\n".join(extra)


def _walk_hdus(stream, sizes, read, gzipped):
    """Skip through the data of every HDU; raise HeaderError if the file is cut short.

    Returns the cards of a compressed-image extension that follows an empty primary HDU.
    """
    compressed_image = None
    primary_has_data = int(sizes.get("NAXIS") or 0) > 0
    index = 0
    while True:
        _skip_data(stream, _data_size(sizes), index, read, gzipped)
        cards_text = _read_header(stream, f"header of extension {index + 1}")
        if cards_text is None:
            return compressed_image
        index += 1
        sizes = _sizes(cards_text)
        if index == 1 and sizes.get("ZIMAGE") is True and not primary_has_data:
            compressed_image = cards_text


def _skip_data(stream, size, index, read, gzipped):
    if size == 0:
        return
    padded = -(-size // BLOCK) * BLOCK
    where = "primary HDU" if index == 0 else f"extension {index}"
    if gzipped:
        got = 0
        while got < padded:
            chunk = stream.read(min(padded - got, 1 << 20))
            if not chunk:
                break
            got += len(chunk)
    else:
        position = stream.tell()
        got = min(padded, os.fstat(stream.fileno()).st_size - position)
        stream.seek(position + got)
    if got < size:
        raise HeaderError(
            f"truncated: the data of the {where} needs {size} bytes, the file holds {got}"
        )
    if got < padded:
        read.warnings.append(f"the data of the {where} is not padded to a multiple of 2880 bytes")


# --- .hdr text dumps ---------------------------------------------------------------------


def read_hdr(path, prefixes=DEFAULT_KEYWORD_PREFIXES):
    """Read a DFOS `.hdr` text dump: one card per line, END optional."""
    path = str(path)
    read = HeaderRead(path=path, kind="hdr")
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except OSError as exc:
        raise HeaderError(f"cannot open: {exc.strerror or exc}") from None
    if not raw.strip():
        raise HeaderError("empty file")
    if b"\x00" in raw[:4096]:
        raise HeaderError("not a header dump: binary content (a FITS file named .hdr?)")
    text = raw.decode("ascii", "replace")
    if "\ufffd" in text:
        read.warnings.append("non-ASCII characters replaced")
    lines = text.splitlines()
    if len(lines) == 1 and len(lines[0]) > CARD and len(lines[0]) % CARD == 0:
        lines = _CARD80.findall(lines[0])  # a header dumped without newlines
    cards = []
    for line in lines:
        card = line.rstrip()
        if not card:
            continue
        if card.startswith("END") and card[3:].strip() == "":
            break
        if len(card) > CARD:
            read.warnings.append(
                f"card {len(cards) + 1} is {len(card)} characters long (FITS allows 80 and "
                f"continues long strings with CONTINUE): {card[:40]}…"
            )
        cards.append(card.ljust(CARD))
    if not any(split_card(card)[1] is not None for card in cards):
        raise HeaderError("not a header dump: no KEYWORD = value cards")
    read.text = "\n".join(cards)
    parse_cards(read, prefixes)
    return read


def read_header(path, prefixes=DEFAULT_KEYWORD_PREFIXES):
    """Read the primary header of a FITS file or .hdr dump; raise HeaderError with the reason."""
    lower = str(path).lower()
    if lower.endswith(HDR_SUFFIXES):
        return read_hdr(path, prefixes)
    return read_fits(path, prefixes)
