"""The fast (HF tokenizers) and didactic (pure Python) byte-level BPE, held against each other."""

from __future__ import annotations

import hashlib
import json

import pytest
from tokenizers import Tokenizer

from conftest import run_cli
from scratchlm.tokenizer.config import EOS_TOKEN, BpeConfig
from scratchlm.tokenizer.corpus import corpus_files
from scratchlm.tokenizer.didactic import DidacticBPE
from scratchlm.tokenizer.train import train_bpe, train_to_folder
from tokenizer_samples import HARD_STRINGS, page_texts, prose

VOCAB = 1200
SPECIALS = (EOS_TOKEN, "<|pad|>")


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return prose(300_000)


@pytest.fixture(scope="module")
def fast(corpus: list[str]) -> Tokenizer:
    return train_bpe(corpus, BpeConfig(vocab_size=VOCAB, special_tokens=SPECIALS))


@pytest.fixture(scope="module")
def didactic(corpus: list[str]) -> DidacticBPE:
    return DidacticBPE.train(corpus, VOCAB, special_tokens=SPECIALS)


def fast_round_trip(tokenizer: Tokenizer, text: str) -> str:
    return tokenizer.decode(tokenizer.encode(text).ids, skip_special_tokens=False)


def test_both_round_trip_arbitrary_unicode(fast: Tokenizer, didactic: DidacticBPE) -> None:
    texts = HARD_STRINGS + page_texts()
    for text in texts:
        assert fast_round_trip(fast, text) == text
        assert didactic.decode(didactic.encode(text)) == text


def test_bytes_per_token_agree_within_two_percent(
    corpus: list[str], fast: Tokenizer, didactic: DidacticBPE
) -> None:
    size = sum(len(t.encode("utf-8")) for t in corpus)
    fast_bpt = size / sum(len(e.ids) for e in fast.encode_batch(corpus))
    didactic_bpt = size / sum(len(didactic.encode(t)) for t in corpus)
    assert fast.get_vocab_size() == didactic.vocab_size == VOCAB
    assert abs(fast_bpt / didactic_bpt - 1) < 0.02
    assert fast_bpt > 2.5  # the merges compress English prose, well beyond one byte per token


def test_each_loads_the_others_tokenizer_json_and_encodes_alike(
    tmp_path, corpus, fast, didactic
) -> None:
    fast.save(str(tmp_path / "fast.json"))
    didactic.save(tmp_path / "didactic.json")
    from_fast = DidacticBPE.load(tmp_path / "fast.json")
    from_didactic = Tokenizer.from_file(str(tmp_path / "didactic.json"))
    texts = corpus[:5] + HARD_STRINGS
    for text in texts:
        assert from_fast.encode(text) == fast.encode(text).ids
        assert from_didactic.encode(text).ids == didactic.encode(text)
        assert from_didactic.decode(didactic.encode(text), skip_special_tokens=False) == text


@pytest.mark.parametrize(
    "text",
    [
        "a<|endoftext|>b",
        " <|endoftext|>\n",
        "x<|pad|><|endoftext|><|endoftext|>y",
        "<|endoftext|>",
        "<|endof<|endoftext|>text|>",
        "中<|pad|>🤖",
    ],
)
def test_special_tokens_are_never_split(text: str, fast: Tokenizer, didactic: DidacticBPE) -> None:
    def expected(encode, ids: dict[str, int]) -> list[int]:
        out, rest = [], text
        while rest:
            hits = [(rest.find(s), s) for s in ids if s in rest]
            if not hits:
                return out + encode(rest)
            at, special = min(hits)
            out += encode(rest[:at]) + [ids[special]]
            rest = rest[at + len(special) :]
        return out

    fast_ids = {s: fast.token_to_id(s) for s in SPECIALS}
    assert fast.encode(text).ids == expected(lambda t: fast.encode(t).ids if t else [], fast_ids)
    assert didactic.encode(text) == expected(didactic.encode, didactic.special_tokens)
    assert fast_round_trip(fast, text) == text and didactic.decode(didactic.encode(text)) == text


def test_merge_loop_merges_the_most_frequent_pair_first() -> None:
    # pre-tokens "ab", " ab" x2, " cd": pairs (a,b) 3 times, (space,a) twice, (space,c) and (c,d)
    # once
    bpe = DidacticBPE.train(["ab ab ab cd"], vocab_size=259, min_frequency=1)
    assert [bpe.vocab[i] for i in range(257, 259)] == [b"ab", b" ab"]
    stingy = DidacticBPE.train(["ab ab ab cd"], vocab_size=300, min_frequency=3)
    assert stingy.vocab_size == 258  # only (a,b) reaches three occurrences


def test_cli_train_then_eval_per_language(tmp_path, data_dir) -> None:
    corpus = data_dir / "langid-dev.jsonl.gz"
    result = run_cli(
        "tokenizer",
        "train",
        "--input",
        str(corpus),
        "--output",
        str(tmp_path / "tok"),
        "--vocab-size",
        "700",
    )
    assert result.returncode == 0, result.stderr
    stats = json.loads((tmp_path / "tok" / "tokenizer.stats.json").read_text())
    assert (
        stats["sha256"]
        == hashlib.sha256((tmp_path / "tok" / "tokenizer.json").read_bytes()).hexdigest()
    )
    assert stats["docs"] == 1000 and stats["vocab_size"] == 700

    result = run_cli(
        "tokenizer",
        "eval",
        "--tokenizer",
        str(tmp_path / "tok" / "tokenizer.json"),
        "--input",
        str(corpus),
        "--json",
        str(tmp_path / "eval.json"),
    )
    assert result.returncode == 0, result.stderr
    rows = {row["lang"]: row for row in json.loads((tmp_path / "eval.json").read_text())}
    assert set(rows) == {"all", "de", "ru", "es", "it", "pl", "cs", "zh", "bg", "eo", "en"}
    languages = [row for lang, row in rows.items() if lang != "all"]
    assert all(row["docs"] == 100 and row["round_trip_exact"] == "100/100" for row in languages)
    assert rows["all"]["bytes"] == stats["bytes"]
    # 700 tokens cannot hold most CJK characters whole: Chinese falls back to bytes, English hardly
    assert rows["zh"]["byte_fallback_share"] > 10 * rows["en"]["byte_fallback_share"]
    assert rows["all"]["unknown_share"] == 0


def test_training_is_deterministic_and_honours_limit_bytes(tmp_path, corpus) -> None:
    source = tmp_path / "corpus.jsonl"
    source.write_text(
        "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(corpus[:12]))
    )
    config = BpeConfig(vocab_size=500, limit_bytes=50_000)
    first = train_to_folder(corpus_files([str(source)]), config, tmp_path / "a")
    second = train_to_folder(corpus_files([str(source)]), config, tmp_path / "b")
    assert first["sha256"] == second["sha256"]
    sizes = [len(t.encode("utf-8")) for t in corpus[:12]]
    taken = next(i for i in range(1, 13) if sum(sizes[:i]) >= 50_000)
    assert first["docs"] == taken and first["bytes"] == sum(sizes[:taken])
