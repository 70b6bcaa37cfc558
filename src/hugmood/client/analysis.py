"""On-device mood analysis: VADER sentiment plus HugMood's emotion lexicon, offline.

Nothing is downloaded at run time: VADER's lexicon ships inside the `vaderSentiment` package
and the emotion lexicon is HugMood's own (`emotion_lexicon.py`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from hugmood.client.emotion_lexicon import ENERGY, MOOD_WORDS, PHRASES, STEMS
from hugmood.client.records import Insights
from hugmood.domain.vocabulary import MOODS

_WORD = re.compile(r"[a-z']+")
_NEGATIONS = frozenset({"not", "no", "never", "isn't", "wasn't", "don't", "didn't", "can't"})
MAX_EMOTIONS = 3


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=4096)
def _emotions_of(token: str) -> tuple[str, ...]:
    """The emotions of the longest stem that begins `token` (stems of 2 letters match whole)."""
    for end in range(len(token), 1, -1):
        found = STEMS.get(token[:end])
        if found is not None and (end > 2 or end == len(token)):
            return found
    return ()


def emotion_counts(text: str) -> Counter[str]:
    """How often each emotion is signalled; a word right after a negation does not count."""
    lower = text.lower()
    counts: Counter[str] = Counter()
    tokens = _WORD.findall(lower)
    for i, token in enumerate(tokens):
        if i and tokens[i - 1] in _NEGATIONS:
            continue
        counts.update(_emotions_of(token))
    for phrase, emotions in PHRASES.items():
        if phrase in lower:
            counts.update(emotions)
    return counts


def suggest_mood(text: str, sentiment: float, counts: Counter[str]) -> str:
    """A vocabulary word: one the note names itself (not negated), else the nearest word on
    the energy × pleasantness plane."""
    tokens: list[str] = _WORD.findall(text.lower())
    for i, token in enumerate(tokens):
        if token in MOODS and not (i and tokens[i - 1] in _NEGATIONS):
            return token
    total = sum(counts.values())
    energy = sum(ENERGY[e] * n for e, n in counts.items()) / total if total else 0.0
    candidates = list(MOODS.values())
    if counts:
        dominant = min(counts, key=lambda e: (-counts[e], e))
        fitting = [
            MOODS[w]
            for w in MOOD_WORDS[dominant]
            if abs(sentiment) < 0.05 or (MOODS[w].pleasantness > 0) == (sentiment > 0)
        ]
        candidates = fitting or candidates
    nearest = min(
        candidates, key=lambda w: math.hypot(w.energy - energy, w.pleasantness - sentiment)
    )
    return nearest.word


def analyse(note: str) -> Insights:
    """Sentiment (VADER compound, -1..1), up to three emotion tags and a suggested mood."""
    sentiment = round(float(_vader().polarity_scores(note)["compound"]), 4)
    counts = emotion_counts(note)
    emotions = tuple(e for e, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return Insights(sentiment, emotions[:MAX_EMOTIONS], suggest_mood(note, sentiment, counts))
