"""The datatrove half of benchmarks/vs_datatrove.py; runs inside datatrove's own virtual
environment.

    python _datatrove_side.py CORPUS.jsonl OUT.json LID_MODEL BADWORDS_DIR
    python _datatrove_side.py --tokens CORPUS.jsonl OUT.json

Answers, for every document of CORPUS, each filter's decision taken alone (True = keep, else the
reason), then times the chain LID -> Gopher repetition -> Gopher quality -> C4 -> FineWeb on one
core, as datatrove's pipeline runs it (a document leaves the chain at its first failing filter,
and C4 rewrites the text it passes on). With ``--tokens``, it writes instead the number of words
datatrove's English word tokenizer (spaCy) gives each document.
"""

import json
import sys
import time

from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4BadWordsFilter,
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
    LanguageFilter,
    c4_filters,
)
from datatrove.utils import lid
from datatrove.utils.typeshelper import Languages
from datatrove.utils.word_tokenizers import load_word_tokenizer


def keeps(result) -> bool:
    return not isinstance(result, tuple) and bool(result)


def token_counts(corpus: str, out: str) -> None:
    tokenizer = load_word_tokenizer(Languages.english)
    counts = [
        len(tokenizer.word_tokenize(json.loads(line)["text"]))
        for line in open(corpus, encoding="utf-8")
    ]
    json.dump(counts, open(out, "w"))


def main() -> None:
    if sys.argv[1] == "--tokens":
        token_counts(*sys.argv[2:4])
        return
    corpus, out, model, badwords = sys.argv[1:5]
    # no downloads: the same lid.176 model and LDNOOBW lists as scratchlm's
    lid.cached_asset_path_or_download = lambda *a, **k: model
    c4_filters.cached_asset_path_or_download = lambda url, **k: (
        f"{badwords}/{url.rsplit('/', 1)[1]}.txt"
    )
    records = [json.loads(line) for line in open(corpus, encoding="utf-8")]
    filters = {
        "language": LanguageFilter(languages=["en"]),
        "gopher_repetition": GopherRepetitionFilter(),
        "gopher_quality": GopherQualityFilter(),
        "c4_quality": C4QualityFilter(),
        "c4_badwords": C4BadWordsFilter(),
        "fineweb_quality": FineWebQualityFilter(),
    }

    def decide(flt, text):
        result = flt.filter(Document(text=text, id="x", metadata={}))
        return True if keeps(result) else (result[1] if isinstance(result, tuple) else "dropped")

    for flt in filters.values():  # load models and tokenizers before timing
        decide(flt, "Warm up the filters with a short English sentence of text.")
    decisions = {name: [decide(flt, r["text"]) for r in records] for name, flt in filters.items()}

    chain = [
        filters[n]
        for n in (
            "language",
            "gopher_repetition",
            "gopher_quality",
            "c4_quality",
            "fineweb_quality",
        )
    ]
    start = time.process_time()
    kept = []
    for r in records:
        doc = Document(text=r["text"], id=r["id"], metadata={})
        if all(keeps(flt.filter(doc)) for flt in chain):
            kept.append(doc.id)
    seconds = time.process_time() - start
    json.dump(
        {"decisions": decisions, "chain_seconds": seconds, "chain_kept": kept}, open(out, "w")
    )


if __name__ == "__main__":
    main()
