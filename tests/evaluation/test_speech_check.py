"""Real-speech checks: envelope, lagged correlation, bilabial closure and rest in silence."""

import numpy as np

from diffusiontalker.evaluation.speech_check import (
    Phone,
    check_motion,
    lagged_correlation,
    loudness_envelope,
)

SR, FPS = 16000, 30.0


def _burst_wave(seconds=3.0, on=(0.5, 2.0)):
    t = np.arange(int(seconds * SR)) / SR
    wave = 1e-4 * np.random.default_rng(0).standard_normal(t.size)
    m = (t >= on[0]) & (t < on[1])
    wave[m] += 0.5 * np.sin(2 * np.pi * 220 * t[m])
    return wave.astype(np.float32)


def test_envelope_is_loud_only_where_the_sound_is():
    env = loudness_envelope(_burst_wave(), SR, FPS, 90)
    assert env.shape == (90,)
    assert env[30:58].min() > -3.0  # inside the tone: near the peak
    assert env[:10].max() < -50.0 and env[70:].max() < -50.0  # silence: floor


def test_lagged_correlation_finds_the_lead():
    rng = np.random.default_rng(1)
    env = np.convolve(rng.standard_normal(200), np.ones(5) / 5, "same")
    opening = np.roll(env, -2)  # motion leads the sound by two frames
    corr, lag = lagged_correlation(opening, env, 3)
    assert lag == 2 and corr > 0.99


def test_check_motion_counts_closures_and_silence():
    wave = _burst_wave()
    aperture = np.zeros(90)
    aperture[15:60] = 1.0
    aperture[40:43] = 0.0  # the lips close around the /m/ at 1.35-1.40 s
    phones = [Phone("SIL", 0.0, 0.5), Phone("AA", 0.5, 1.35), Phone("M", 1.35, 1.40),
              Phone("P", 1.6, 1.65), Phone("AA", 1.65, 2.0), Phone("SIL", 2.0, 3.0)]
    r = check_motion(wave, SR, FPS, aperture, phones, closed_threshold=0.1)
    assert (r.bilabials, r.bilabials_closed) == (2, 1)  # /m/ closed, /p/ not
    assert r.closure_rate == 0.5
    assert r.rests_closed_in_silence and r.silence_frames > 0
    assert r.speech_median_aperture == 1.0
    assert r.envelope_corr > 0.8
    open_in_silence = check_motion(wave, SR, FPS, aperture + 0.5, phones, closed_threshold=0.1)
    assert not open_in_silence.rests_closed_in_silence


def test_demo_head_aperture_opens_with_the_jaw_and_closes_at_rest():
    from diffusiontalker.channels import CHANNELS
    from diffusiontalker.evaluation.speech_check import demo_head_aperture

    aperture = demo_head_aperture(CHANNELS)
    w = np.zeros((3, len(CHANNELS)))
    w[1, CHANNELS.index("jawOpen")] = 1.0
    w[2, CHANNELS.index("jawOpen")] = w[2, CHANNELS.index("mouthClose")] = 1.0
    rest, opened, closed = aperture(w)
    assert rest < 0.002 and closed < 0.002  # closed lips: under 2 mm
    assert opened > 0.01  # the jaw opens the lips by over a centimetre
