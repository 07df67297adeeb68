"""A word-prefix index over a fixed set of documents (products, posts):
every query word must prefix a word of a document. Sets of document
positions stand in for the reference's bitsets; the answers are the same."""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Iterable, Iterator

_WORD = re.compile(r"[A-Za-z0-9]+")


def words(text: str) -> Iterator[str]:
    """The words of `text`: runs of ASCII letters and digits, lower-cased."""
    return (w.lower() for w in _WORD.findall(text))


def has_words(text: str) -> bool:
    """Whether `text` holds at least one word."""
    return _WORD.search(text) is not None


class WordIndex:
    """A sorted vocabulary, each word with the documents that contain it."""

    def __init__(self, documents: Iterable[Iterable[str]]):
        postings: dict[str, set[int]] = {}
        for doc, texts in enumerate(documents):
            for text in texts:
                for word in words(text):
                    postings.setdefault(word, set()).add(doc)
        self._vocabulary = sorted(postings)
        self._postings = [frozenset(postings[w]) for w in self._vocabulary]

    def search(self, query: str) -> frozenset[int] | None:
        """The documents matching every word of `query`, a query word matching
        any indexed word it is a prefix of (`lap` finds `laptop`). None when
        the query has no words."""
        result: frozenset[int] | None = None
        for term in words(query):
            start = bisect_left(self._vocabulary, term)
            found: set[int] = set()
            for k in range(start, len(self._vocabulary)):
                if not self._vocabulary[k].startswith(term):
                    break
                found.update(self._postings[k])
            result = frozenset(found) if result is None else result & found
        return result
