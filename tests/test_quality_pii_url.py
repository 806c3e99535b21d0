"""PII scrubbing (e-mail, IPv4/IPv6, phone numbers of several countries, look-alikes that stay)
and the URL block lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality_corpus import prose, web
from scratchlm.curate.document import Document
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.stages.pii import Pii
from scratchlm.curate.stages.url_filter import UrlFilter
from scratchlm.pipelines.config import build


def scrub(text: str, **options) -> tuple[str, dict]:
    doc = Document("d", text)
    out = Pii(**options)(doc)
    return (out.text if out else text), doc.meta


# each kind of PII: a sentence holding one ("{}" marks its place), and cases of it
SENTENCES = {
    "email": "Write to {}, we answer within a day.",
    "ip": "The server at {} answered.",
    "phone": "Call {} today.",
}
CASES = {
    "email": [
        "jane.doe@example.com",
        "j.o'brien+news@mail.example.co.uk".replace("'", ""),
        "info@mueller-gmbh.de",
        "first_last@sub.domain.museum",
        "x@abc.io",
    ],
    "ip": [
        "192.168.1.20",
        "8.8.8.8",
        "255.255.255.255",
        "10.0.0.1",
        "2001:db8:85a3::8a2e:370:7334",
        "fe80::1",
        "2001:0db8:0000:0000:0000:ff00:0042:8329",
    ],
    "phone": [
        "+1 (555) 123-4567",
        "555-123-4567",
        "(555) 123-4567",  # United States
        "+44 20 7946 0958",
        "020 7946 0958",  # United Kingdom
        "+49 30 12345678",
        "030/1234567",
        "+49 (0)30 1234 5678",  # Germany
        "+33 1 23 45 67 89",
        "01 23 45 67 89",  # France
        "+91 98765 43210",
        "+81 3-1234-5678",
        "+61 2 9876 5432",  # India, Japan, Australia
    ],
}


@pytest.mark.parametrize(
    "kind, value", [(kind, value) for kind, values in CASES.items() for value in values]
)
def test_email_addresses_ip_addresses_and_phone_numbers_are_replaced(kind, value):
    text, meta = scrub(SENTENCES[kind].format(value))
    assert text == SENTENCES[kind].format(f"<{kind.upper()}>"), text
    assert meta[f"pii_{kind}"] == 1


@pytest.mark.parametrize(
    "text",
    [
        "Python 3.11.2 and version 1.2.3.4.5 of the tool",  # version numbers
        "released on 2024-01-15, or 15.01.2024, or 01/15/2024",  # dates
        "at 12:30:45 the std::vector and a[::2] slice",  # clock times, code
        "ISBN 978-3-16-148410-0 costs 1,234,567 units",  # ISBN, big numbers
        "the years 1999-2004 and pages 100-120, zip 10115",  # ranges, postcodes
        "the MAC address 00:1A:2B:3C:4D:5E and an @mention",  # MAC, handles
    ],
)
def test_look_alikes_stay(text):
    assert scrub(text) == (text, {"pii_email": 0, "pii_ip": 0, "pii_phone": 0})


def test_real_pages_keep_their_text_and_options_switch_kinds_off():
    doc = prose("brown/ca01")
    assert Pii()(doc) is None and doc.meta["pii_phone"] == 0
    text, meta = scrub("mail a@b.org from 1.2.3.4", emails=False, email_placeholder="[e]")
    assert text == "mail a@b.org from <IP>" and meta["pii_email"] == 0
    text, _ = scrub("mail a@b.org", email_placeholder="[e]")
    assert text == "mail [e]"


def test_url_filter_domains_words_and_subwords(tmp_path: Path):
    blocklist = tmp_path / "domains.txt"
    blocklist.write_text("# adult sites\nscamlist.onion\n\nexample.net\n", encoding="utf-8")
    stage = build(
        UrlFilter, {"domains_file": str(blocklist), "subwords": ["casino"]}, "steps[0].url_filter"
    )
    assert stage(web("http://scamlist.onion/index.html")) == "url_filter:domain"
    assert stage(web("https://docs.python.org/3.11/c-api/allocation.html")) is None
    assert stage(Document("a", "t", {"url": "https://shop.example.net/x"})) == "url_filter:domain"
    assert stage(Document("a", "t", {"url": "https://notexample.net/x"})) is None
    assert (
        stage(Document("a", "t", {"url": "https://site.org/free-porn/videos"})) == "url_filter:word"
    )
    assert (
        stage(Document("a", "t", {"url": "https://site.org/classic-cars"})) is None
    )  # whole words only
    assert (
        stage(Document("a", "t", {"url": "https://bestcasinoonline.net/"})) == "url_filter:subword"
    )
    assert stage(Document("a", "t")) is None
    assert (
        UrlFilter(subwords=["Casino"])(Document("a", "t", {"url": "https://BestCasino.net/"}))
        == "url_filter:subword"
    )
    assert UrlFilter(drop_missing=True)(Document("a", "t")) == "url_filter:no_url"
    with pytest.raises(ConfigError, match="not found"):
        build(UrlFilter, {"domains_file": str(tmp_path / "missing.txt")}, "steps[0].url_filter")


def test_url_filter_matches_the_words_of_a_url_whose_host_does_not_parse():
    stage = UrlFilter(domains=["example.net"])
    assert (
        stage(Document("d", "t", {"url": "http://[broken.example.net/porn"})) == "url_filter:word"
    )
    assert stage(Document("d", "t", {"url": "http://[::1/p"})) is None
