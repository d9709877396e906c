"""eSpeak NG speech synthesis with exact phoneme timings, through ctypes.

The library and its data come from the ``espeakng-loader`` wheel (eSpeak NG 1.52). The C API
(``speak_lib.h``, API revision 12) is used in synchronous retrieval mode: ``espeak_Synth``
calls our callback with blocks of int16 samples and a list of ``espeak_EVENT`` structs,
terminated by an event of type 0. Phoneme events (type 7) carry the IPA name of the phoneme
(``id.string``, at most 8 UTF-8 bytes) and its start in milliseconds (``audio_position``).

eSpeak keeps one global synthesiser per process and is not thread-safe, so this module holds
one process-wide instance behind a lock; use worker *processes* for parallel synthesis. eSpeak
also carries state from one utterance to the next, so each utterance is spoken in a forked
child of the initialised engine (see ``_Engine._in_fresh_child``): the same arguments then give
the same samples, whatever was spoken before.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import threading
from dataclasses import dataclass

import numpy as np

from ..errors import SynthError

EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EVENT_PHONEME = 7
AUDIO_OUTPUT_SYNCHRONOUS = 2
INIT_PHONEME_EVENTS = 0x1
INIT_PHONEME_IPA = 0x2
CHARS_UTF8 = 1
PAUSE = "_"  # the phone name of a silent pause (not an eSpeak event)
TAIL_KEEP = 0.03  # seconds of a phone kept before the pause that follows it
PARAM_RATE, PARAM_VOLUME, PARAM_PITCH, PARAM_RANGE, PARAM_WORDGAP = 1, 2, 3, 4, 7


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p),
                ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT`` of speak_lib.h (type, unique id, text position, length, audio
    position in ms, sample, user data pointer, id union): 40 bytes on 64-bit systems."""

    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Phone:
    """One phoneme: its IPA name and its span in seconds."""

    phoneme: str
    start: float
    end: float


@dataclass(frozen=True)
class Word:
    """One word: the character span of the text it came from and its start in seconds."""

    text_position: int
    length: int
    start: float


@dataclass
class Utterance:
    """Synthesised speech: mono float32 samples, their rate, phonemes and words."""

    audio: np.ndarray
    sample_rate: int
    phones: list[Phone]
    words: list[Word]

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


