"""Phone-aware checks (evaluation.phone_checks): hand-made channel curves with known answers."""

import numpy as np
import pytest

from diffusiontalker.channels import CHANNELS, FULL_FACE_CHANNELS
from diffusiontalker.evaluation.phone_checks import (
    Phone,
    check_phones,
    lip_opening,
    minimum_time,
    silence_drift,
    summarize,
)

FPS = 30.0
V1 = list(CHANNELS)
V2 = list(reversed(FULL_FACE_CHANNELS))  # another order: only the names count


def _phones(*spec):
    return [Phone(name, start, end) for name, start, end in spec]


# A clip: pause, "AA M AA", pause. The /m/ is centred on frame 30 (1.0 s).
CLIP = _phones(("SIL", 0.0, 0.5), ("AA", 0.5, 0.95), ("M", 0.95, 1.05), ("AA", 1.05, 1.6),
               ("SIL", 1.6, 2.0))


def _weights(names, jaw):
    w = np.zeros((len(jaw), len(names)))
    w[:, names.index("jawOpen")] = jaw
    return w


def _jaw_with_closure(at):
    """jawOpen 0.5 in speech (frames 15-47), a V-shaped closure to 0 at frame ``at``."""
    jaw = np.zeros(60)
    jaw[15:48] = 0.5
    k = np.arange(60)
    jaw[15:48] = np.minimum(0.5, 0.1 * np.abs(k[15:48] - at))
    return jaw


@pytest.mark.parametrize("names", [V1, V2])
def test_lip_opening_follows_the_definition(names):
    w = np.zeros((2, len(names)))
    for name, value in {"jawOpen": 0.5, "mouthClose": 0.2, "mouthLowerDownLeft": 0.2,
                        "mouthLowerDownRight": 0.4, "mouthUpperUpLeft": 0.1,
                        "mouthUpperUpRight": 0.1}.items():
        w[0, names.index(name)] = value
    w[1, names.index("jawOpen")], w[1, names.index("mouthClose")] = 0.2, 0.5  # clamped at 0
    assert lip_opening(w, names) == pytest.approx([0.3 + 0.3 + 0.1, 0.0])


def test_lip_opening_needs_the_jaw():
    with pytest.raises(ValueError):
        lip_opening(np.zeros((3, 2)), ["mouthClose", "mouthPucker"])


@pytest.mark.parametrize("names", [V1, V2])
def test_a_closure_two_frames_late_has_a_negative_lead(names):
    r = check_phones(_weights(names, _jaw_with_closure(32)), names, CLIP, FPS)
    assert r.closed_threshold == pytest.approx(0.35 * 0.5)
    assert (r.bilabials, r.closed_within, r.closed_at_midpoint) == (1, 1, 0)
    assert r.closure_lead_ms == pytest.approx(-2000 / 30, abs=0.1)  # -67 ms: late


def test_a_closure_on_time_or_early():
    on_time = check_phones(_weights(V1, _jaw_with_closure(30)), V1, CLIP, FPS)
    assert on_time.closed_at_midpoint == 1 and on_time.closure_lead_ms == pytest.approx(0.0)
    early = _jaw_with_closure(29)
    early[28] = 0.0  # lips held closed over frames 28-29: the run's centre, 28.5
    r = check_phones(_weights(V1, early), V1, CLIP, FPS)
    assert r.closure_lead_ms == pytest.approx(1.5 / 30 * 1000)  # +50 ms: early


def test_the_minimum_is_refined_between_frames():
    y = np.array([0.5, 0.1, 0.0, 0.3, 0.5])
    # parabola through (1, .1), (2, 0), (3, .3): vertex at 2 - 0.25
    assert minimum_time(y, np.arange(5), FPS) == pytest.approx(1.75 / FPS)


def test_a_missed_closure_counts_as_missed():
    jaw = np.zeros(60)
    jaw[15:48] = 0.5
    r = check_phones(_weights(V1, jaw), V1, CLIP, FPS)
    assert (r.bilabials, r.closed_within, r.closed_at_midpoint) == (1, 0, 0)


def test_rest_in_pauses():
    jaw = _jaw_with_closure(30)
    r = check_phones(_weights(V1, jaw), V1, CLIP, FPS)
    assert (r.pauses, r.rested) == (2, 2)
    jaw[:15] = 0.4  # the mouth hangs open in the first pause
    r = check_phones(_weights(V1, jaw), V1, CLIP, FPS)
    assert (r.pauses, r.rested) == (2, 1)
    short = _phones(("AA", 0.0, 0.5), ("SIL", 0.5, 0.75), ("AA", 0.75, 2.0))
    assert check_phones(_weights(V1, np.full(60, 0.5)), V1, short, FPS).pauses == 0


