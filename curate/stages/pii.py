"""The ``pii`` step: replace e-mail addresses, IP addresses and phone numbers with placeholders."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

from scratchlm.curate.document import Document
from scratchlm.curate.stage import MapStage, StageResult

EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Four octets not inside a longer dotted number (version strings such as 1.2.3.4.5).
IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?!\.?\d|\w)")
# Candidates only; ipaddress validates them. Two groups of hex digits are needed, so that "::"
# in code (std::vector, a[::2]) stays, and so does "::1"; clock times (12:30:45) fail validation.
IPV6 = re.compile(
    r"(?<![\w:.])(?=[0-9A-Fa-f:]*[0-9A-Fa-f]{1,4}:[0-9A-Fa-f:]*[0-9A-Fa-f])[0-9A-Fa-f:]{4,39}(?![\w:])"
)
# Phone numbers: international (+CC, 8 to 15 digits) or national with a trunk 0 or an area code
# in parentheses, in groups separated by spaces, dots, dashes or slashes; North American
# 3-3-4. Dates (2024-01-15, 15.01.2024) and version numbers do not fit these shapes.
# The groups after +CC take their digits possessively: splitting a run of digits into more groups
# than it needs only helps to reach two groups, which the last alternative covers; without this,
# "+" and 30 digits were tried in thousands of ways before failing.
PHONE = re.compile(
    r"(?<![\w+.-])(?:"
    # +44 20 7946 0958, +1 (555) 123-4567
    r"\+\d{1,3}(?:[ .-]?\(0?\d{1,4}\))?(?:(?:[ .-]?\d{1,5}+){2,5}|[ .-]?\d{2,5}+)"
    # (555) 123-4567, (030) 1234 5678
    r"|\(0?\d{2,5}\)[ .-]?\d{3,4}(?:[ .-]?\d{2,4}){1,2}"
    # 020 7946 0958, 030/12345678, 01 23 45 67 89
    r"|0\d{1,4}(?:[ /-]\d{2,8}){1,4}"
    # 555-123-4567
    r"|[2-9]\d{2}[.-]\d{3}[.-]\d{4}"
    r")(?![\w-]|\.\d)"
)


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


@dataclass(frozen=True)
class Pii(MapStage):
    """Scrub personal data and count each kind in meta (``pii_email``, ``pii_ip``, ``pii_phone``).

    Every option is on by default; the placeholders are configurable.
    """

    emails: bool = True  # scrub e-mail addresses
    ips: bool = True  # scrub IP addresses
    phones: bool = True  # scrub phone numbers
    email_placeholder: str = "<EMAIL>"  # text put in place of an e-mail address
    ip_placeholder: str = "<IP>"  # text put in place of an IP address
    phone_placeholder: str = "<PHONE>"  # text put in place of a phone number

    def __call__(self, doc: Document) -> StageResult:
        """Worst case: O(n) in the text's length. Each pattern does bounded work per position:
        EMAIL's parts are bounded but for the domain's labels, scanned from the one start an "@"
        allows; IPV6's lookahead runs from the first character of a hex/colon run only; IPV4 and
        PHONE are bounded (PHONE's groups possessive). Matches (at most 39 characters for IPV6)
        are validated in time linear in their length."""
        text = doc.text
        counts = {"pii_email": 0, "pii_ip": 0, "pii_phone": 0}
        if self.emails and "@" in text:
            text, counts["pii_email"] = EMAIL.subn(self.email_placeholder, text)
        if self.ips:
            text, counts["pii_ip"] = (
                self._replace(IPV6, text, _is_ipv6, self.ip_placeholder)
                if ":" in text
                else (text, 0)
            )
            text, n = IPV4.subn(self.ip_placeholder, text)
            counts["pii_ip"] += n
        if self.phones:
            text, counts["pii_phone"] = self._replace(
                PHONE, text, _is_phone, self.phone_placeholder
            )
        doc.meta.update(counts)
        if text == doc.text:
            return None
        return Document(doc.id, text, doc.meta)

    @staticmethod
    def _replace(
        pattern: re.Pattern[str], text: str, valid: Callable[[str], bool], placeholder: str
    ) -> tuple[str, int]:
        count = 0

        def swap(match: re.Match[str]) -> str:
            nonlocal count
            if not valid(match.group()):
                return match.group()
            count += 1
            return placeholder

        return pattern.sub(swap, text), count


def _is_ipv6(candidate: str) -> bool:
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def _is_phone(candidate: str) -> bool:
    digits = _digits(candidate)
    return 8 <= digits <= 15 if candidate.startswith("+") else 9 <= digits <= 13


STAGE = Pii
