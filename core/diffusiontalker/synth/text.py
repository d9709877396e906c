"""Sentences from a vocabulary and grammar of our own: an unlimited supply of distinct texts.

A small phrase-structure grammar (templates whose slots are filled from word classes) writes
statements, questions, imperatives, reported speech, coordinated clauses and numbers. The
vocabulary is chosen to cover the sounds that matter to the lips: bilabials, labiodentals,
rounded and spread vowels, sibilants, glides.
"""

from __future__ import annotations

import numpy as np

NAMES = ("Mia", "Paul", "Bob", "Fiona", "Victor", "Rosa", "Omar", "Wendy", "Theo", "June",
         "Martha", "Felix", "Ivy", "Lucas", "Beth", "Hugo", "Nora", "Sam", "Zoe", "Ravi")
ADJECTIVES = ("big", "small", "blue", "bright", "quiet", "warm", "cold", "heavy", "smooth",
              "broken", "famous", "empty", "purple", "fresh", "old", "huge", "sharp", "thin",
              "busy", "lovely", "wooden", "yellow", "rough", "soft", "funny", "strange",
              "beautiful", "careful", "modern", "ancient", "simple", "shiny", "gloomy")
NOUNS = ("map", "book", "boat", "window", "garden", "piano", "letter", "bottle", "mirror",
         "bridge", "museum", "pocket", "movie", "puzzle", "jacket", "shoe", "feather", "valley",
         "village", "teacher", "doctor", "farmer", "baby", "soup", "coffee", "phone", "camera",
         "wheel", "rope", "moon", "umbrella", "balloon", "violin", "forest", "picture", "spoon",
         "question", "machine", "orange", "cushion", "engine", "problem", "market", "rumour")
PLURALS = ("apples", "boxes", "birds", "maps", "photos", "flowers", "windows", "wolves",
           "voices", "shoes", "pumpkins", "fish", "ships", "boots", "puppies", "numbers")
VERBS_PAST = ("bought", "found", "moved", "fixed", "opened", "painted", "pushed", "brought",
              "watched", "borrowed", "carried", "dropped", "mentioned", "played", "followed",
              "measured", "washed", "weighed", "chose", "remembered", "threw", "pulled")
VERBS_BASE = ("buy", "find", "move", "fix", "open", "paint", "push", "bring", "watch",
              "borrow", "carry", "drop", "check", "play", "follow", "measure", "wash", "choose",
              "keep", "show", "throw", "pull", "visit", "improve", "approve")
INTRANSITIVE = ("smiled", "waited", "laughed", "whispered", "shouted", "vanished", "slept",
                "worked", "arrived", "left", "paused", "wondered", "moved on", "gave up")
ADVERBS = ("slowly", "quickly", "quietly", "happily", "badly", "carefully", "fairly",
           "perfectly", "suddenly", "patiently", "bravely", "politely", "roughly", "often")
PREPOSITIONS = ("in", "behind", "beside", "under", "above", "near", "by", "before", "past",
                "across", "through", "without", "between")
PLACES = ("the kitchen", "the harbour", "the old museum", "the market square", "the bus stop",
          "the office", "the park", "the beach", "the library", "the farm", "the river",
          "the mountains", "the school", "the station", "the bakery", "the zoo")
TIMES = ("Yesterday", "This morning", "Last week", "On Monday", "After lunch", "Every summer",
         "By the evening", "Before dawn", "At midnight", "Some years ago", "Tomorrow",
         "Now and then", "In February", "Later on")
NUMBERS = ("two", "three", "four", "five", "seven", "nine", "twelve", "fifteen", "twenty",
           "thirty", "forty", "a hundred", "ninety nine", "sixty")
SAY = ("said", "told me", "promised", "believed", "explained", "admitted", "whispered",
       "suggested", "was sure")
CONNECTIVES = ("but", "and", "so", "because", "although", "while", "until")
EXCLAIM = ("Oh", "Well", "Wow", "Hmm", "Look", "Honestly", "Of course", "Oh boy", "Please",
           "You know")


def _pick(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    return words[int(rng.integers(len(words)))]


def _noun_phrase(rng: np.random.Generator) -> str:
    r = rng.random()
    if r < 0.2:
        return _pick(rng, NAMES)
    if r < 0.35:
        return f"{_pick(rng, NUMBERS)} {_pick(rng, ADJECTIVES)} {_pick(rng, PLURALS)}"
    det = _pick(rng, ("the", "a", "my", "your", "her", "his", "our", "this", "that"))
    if det == "a":
        adjective = _pick(rng, ADJECTIVES)
        det = "an" if adjective[0] in "aeiou" else "a"
        return f"{det} {adjective} {_pick(rng, NOUNS)}"
    if rng.random() < 0.6:
        return f"{det} {_pick(rng, ADJECTIVES)} {_pick(rng, NOUNS)}"
    return f"{det} {_pick(rng, NOUNS)}"


def _clause(rng: np.random.Generator) -> str:
    subject = _noun_phrase(rng)
    r = rng.random()
    if r < 0.45:
        out = f"{subject} {_pick(rng, VERBS_PAST)} {_noun_phrase(rng)}"
    elif r < 0.7:
        out = f"{subject} {_pick(rng, INTRANSITIVE)} {_pick(rng, ADVERBS)}"
    else:
        out = f"{subject} {_pick(rng, VERBS_PAST)} {_noun_phrase(rng)} {_pick(rng, PREPOSITIONS)} {_pick(rng, PLACES)}"
    return out


def _capital(s: str) -> str:
    return s[0].upper() + s[1:]


def sentence(rng: np.random.Generator) -> str:
    """One sentence: a statement, question, imperative or reported clause."""
    kind = int(rng.integers(9))
    if kind == 0:
        return f"{_pick(rng, TIMES)}, {_clause(rng)}."
    if kind == 1:
        return f"{_pick(rng, NAMES)} {_pick(rng, SAY)} that {_clause(rng)}."
    if kind == 2:
        aux = _pick(rng, ("Did", "Could", "Would", "Should", "Will"))
        return f"{aux} {_noun_phrase(rng)} {_pick(rng, VERBS_BASE)} {_noun_phrase(rng)} {_pick(rng, PREPOSITIONS)} {_pick(rng, PLACES)}?"
    if kind == 3:
        wh = _pick(rng, ("Why", "When", "Where", "How"))
        return f"{wh} did {_noun_phrase(rng)} {_pick(rng, VERBS_BASE)} {_noun_phrase(rng)}?"
    if kind == 4:
        return f"Please {_pick(rng, VERBS_BASE)} {_noun_phrase(rng)} {_pick(rng, ADVERBS)}."
    if kind == 5:
        return f"{_capital(_clause(rng))} {_pick(rng, CONNECTIVES)} {_clause(rng)}."
    if kind == 6:
        return f"{_pick(rng, EXCLAIM)}, {_clause(rng)}!"
    if kind == 7:
        return f"There were {_pick(rng, NUMBERS)} {_pick(rng, PLURALS)} {_pick(rng, PREPOSITIONS)} {_pick(rng, PLACES)}."
    return f"{_capital(_clause(rng))}."


def utterance_text(rng: np.random.Generator, max_sentences: int = 3) -> str:
    """One to ``max_sentences`` sentences, shorter ones more often."""
    count = 1 + int(rng.choice(max_sentences, p=_sentence_count_weights(max_sentences)))
    return " ".join(sentence(rng) for _ in range(count))


def _sentence_count_weights(n: int) -> np.ndarray:
    w = np.array([0.5 ** i for i in range(n)])
    return w / w.sum()
