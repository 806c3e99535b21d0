"""Word and line splitting, computed once per document and shared by the rules of a stage.

The word splitter follows the token boundaries of spaCy's English tokenizer, which datatrove
uses for FineWeb's Gopher and FineWeb filters. Text splits on whitespace; each piece then loses
its leading and trailing punctuation, one character a token ("..." is one token), and its
clitic (``'s``, ``'re``, ``n't``...); what remains splits only at spaCy's infixes: hyphens and
commas between letters, ``.`` between a lower-case and an upper-case letter, ``/ : < > =``
before a letter, arithmetic signs between digits. So numbers (``3.14``, ``1,000``), dotted
abbreviations (``e.g.``, ``U.S.``, ``J.``, ``Mr.``), words with inner apostrophes (``O'Neil``),
options and paths (``-m``, ``/etc``), URLs and runs of CJK text between spaces stay whole.
On the 2,136 documents of the datatrove benchmark (``python -m benchmarks.vs_datatrove --tokens``)
the token count is 0.42% below spaCy's in all, 0.83% off per document on average (spaCy's
emoticon and rarer abbreviation exceptions are not copied). Pieces of letters and digits only
(most of them) take a fast path; the others go through precompiled patterns.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# spaCy's English prefixes and suffixes (punctuation, quotes, brackets, ellipses); "-", "/", "."
# and "\\" are not prefixes, so "-m", "/etc" and "./run" stay whole; "." is a suffix.
_EDGE_CHARS = r"…,:;!?¿؟¡()\[\]{}<>_#*&。？！，、；：～·।،۔؛٪'\"”“’‘«»„‚‹›`—–%§=$£€¥"
# Abbreviations that spaCy's English exceptions keep with their period (the frequent ones).
_ABBREVIATIONS = (
    r"(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Co|Corp|Inc|Ltd|Sen|Rep|Gov|Gen|Prof|Rev|Mt|vs|etc|Jan|Feb|Mar|Apr"
    r"|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Ala|Ariz|Ark|Calif|Colo|Conn|Del|Fla|Ga|Ill|Ind|Kan|Ky|La|Md"
    r"|Mass|Mich|Minn|Miss|Mo|Mont|Neb|Nev|Okla|Ore|Pa|Tenn|Va|Wash|Wis)\."
)
# spaCy's exceptions that split a word without punctuation.
_SPLIT_WORDS = {
    "cannot": ("can", "not"),
    "Cannot": ("Can", "not"),
    "id": ("i", "d"),
    "Id": ("I", "d"),
}
# A piece is split as ``pre core clitic post``: ``pre`` the longest run of leading punctuation
# (a dot run counts once it has two dots); ``core`` the shortest run after it (or, tried first, a
# letter-dot run such as "U.S." or a listed abbreviation) such that what follows is an optional
# clitic and then trailing punctuation only. Written as scans over the piece rather than as one
# backtracking pattern, so that each piece costs time linear in its length (a dot leader glued
# between two words made the single-pattern form exponential).
_PRE = re.compile(rf"(?:\.\.+|[{_EDGE_CHARS}])*+")
_LETTER_DOTS = re.compile(r"(?:[^\W\d_]\.)++")
_ABBREVIATION = re.compile(_ABBREVIATIONS)
_CLITIC = re.compile(r"(?i:n['’]t|['’](?:s|re|ve|ll|d|m))")
_POST_CHARS = "." + re.sub(r"\\(.)", r"\1", _EDGE_CHARS)  # what trailing punctuation may hold
_PUNCT_RUN = re.compile(r"\.\.+|\S")
_INFIX = re.compile(
    r"(?<=[^\W_])(-++|–|—)(?=[^\W\d_])"  # well-known, 32-bit
    r"|(?<=[a-z])(\.)(?=[A-Z])"  # end.Next
    r"|(?<=[^\W\d_])(,)(?=[^\W\d_])"  # word,word
    r"|(?<=[^\W_])([:<>=/])(?=[^\W\d_])"  # a/b key:value
    r"|(?<=\d)([+*^-])(?=[\d-])"  # 3-4 2+2
)
_INFIX_CHARS = frozenset(",.-/:<>=+*^–—")
_URL_START = re.compile(r"https?://|www\.")
_URL_TRAILER = ".,;:!?)]}\"'"  # punctuation after a URL that is not part of it
_CACHED_PIECE_CHARS = 64  # longer pieces are rare and are not kept in the cache


def _tail(piece: str, end: int, post: int) -> tuple[int, int] | None:
    """Where the clitic after a core ending at ``end`` ends, when an optional clitic and then
    trailing punctuation only (from ``post`` on) complete the piece; None when they cannot.
    Worst case: O(1) (a clitic has at most three characters)."""
    clitic = _CLITIC.match(piece, end)
    if clitic and clitic.end() >= post:
        return end, clitic.end()
    return (end, end) if end >= post else None


def _core_end(piece: str, start: int, post: int) -> tuple[int, int]:
    """The core's end and the clitic's end for a core starting at ``start``: O(len(piece))."""
    run = _LETTER_DOTS.match(piece, start)
    if run:
        for end in range(
            run.end(), start, -2
        ):  # the longest letter-dot run that completes the piece
            tail = _tail(piece, end, post)
            if tail:
                return tail
    abbreviation = _ABBREVIATION.match(piece, start)
    if abbreviation:
        tail = _tail(piece, abbreviation.end(), post)
        if tail:
            return tail
    # the shortest core: only a clitic (two or three characters) can end where the punctuation
    # starts
    for end in (post - 3, post - 2):
        if end >= start:
            tail = _tail(piece, end, post)
            if tail:
                return tail
    end = max(post, start)  # no clitic fits: the core runs up to the trailing punctuation
    return end, end


def _split_piece(piece: str, out: list[str]) -> None:
    """Tokens of one whitespace-free piece; worst case O(len(piece))."""
    url = _URL_START.match(piece)
    if url:
        end = max(url.end(), len(piece.rstrip(_URL_TRAILER)))
        out.append(piece[:end])
        out.extend(_PUNCT_RUN.findall(piece, end))
        return
    start = _PRE.match(piece).end()
    post = max(start, len(piece.rstrip(_POST_CHARS)))
    core_end, clitic_end = _core_end(piece, start, post)
    out.extend(_PUNCT_RUN.findall(piece, 0, start))
    core = piece[start:core_end]
    if core:
        if not _INFIX_CHARS.isdisjoint(core):
            out.extend(t for t in _INFIX.split(core) if t)
        else:
            out.append(core)
    if clitic_end > core_end:
        out.append(piece[core_end:clitic_end])
    out.extend(_PUNCT_RUN.findall(piece, clitic_end))


@lru_cache(maxsize=1 << 16)
def _cached_piece_tokens(piece: str) -> tuple[str, ...]:
    """``_split_piece``'s tokens, cached. Worst case: O(len(piece))."""
    out: list[str] = []
    _split_piece(piece, out)
    return tuple(out)