def test_open_and_close_vowels():
    phones = _phones(("AA", 0.0, 0.5), ("IY", 0.5, 1.0), ("AE", 1.0, 1.5), ("UW", 1.5, 2.0))
    jaw = np.repeat([0.6, 0.2, 0.6, 0.2], 15)
    r = check_phones(_weights(V1, jaw), V1, phones, FPS)
    assert r.open_close_ratio == pytest.approx(3.0)


@pytest.mark.parametrize("names", [V1, V2])
def test_rounding_holds_with_a_pucker_on_uw(names):
    phones = _phones(("IY", 0.0, 0.5), ("UW", 0.5, 1.0), ("EH", 1.0, 1.5), ("W", 1.5, 2.0))
    w = _weights(names, np.full(60, 0.3))
    pucker = np.repeat([0.1, 0.6, 0.1, 0.5], 15)
    w[:, names.index("mouthPucker")] = pucker
    r = check_phones(w, names, phones, FPS)
    assert r.rounding_holds and r.rounding_ratio == pytest.approx(5.5)
    w[:, names.index("mouthPucker")] = np.repeat([0.6, 0.1, 0.6, 0.1], 15)  # spread
    assert check_phones(w, names, phones, FPS).rounding_holds is False
    only_rounded = _phones(("UW", 0.0, 2.0))
    assert check_phones(w, names, only_rounded, FPS).rounding_holds is None


def test_rounding_and_tuck_need_their_channels():
    names = ["jawOpen", "mouthClose"]
    phones = _phones(("IY", 0.0, 0.5), ("UW", 0.5, 1.0), ("F", 1.0, 1.2), ("AA", 1.2, 2.0))
    r = check_phones(np.full((60, 2), 0.2), names, phones, FPS)
    assert r.rounding_holds is None and r.rounding_ratio is None and r.tucked is None
    assert r.labiodentals == 1


def test_f_v_tuck():
    phones = _phones(("AA", 0.0, 0.5), ("F", 0.5, 0.6), ("AA", 0.6, 1.0), ("V", 1.0, 1.1),
                     ("AA", 1.1, 2.0))
    w = _weights(V1, np.full(60, 0.4))
    w[15:18, V1.index("mouthRollLower")] = 0.5  # tucked on /f/ only
    r = check_phones(w, V1, phones, FPS)
    assert (r.labiodentals, r.tucked) == (2, 1)


def test_jitter_is_zero_for_a_ramp_and_high_for_a_zigzag():
    phones = _phones(("AA", 0.0, 2.0))
    ramp = check_phones(_weights(V1, np.linspace(0, 0.6, 60)), V1, phones, FPS)
    assert ramp.jitter == pytest.approx(0.0, abs=1e-12)
    zigzag = check_phones(_weights(V1, np.tile([0.0, 0.5], 30)), V1, phones, FPS)
    assert zigzag.jitter == pytest.approx(2.0)  # |second difference| 1.0 over a range of 0.5


def test_summary_pools_the_clips():
    late = check_phones(_weights(V1, _jaw_with_closure(32)), V1, CLIP, FPS).to_dict()
    jaw = np.zeros(60)
    jaw[15:48] = 0.5
    missed = check_phones(_weights(V1, jaw), V1, CLIP, FPS).to_dict()
    s = summarize([late, missed])
    assert (s["bilabials"], s["closed_within"], s["closed_within_rate"]) == (2, 1, 0.5)
    assert (s["pauses"], s["rested"]) == (4, 4)
    assert s["rounding_clips"] == 0


class _SilentTalker:
    channels = tuple(V2)

    def generate(self, wave, rate, seed=0, identity=None):
        assert not np.any(wave) and len(wave) == 10 * rate
        data = np.zeros((300, len(self.channels)))
        data[:, self.channels.index("jawOpen")] = np.linspace(0, 0.04, 300)

        class Motion:
            pass

        m = Motion()
        m.data = data
        return m


def test_silence_drift_reports_the_jaw():
    d = silence_drift(_SilentTalker())
    assert d["jaw_open_max"] == pytest.approx(0.04) and d["jaw_open_mean"] == pytest.approx(0.02)


def test_silence_drift_can_switch_the_rest_constraint_off():
    from diffusiontalker.diffusion import constraints

    class Talker(_SilentTalker):
        def generate(self, wave, rate, seed=0, identity=None):
            m = super().generate(wave, rate, seed, identity)
            if constraints.REST_DBFS > -np.inf:  # the constraint holds the rest pose
                m.data[:] = 0.0
            return m

    saved = constraints.REST_DBFS
    assert silence_drift(Talker())["jaw_open_max"] == 0.0
    alone = silence_drift(Talker(), rest_constraint=False)
    assert alone["jaw_open_max"] == pytest.approx(0.04) and not alone["rest_constraint"]
    assert constraints.REST_DBFS == saved  # restored