class _Engine:
    """The process-wide eSpeak NG instance (see the module docstring)."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise SynthError("speech synthesis needs the 'espeakng-loader' package "
                             "(pip install espeakng-loader==0.2.4)") from exc
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
        lib = self.lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                          ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint,
                                     ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                     ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        # eSpeak draws from rand() (e.g. for pause lengths and voice noise): seed it per call.
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data,
                                     INIT_PHONEME_EVENTS | INIT_PHONEME_IPA)
        if rate <= 0:
            raise SynthError(f"eSpeak NG failed to initialise (data path {data.decode()})")
        self.sample_rate = int(rate)
        self.lock = threading.Lock()
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, int, bytes]] = []
        self._callback = _CALLBACK(self._on_block)  # keep a reference: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)

    def _on_block(self, wav, num_samples, events) -> int:
        if wav and num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type == EVENT_PHONEME:
                raw = bytes(ev.id.string)  # not zero-terminated when all 8 bytes are used
                self._events.append((EVENT_PHONEME, ev.audio_position, 0, 0, raw))
            elif ev.type == EVENT_WORD:
                self._events.append((EVENT_WORD, ev.audio_position, ev.text_position,
                                     ev.length, b""))
            i += 1
        return 0

    def synthesize(self, text: str, voice: str, rate: int, pitch: int, pitch_range: int,
                   word_gap: int = 0, seed: int = 0) -> Utterance:
        if not text.strip():
            raise SynthError("cannot synthesise an empty text")
        with self.lock:
            if hasattr(os, "fork"):
                raw, events = self._in_fresh_child(text, voice, rate, pitch, pitch_range,
                                                   word_gap, seed)
            else:  # pragma: no cover - no fork: same sound, but not bit-for-bit repeatable
                raw, events = self._synthesize_here(text, voice, rate, pitch, pitch_range,
                                                    word_gap, seed)
        audio = np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768.0
        return _to_utterance(audio, self.sample_rate, events)

    def _in_fresh_child(self, *args) -> tuple[bytes, list]:
        """Synthesise in a forked child of this process, which has initialised eSpeak but
        never spoken. eSpeak keeps state between utterances (glottal phase, pitch flutter)
        that Terminate/Initialize do not reset, so speaking in-process makes each utterance
        depend on the ones before it; a fresh child makes it depend on its arguments only."""
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: speak, send the result, leave without cleanup
            status = 0
            try:
                os.close(read_fd)
                try:
                    payload = ("ok", self._synthesize_here(*args))
                except Exception as exc:  # noqa: BLE001 - reported to the parent
                    payload = ("error", str(exc))
                with os.fdopen(write_fd, "wb") as pipe:
                    pipe.write(pickle.dumps(payload))
            except BaseException:  # noqa: BLE001
                status = 1
            finally:
                os._exit(status)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            data = pipe.read()
        os.waitpid(pid, 0)
        if not data:
            raise SynthError("the eSpeak NG worker process died while synthesising")
        kind, value = pickle.loads(data)
        if kind == "error":
            raise SynthError(value)
        return value

    def _synthesize_here(self, text: str, voice: str, rate: int, pitch: int,
                         pitch_range: int, word_gap: int, seed: int) -> tuple[bytes, list]:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise SynthError(f"eSpeak NG has no voice {voice!r} (try 'en-us', 'en+m3')")
        for param, value in ((PARAM_RATE, rate), (PARAM_PITCH, pitch),
                             (PARAM_RANGE, pitch_range), (PARAM_WORDGAP, word_gap),
                             (PARAM_VOLUME, 100)):
            self.lib.espeak_SetParameter(param, int(value), 0)
        self.lib.espeak_ng_SetRandSeed(int(seed) & 0x7FFFFFFF)
        self._chunks, self._events = [], []
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        err = self.lib.espeak_Synth(buf, len(buf), 0, 1, 0, CHARS_UTF8, None, None)
        chunks, events = self._chunks, self._events
        self._chunks, self._events = [], []
        if err != 0:
            raise SynthError(f"eSpeak NG failed to synthesise the text (error {err})")
        raw = np.concatenate(chunks).tobytes() if chunks else b""
        return raw, events


def _to_utterance(audio: np.ndarray, sample_rate: int,
                  events: list[tuple[int, int, int, int, bytes]]) -> Utterance:
    """Phoneme spans from event starts: each ends where the next begins, the last at the end
    of the audio. Events are clipped into the audio and kept in time order."""
    duration = len(audio) / sample_rate
    words = [Word(tp, ln, min(pos / 1000.0, duration))
             for kind, pos, tp, ln, _ in events if kind == EVENT_WORD]
    starts: list[tuple[float, str]] = []
    for kind, pos, _, _, raw in events:
        if kind != EVENT_PHONEME:
            continue
        name = raw.split(b"\0", 1)[0].decode("utf-8", errors="ignore").strip()
        if not name:
            continue
        start = min(max(pos / 1000.0, 0.0), duration)
        if starts and start < starts[-1][0]:
            start = starts[-1][0]
        starts.append((start, name))
    def r(t: float) -> float:  # milliseconds are eSpeak's resolution; stay inside the audio
        return min(round(t, 4), duration)

    phones = []
    if starts and starts[0][0] > 0.0:
        phones.append(Phone(PAUSE, 0.0, r(starts[0][0])))
    silences = silent_runs(audio, sample_rate)
    for i, (start, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else duration
        if end <= start:
            continue
        # eSpeak emits no event for pauses: a phone swallows the silence after it. Cut it
        # where a long silent run reaches its end, and give the rest to a pause.
        cut = next((s0 for s0, s1 in silences if start < s0 < end and s1 >= end - 0.011), None)
        if cut is not None:
            cut = max(cut + TAIL_KEEP, start + 0.03)
        if cut is not None and cut < end - 0.02:
            phones.append(Phone(name, r(start), r(cut)))
            phones.append(Phone(PAUSE, r(cut), r(end)))
        else:
            phones.append(Phone(name, r(start), r(end)))
    return Utterance(audio, sample_rate, phones, words)


def silent_runs(audio: np.ndarray, sample_rate: int, min_length: float = 0.1,
                hop: float = 0.01) -> list[tuple[float, float]]:
    """Spans (seconds) of at least ``min_length`` where the 10 ms RMS stays below 1% of the
    loudest frame: the pauses between phrases and around the utterance."""
    n = int(sample_rate * hop)
    frames = len(audio) // n
    if frames == 0:
        return []
    rms = np.sqrt(np.mean(audio[: frames * n].reshape(frames, n) ** 2, axis=1))
    quiet = rms < max(1e-4, 0.01 * float(rms.max()))
    runs, begin = [], None
    for i, q in enumerate(np.append(quiet, False)):
        if q and begin is None:
            begin = i
        elif not q and begin is not None:
            if (i - begin) * hop >= min_length:
                runs.append((begin * hop, min(i * hop, len(audio) / sample_rate)))
            begin = None
    return runs


_ENGINE: _Engine | None = None
_ENGINE_LOCK = threading.Lock()


def engine() -> _Engine:
    """The process-wide eSpeak NG instance, started on first use."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = _Engine()
        return _ENGINE


def synthesize(text: str, voice: str = "en-us", rate: int = 175, pitch: int = 50,
               pitch_range: int = 50, word_gap: int = 0, seed: int = 0) -> Utterance:
    """Speak ``text`` with an eSpeak NG ``voice`` (e.g. ``"en-us"``, ``"en-gb-x-rp+f2"``) at
    ``rate`` words per minute, base ``pitch`` and ``pitch_range`` (0-100). The same
    arguments give the same samples (eSpeak's random generator is seeded with ``seed``)."""
    return engine().synthesize(text, voice, rate, pitch, pitch_range, word_gap, seed)