def _piece_tokens(piece: str) -> tuple[str, ...] | list[str]:
    """The tokens of a piece holding punctuation; short ones are cached, since such pieces
    ("said,", "U.S.") repeat a lot (the effect on the filter chain: docs/benchmarks.md, "Quality
    filters vs datatrove"). Worst case: O(len(piece))."""
    if len(piece) <= _CACHED_PIECE_CHARS:
        return _cached_piece_tokens(piece)
    out: list[str] = []
    _split_piece(piece, out)
    return out


def split_words(text: str) -> list[str]:
    """The word tokens of ``text`` (punctuation included, whitespace dropped).
    Worst case: O(n) in the text's length (one split on whitespace, each piece linear)."""
    return words_of_pieces(text.split())


def words_of_pieces(pieces: list[str]) -> list[str]:
    """The word tokens of a text already split on whitespace (``text.split()``): each piece is
    split on its own, so the tokens of joined texts are the joined tokens.
    Worst case: O(total characters of the pieces)."""
    out: list[str] = []
    append = out.append
    for piece in pieces:
        if piece.isalnum():
            if piece in _SPLIT_WORDS:
                out.extend(_SPLIT_WORDS[piece])
            else:
                append(piece)
        else:
            out.extend(_piece_tokens(piece))
    return out


# Characters that make a token a symbol rather than a word: punctuation (Unicode P*) of the
# Basic Multilingual Plane, ASCII symbols and control characters, as datatrove's PUNCTUATION_SET.
PUNCTUATION: frozenset[str] = frozenset(
    chr(c)
    for c in range(0x10000)
    if unicodedata.category(chr(c))[0] == "P" or unicodedata.category(chr(c)) == "Cc"
) | frozenset("$+<=>^`|~►")


def is_word(token: str) -> bool:
    """True when ``token`` holds at least one character that is not punctuation.
    Worst case: O(len(token))."""
    return not PUNCTUATION.issuperset(token)


_PARAGRAPH_RE = re.compile(r"\n{2,}")
_LINES_RE = re.compile(r"\n+")


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs: blocks separated by one or more blank lines (Gopher's definition).
    Worst case: O(n) (a run of newlines is consumed by one match)."""
    return _PARAGRAPH_RE.split(text.strip())


def split_nonempty_lines(text: str) -> list[str]:
    """Lines split on runs of newlines (so that blank lines do not count as duplicates).
    Worst case: O(n) (a run of newlines is consumed by one match)."""
    return _LINES_RE.split(text)


# Sentence-final characters (Unicode Sentence_Terminal, the scripts in use on the web): what
# FineWeb counts as a line ending in punctuation, and where spaCy's sentencizer ends sentences.
TERMINAL_PUNCTUATION: frozenset[str] = frozenset(
    ".!?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？｡。"
)
TERMINAL_TUPLE = tuple(sorted(TERMINAL_PUNCTUATION))


def count_sentences(tokens: list[str]) -> int:
    """Sentences in a run of tokens, as spaCy's sentencizer splits them: a new sentence starts at
    the first word after a sentence-final punctuation token.
    Worst case: O(total characters of the tokens)."""
    if not tokens:
        return 0
    count, seen_end = 1, False
    for token in tokens:
        if token in TERMINAL_PUNCTUATION:
            seen_end = True
        elif seen_end and is_word(token):
            count += 1
            seen_end = False
    return count
