"""Forced alignment of a transcript to speech, with a check that the text matches the audio.

PocketSphinx 5 (``pip install pocketsphinx==5.1.1``, its bundled US-English acoustic model and
CMUdict) aligns the words in two passes, as its documentation describes for
``Decoder.set_align_text`` / ``set_alignment``: a word pass over a grammar of the transcript
(optional silences between words), then a state-level pass that gives each phone its frames
(10 ms). The grammar's best-path rescoring is off (``bestpath=False``): with it the second
pass can fail ("phone has impossible duration").

**Partial alignments.** When the word pass cannot reach the end of the grammar, PocketSphinx
returns the best *partial* path, silently. Every transcript word must come back, in order;
otherwise the alignment is retried with a wider beam and more silence padding
(:data:`ATTEMPTS`), and after the last try :class:`AudioError` says how far it got.

**Does the text match the audio?** A forced alignment always finds *some* path. Its acoustic
score per frame is compared with that of the best phone string the audio supports on its
own: a free phone-loop decode (PocketSphinx's allphone search, its bundled phone bigram
weighted lightly: :data:`PHONE_LOOP_LW`), whose phones are aligned by the same state-level
pass, so both are in the same units (PocketSphinx's scaled log-likelihood per 10 ms frame,
relative to the frame's best senone: every senone is scored, see :func:`_decoder`). The
difference, the log-likelihood ratio of utterance verification (Sukkar & Lee 1996; the
free-phone-loop normaliser of HTK confidence measures), is checked twice:

- ``match``, its mean over the audio, must be at least :data:`MATCH_THRESHOLD`: a correct
  text fits about as well as the phone loop, or better (the words bring a lexicon and
  cross-word triphones); another text or shuffled words fit far worse;
- ``silence_match``, its mean over each aligned pause of :data:`LONG_SILENCE` or more, must be
  at least :data:`SILENCE_THRESHOLD`: a text missing a sentence aligns the rest well and
  leaves the missing speech to a "pause", which the phone loop fills with phones.

Calibrated by ``scripts/measure_transcript_alignment.py`` (docs/results.md) on 13 real clips
and 16 eSpeak NG utterances of the identity library's voices, with their texts and wrong ones
(another clip's text, shuffled words, a third of the words or a sentence dropped, another
text added). Real speech: every correct text accepted (lowest ``match`` -0.3), every other /
shuffled / dropped text refused (highest ``match`` of those judged by it -12.2; pauses of a
dropped text -20.6 or lower, of correct texts 0), 11 of 13 added texts refused (2 with their
extra words fitted into the closing silence). eSpeak: 10 of 16 correct texts accepted
(``match`` -18.1 to +1.2: the model is US English; the Scottish, Caribbean, West Midlands
and New York voices fit worst), every wrong text but single-word substitutions refused. One
substituted word is beyond a whole-text check (12 of 13 real ones accepted); ``Word.match``
flags it (``direction.transcript`` keys no phone of a word below -40: no correct real word
fell below -24.1, 12 of 13 substituted ones did).

**Text.** :func:`normalize_transcript` lower-cases, strips accents and punctuation, splits
hyphenated words, spells whole numbers below 1000 ("42" -> "forty two") and refuses other
numbers (years, decimals, times, prices, ordinals), whose reading it cannot know; words
missing from the dictionary are named in the error.

**Audio.** 16-bit PCM with a fixed ~2 LSB noise (:func:`_pcm`; digital silence makes the
search lose every path) and :data:`ATTEMPTS` paddings. Phone times are seconds from the audio
start; the closing silence may run into the padding, past the end of the audio.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AudioError
from .loading import SAMPLE_RATE, load_audio, require_sound

FRAME_SECONDS = 0.01  # PocketSphinx's frame period
# (beam, seconds of silence padded at both ends) per try; wider and longer after a partial one.
ATTEMPTS: tuple[tuple[float, float], ...] = ((1e-48, 0.25), (1e-64, 0.5), (1e-80, 1.0))
# The two checks (calibration: scripts/measure_transcript_alignment.py, module docstring):
MATCH_THRESHOLD = -12.0  # lowest mean log-likelihood ratio per frame of a matching text
SILENCE_THRESHOLD = -10.0  # lowest such mean over any aligned pause of LONG_SILENCE or more
LONG_SILENCE = 0.5  # seconds
MAX_SECONDS = 120.0  # longest audio aligned: memory grows with its square (133 s: 0.5 GB)
PHONE_LOOP_LW = 2.0  # language weight of the phone bigram in the free decode (default 6.5)
DITHER_LSB = 2.0  # standard deviation of the fixed noise added before aligning (_pcm)
PHONES = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T "
          "TH UH UW V W Y Z ZH").split()
INSTALL = "pip install pocketsphinx==5.1.1"
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


@dataclass(frozen=True)
class Phone:
    """One aligned phone (ARPAbet name; ``SIL`` for silence and noise), times in seconds."""

    name: str
    start: float
    end: float


@dataclass(frozen=True)
class Word:
    """One aligned transcript word, its times in seconds and its own mean match per frame."""

    name: str
    start: float
    end: float
    match: float


@dataclass
class Alignment:
    """What :func:`align_transcript` found (module docstring)."""

    words: list[Word]
    phones: list[Phone]
    match: float  # mean log-likelihood ratio per frame against the free phone loop
    silence_match: float  # the lowest such mean over an aligned pause >= LONG_SILENCE (0: none)
    attempt: int  # 0 for the first of ATTEMPTS

    @property
    def matches(self) -> bool:
        """Both checks of the module docstring pass (False when they could not be made)."""
        return self.match >= MATCH_THRESHOLD and self.silence_match >= SILENCE_THRESHOLD


def spell_number(n: int) -> str:
    """A whole number 0..999 in words, as US English reads it ("two hundred fifty one")."""
    if not 0 <= n < 1000:
        raise ValueError(f"{n} is out of range (0..999)")
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    rest = n % 100
    return f"{_ONES[n // 100]} hundred" + ("" if rest == 0 else " " + spell_number(rest))


def normalize_transcript(text: str) -> list[str]:
    """The words of ``text`` as the dictionary spells them (module docstring, **Text**).

    AudioError naming the numbers that are not a plain whole number below 1000 (years,
    decimals, times, prices, ordinals), and for a text with no words."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"[\u2018\u2019\u02bc`\u00b4]", "'", text).replace("&", " and ")
    # numbers with their signs and separators: "$5", "3.5", "9:30", "1,000", "50%", "2nd"
    unreadable = [m.group() for m in re.finditer(r"[$\u20ac\u00a3]?\w*\d(?:[\w.,:/]*\w)?%?", text)
                  if not (m.group().isdigit() and int(m.group()) < 1000)]
    words: list[str] = []
    for token in re.split(r"[^\w']+|_", text):
        token = token.strip("'")
        if token.isdigit():
            words += spell_number(int(token)).split() if int(token) < 1000 else []
        elif token and not any(c.isdigit() for c in token):
            words.append(token)
    if unreadable:
        raise AudioError(
            "the transcript has numbers written with digits whose reading is ambiguous: "
            f"{', '.join(repr(u) for u in unreadable)}; write them as they are spoken "
            "(e.g. 'nineteen ninety nine', 'three point five', 'five dollars', 'first')")
    if not words:
        raise AudioError("the transcript has no words; give the text that is spoken")
    return words


def _model_dir() -> Path:
    try:
        import pocketsphinx
    except ImportError as exc:
        raise AudioError("aligning a transcript needs the 'pocketsphinx' package "
                         f"({INSTALL})") from exc
    return Path(pocketsphinx.__file__).parent / "model" / "en-us"


def _decoder(beam: float = 1e-48, **config):
    """A decoder without a language model; ``beam`` also sets the phone beam, and the word
    exit beam 16 decades narrower (PocketSphinx's defaults: 1e-48, 1e-48, 7e-29). Every
    senone is scored in every frame (``compallsen``): PocketSphinx normalises a frame's
    scores by its best *computed* senone, so only then are the scores of two searches
    comparable (otherwise speech aligned to silence scores well, silence being the only
    senone computed there)."""
    from pocketsphinx import Decoder

    return Decoder(samprate=SAMPLE_RATE, loglevel="FATAL", lm=None, beam=beam, pbeam=beam,
                   wbeam=beam * 1e16, bestpath=False, compallsen=True, **config)


def missing_words(words: list[str]) -> list[str]:
    """The words PocketSphinx's dictionary lacks, each once, in order."""
    _model_dir()
    decoder = _decoder()
    return list(dict.fromkeys(w for w in words if decoder.lookup_word(w) is None))


def _pcm(wave: np.ndarray, pad: float) -> bytes:
    """16-bit PCM with ``pad`` seconds of silence at both ends, plus a fixed (seeded) noise of
    ~2 LSB: stretches of digital zeros (eSpeak's pauses, the padding) otherwise make the
    search lose every path. PocketSphinx's own dither stays off: it is random run to run."""
    silence = np.zeros(int(round(pad * SAMPLE_RATE)))
    pcm = np.concatenate([silence, np.asarray(wave, np.float64), silence]) * 32767
    pcm += DITHER_LSB * np.random.default_rng(0).standard_normal(pcm.size)
    return np.round(np.clip(pcm, -32768, 32767)).astype("<i2").tobytes()


@dataclass
class _Pass:
    """One two-pass alignment: per-frame scores and (name, first frame, frames) spans."""

    frame_scores: np.ndarray
    words: list[tuple[str, int, int]]
    phones: list[tuple[str, int, int]]
    found: list[str]  # the transcript words the word pass reached, in order


def _base(name: str) -> str:
    return name.split("(")[0]


def _is_filler(name: str) -> bool:
    return name.startswith(("<", "[", "+")) or name == "SIL"


def _two_pass(pcm: bytes, words: list[str], beam: float,
              extra: dict[str, str] | None = None) -> _Pass | None:
    """Word pass then state-level pass (module docstring); None when a pass fails."""
    decoder = _decoder(beam)
    items = list((extra or {}).items())
    for number, (word, phones) in enumerate(items):
        decoder.add_word(word, phones, number == len(items) - 1)  # update once, at the end
    try:
        decoder.set_align_text(" ".join(words))
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        found = [_base(s.word) for s in (decoder.seg() or []) if not _is_filler(s.word)]
        if not found:
            return None
        decoder.set_alignment()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        alignment = decoder.get_alignment()
    except RuntimeError:  # PocketSphinx reports a failed search only this way
        return None
    if alignment is None:
        return None
    scores = np.zeros(decoder.n_frames(), np.float64)
    for state in alignment.states():
        scores[state.start:state.start + state.duration] += state.score / max(state.duration, 1)
    spans = [(_base(w.name), w.start, w.duration) for w in alignment.words()]
    phones = [(p.name, p.start, p.duration) for p in alignment.phones()]
    return _Pass(scores, spans, phones, found)


def _phone_loop_scores(pcm: bytes, beam: float) -> np.ndarray | None:
    """Per-frame scores of the phone string a free phone-loop decode finds in ``pcm``, from
    the same state-level pass as the transcript's (a partial path is fine here); a wider
    beam when ``beam`` loses every path. None when both fail."""
    extra = {"ph_" + p.lower(): p for p in PHONES}
    for width in dict.fromkeys((beam, min(beam, ATTEMPTS[-1][0]))):
        decoder = _decoder(width, allphone=str(_model_dir() / "en-us-phone.lm.bin"),
                           lw=PHONE_LOOP_LW)
        try:
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
        except RuntimeError:
            continue
        phones = [s.word for s in (decoder.seg() or []) if s.word in PHONES]
        result = _two_pass(pcm, ["ph_" + p.lower() for p in phones], width, extra) \
            if phones else None
        if result is not None:
            return result.frame_scores
    return None


def _mean(values: np.ndarray) -> float:
    """The mean of the finite values (NaN when there are none)."""
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else float("nan")


def _seconds(frame: int, pad: float) -> float:
    """Seconds from the audio start (>= 0; the closing silence may run into the padding)."""
    return max(frame * FRAME_SECONDS - pad, 0.0)


def measure_alignment(wave: np.ndarray, sample_rate: int | None, transcript: str,
                      attempts: tuple[tuple[float, float], ...] = ATTEMPTS,
                      check_match: bool = True) -> Alignment:
    """Align ``transcript`` to ``wave`` (any rate; resampled to 16 kHz) and measure how well
    it matches (:class:`Alignment`; NaN without ``check_match``), without judging it.

    Raises :class:`AudioError` when pocketsphinx is missing, the audio is silent or longer than
    :data:`MAX_SECONDS`, the text has unreadable numbers or words the dictionary lacks, or not
    every word could be aligned after all ``attempts``."""
    _model_dir()
    wave = load_audio(np.asarray(wave, np.float32), sample_rate or SAMPLE_RATE)
    require_sound(wave, "the audio to align")
    if len(wave) > MAX_SECONDS * SAMPLE_RATE:
        raise AudioError(
            f"the audio is {len(wave) / SAMPLE_RATE:.0f} s long; a transcript is aligned to at "
            f"most {MAX_SECONDS:.0f} s (the alignment's memory grows with the square of the "
            "length): generate long recordings in pieces, each with its own text")
    words = normalize_transcript(transcript)
    missing = missing_words(words)
    if missing:
        raise AudioError(
            "these transcript words are not in PocketSphinx's English dictionary: "
            f"{', '.join(repr(w) for w in missing)}; spell them as they sound, with "
            "dictionary words (e.g. 'diffusion talker' for 'DiffusionTalker')")
    duration = len(wave) / SAMPLE_RATE
    best: list[str] = []
    for number, (beam, pad) in enumerate(attempts):
        pcm = _pcm(wave, pad)
        result = _two_pass(pcm, words, beam)
        if result is not None and result.found == words:
            reference = _phone_loop_scores(pcm, beam) if check_match else None
            return _alignment(result, reference, pad, duration, number)
        if result is not None and len(result.found) > len(best):
            best = result.found
    reached = (f"stopped after {best[-1]!r}, word {len(best)} of {len(words)}" if best
               else "found no path through the words")
    raise AudioError(
        f"the transcript does not match the audio: its forced alignment {reached} (tried "
        f"{len(attempts)} beams and paddings); check that the text is exactly what is "
        "spoken, in English")


def _alignment(result: _Pass, reference: np.ndarray | None, pad: float, duration: float,
               attempt: int) -> Alignment:
    """Times in seconds of the audio, and the match statistics (module docstring)."""
    llr = np.full(len(result.frame_scores), np.nan)
    if reference is not None:
        n = min(len(reference), len(llr))
        llr[:n] = result.frame_scores[:n] - reference[:n]
    first = int(round(pad / FRAME_SECONDS))
    last = first + int(round(duration / FRAME_SECONDS))
    words = [Word(name, _seconds(start, pad), _seconds(start + length, pad),
                  _mean(llr[start:start + length]))
             for name, start, length in result.words if not _is_filler(name)]
    phones, silence = [], 0.0
    for name, start, length in result.phones:
        a, b = max(start, first), min(start + length, last)
        if _is_filler(name) and (b - a) * FRAME_SECONDS >= LONG_SILENCE:
            silence = min(silence, _mean(llr[a:b]))
        phones.append(Phone("SIL" if _is_filler(name) else name, _seconds(start, pad),
                            _seconds(start + length, pad)))
    if reference is None:
        silence = float("nan")
    return Alignment(words, phones, _mean(llr[first:last]), silence, attempt)


def align_transcript(wave: np.ndarray, sample_rate: int | None, transcript: str,
                     attempts: tuple[tuple[float, float], ...] = ATTEMPTS) -> Alignment:
    """:func:`measure_alignment`, then AudioError unless the transcript matches the audio
    (:attr:`Alignment.matches`); the message says which check failed."""
    alignment = measure_alignment(wave, sample_rate, transcript, attempts)
    if alignment.matches:
        return alignment
    if not np.isfinite(alignment.match):
        raise AudioError("the transcript could not be checked against the audio (the free "
                         "phone decode failed); check that the audio is English speech")
    advice = "Check that the text is exactly what is spoken, in English"
    if alignment.silence_match < SILENCE_THRESHOLD:
        raise AudioError("the transcript does not match the audio: the audio has speech where "
                         f"the text has none (a pause of {LONG_SILENCE:g} s or more fits "
                         f"{-alignment.silence_match:.0f} log-units per frame worse than a "
                         f"free phone decode). {advice}; is a sentence missing?")
    worst = sorted(alignment.words, key=lambda w: w.match)[:3]
    raise AudioError(
        f"the transcript does not match the audio: it fits the sound "
        f"{-alignment.match:.1f} log-units per frame worse than a free phone decode (a "
        f"matching text: within {-MATCH_THRESHOLD:g}); worst-fitting words: "
        f"{', '.join(repr(w.name) for w in worst)}. {advice}")


def align_phones(wave: np.ndarray, sample_rate: int, transcript: str) -> list[Phone]:
    """The phones of :func:`align_transcript` (AudioError as it raises)."""
    return align_transcript(wave, sample_rate, transcript).phones
