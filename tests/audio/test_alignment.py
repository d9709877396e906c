"""Forced alignment of a transcript, and the check that it matches the audio (audio.alignment).

The speech is the shipped demo sentence (eSpeak NG, made by this project's synth; its text is
in core/diffusiontalker/data/README.md) and an utterance of the synth itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.audio import alignment as al
from diffusiontalker.audio.loading import SAMPLE_RATE, load_audio
from diffusiontalker.errors import AudioError
from diffusiontalker.paths import DATA_DIR

pytestmark = pytest.mark.needs_in_ci
pytest.importorskip("pocketsphinx")

DEMO_TEXT = "Hello there! I am a talking head, animated with diffusion. Watch my lips move."
DEMO_WORDS = ("hello there i am a talking head animated with diffusion watch my lips "
              "move").split()


@pytest.fixture(scope="module")
def demo_wave():
    return load_audio(DATA_DIR / "demo_speech.wav")


@pytest.fixture(scope="module")
def demo_alignment(demo_wave):
    return al.align_transcript(demo_wave, SAMPLE_RATE, DEMO_TEXT)


def test_normalize_transcript():
    assert al.normalize_transcript("Hello, World! It's a well-known “fact”…") == \
        ["hello", "world", "it's", "a", "well", "known", "fact"]
    assert al.normalize_transcript("Room 42 & café") == ["room", "forty", "two", "and", "cafe"]
    assert al.spell_number(0) == "zero" and al.spell_number(115) == "one hundred fifteen"
    with pytest.raises(AudioError, match="'1999', '3:30', '3.5', '2nd'; write them"):
        al.normalize_transcript("In 1999 at 3:30, 3.5 of the 2nd, 7 times")
    with pytest.raises(AudioError, match="no words"):
        al.normalize_transcript(" ?! ")


def test_the_demo_sentence_aligns_word_for_word(demo_wave, demo_alignment):
    words = demo_alignment.words
    assert [w.name for w in words] == DEMO_WORDS
    assert demo_alignment.matches and demo_alignment.attempt == 0
    duration = len(demo_wave) / SAMPLE_RATE
    # 0.4 s of silence at both ends (data/README.md); words in order, inside the speech
    assert 0.3 < words[0].start and words[-1].end < duration - 0.2
    assert all(a.end <= b.start + 1e-9 for a, b in zip(words[:-1], words[1:], strict=True))
    phones = [p for p in demo_alignment.phones if p.start < duration]
    speech = [p.name for p in phones if p.name != "SIL"]
    # /m/ of "am", "animated", "my", "move"; /p/ of "lips"; /f/ of "diffusion"; /v/ of "move"
    assert speech.count("M") == 4 and speech.count("P") == 1 and speech.count("V") == 1
    watch = next(w for w in words if w.name == "watch")
    m_of_my = next(p for p in phones if p.name == "M" and p.start >= watch.end - 1e-9)
    my = words[DEMO_WORDS.index("my")]
    assert my.start - 1e-9 <= m_of_my.start < m_of_my.end <= my.end + 1e-9


def test_speech_check_still_exports_the_alignment():
    from diffusiontalker.evaluation import speech_check

    assert speech_check.Phone is al.Phone and speech_check.align_phones is al.align_phones


def test_a_wrong_transcript_is_refused(demo_wave):
    with pytest.raises(AudioError, match="does not match the audio"):
        al.align_transcript(demo_wave, SAMPLE_RATE, "Please bring my brown umbrella before "
                                                    "the storm, said the old man.")


def test_a_missing_sentence_is_refused(demo_wave):
    """The last sentence dropped: every word still aligns, but speech lands in a 'pause'."""
    with pytest.raises(AudioError, match="speech where the text has none"):
        al.align_transcript(demo_wave, SAMPLE_RATE, DEMO_TEXT.rsplit(" Watch", 1)[0])


def test_words_missing_from_the_dictionary_are_named(demo_wave):
    with pytest.raises(AudioError, match="'diffusiontalker', 'blorptastic'") as info:
        al.align_transcript(demo_wave, SAMPLE_RATE,
                            "Hello there, I am DiffusionTalker, blorptastic and animated.")
    assert "dictionary" in str(info.value)


def test_a_partial_alignment_is_retried_with_a_wider_beam(demo_wave):
    narrow = (1e-5, 0.25)  # so narrow a beam that no path reaches the end of the text
    with pytest.raises(AudioError, match="forced alignment (stopped|found no path)"):
        al.measure_alignment(demo_wave, SAMPLE_RATE, DEMO_TEXT, attempts=(narrow,))
    alignment = al.measure_alignment(demo_wave, SAMPLE_RATE, DEMO_TEXT,
                                     attempts=(narrow, al.ATTEMPTS[0]))
    assert alignment.attempt == 1 and [w.name for w in alignment.words] == DEMO_WORDS


def test_speech_of_the_projects_synth_aligns():
    from diffusiontalker.synth.espeak import synthesize

    text = "Maybe Paul will meet Bob by the empty map room."
    utt = synthesize(text, "en-us", rate=160)
    alignment = al.align_transcript(utt.audio, utt.sample_rate, text)
    assert [p.name for p in alignment.phones].count("M") == 5  # maybe meet empty map room
    # eSpeak's own phone times: the first /m/ of "maybe" starts within 50 ms of PocketSphinx's
    espeak_m = next(p for p in utt.phones if p.phoneme.strip("ˈˌ") == "m")
    ours = next(p for p in alignment.phones if p.name == "M")
    assert abs(ours.start - espeak_m.start) < 0.05


def test_audio_too_long_to_align_is_refused_before_decoding():
    wave = 0.1 * np.random.default_rng(0).standard_normal(
        int((al.MAX_SECONDS + 1) * SAMPLE_RATE)).astype(np.float32)
    with pytest.raises(AudioError, match="in pieces"):
        al.measure_alignment(wave, SAMPLE_RATE, "hello")
