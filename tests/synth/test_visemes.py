"""Every IPA phoneme maps to a viseme; unknown symbols fall back with a warning."""

from __future__ import annotations

import warnings

import pytest

from diffusiontalker.synth.visemes import VISEMES, parse_phoneme

# Consonants and vowels of the IPA chart that eSpeak's English (and other) voices use, with
# stress and length marks, diphthongs, triphthongs, affricates and r-coloured vowels.
BROAD_IPA = (
    "p b m f v θ ð t d n l s z ʃ ʒ tʃ dʒ k ɡ g ŋ h ɹ r ɾ w ʍ j x ç ʔ ɫ t̪ n̩ l̩ ɬ ʎ ɲ ɣ χ ʁ "
    "i iː ɪ e eː ɛ æ a aː ɑ ɑː ɒ ɔ ɔː o oː ʊ u uː ʉ ʌ ə ɚ ɜ ɜː ɐ ᵻ y ø œ ɨ ɯ ɤ "
    "aɪ aʊ eɪ oʊ ɔɪ əʊ ɪə eə ʊə aɪə ɑːɹ ɔːɹ ɛɹ ɪɹ ʊɹ ʌʊ ʌʉ əl "
    "ˈa ˈaɪ ˌoʊ ˈɔːɹ ˈiː ˌɪ ˈa: a͡ɪ ʲ _"
).split()


@pytest.mark.parametrize("phoneme", BROAD_IPA)
def test_every_broad_ipa_phoneme_maps_without_warning(phoneme):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        segments = parse_phoneme(phoneme)
    assert segments and all(s.viseme in VISEMES for s in segments)
    assert sum(s.share for s in segments) == pytest.approx(1.0)


def test_shapes_of_key_phonemes():
    assert parse_phoneme("p")[0].viseme == "bilabial"
    assert parse_phoneme("m")[0].viseme == "bilabial"
    assert parse_phoneme("f")[0].viseme == "labiodental"
    assert parse_phoneme("uː")[0].viseme == "close_back_rounded"
    assert parse_phoneme("iː")[0].viseme == "close_front"
    assert parse_phoneme("tʃ")[0].viseme == "postalveolar"
    assert [s.viseme for s in parse_phoneme("aɪ")] == ["open_front", "near_close_front"]
    assert parse_phoneme("ˈɛ")[0].stress == 1.0 and parse_phoneme("ˌɛ")[0].stress == 0.5
    assert parse_phoneme("_")[0].viseme == "rest"


def test_unknown_symbol_falls_back_to_neutral_with_a_warning():
    with pytest.warns(UserWarning, match="unknown phoneme symbol 'ʘ'"):
        segments = parse_phoneme("ʘ")
    assert [s.viseme for s in segments] == ["neutral"]
    with pytest.warns(UserWarning):
        mixed = parse_phoneme("aʘ")
    assert [s.viseme for s in mixed] == ["open_front", "neutral"]
