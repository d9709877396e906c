"""`diffusiontalker check-speech` end to end on a fake model, audio and alignment."""

import json
import math
from types import SimpleNamespace

import numpy as np

from diffusiontalker.channels import FULL_FACE_CHANNELS
from diffusiontalker.evaluation.phone_checks import Phone

SR, FPS = 16000, 30.0
PHONES = [Phone("SIL", 0.0, 0.5), Phone("AA", 0.5, 0.95), Phone("M", 0.95, 1.05),
          Phone("UW", 1.05, 1.3), Phone("IY", 1.3, 1.6), Phone("SIL", 1.6, 2.0)]


class FakeTalker:
    """55 channels; closes the lips at 1.0 s, puckers on /uw/, drifts on silence."""

    space, fps = "channels", FPS
    channels = tuple(FULL_FACE_CHANNELS)

    def num_frames(self, wave):
        return int(len(wave) / SR * FPS)

    def generate(self, wave, rate, seed=0, identity=None, steps=None, keys=None):
        t = self.num_frames(wave)
        data = np.zeros((t, len(self.channels)))
        jaw = self.channels.index("jawOpen")
        if np.any(wave):
            data[15:48, jaw] = 0.5
            data[29:32, jaw] = 0.0
            data[32:39, self.channels.index("mouthPucker")] = 0.6
        else:
            data[:, jaw] = 0.03
        return SimpleNamespace(data=data, fps=FPS)


def test_check_speech_reports_every_check(tmp_path, monkeypatch, capsys):
    import diffusiontalker.audio.alignment as alignment
    import diffusiontalker.audio.loading as loading
    import diffusiontalker.direction.transcript  # noqa: F401  (binds the real aligner before the patch)
    import diffusiontalker.evaluation.speech_check as speech_check
    import diffusiontalker.runtime.loader as loader
    from diffusiontalker.cli import main

    monkeypatch.setattr(loader, "load_talker", lambda *a, **k: FakeTalker())
    monkeypatch.setattr(loading, "load_audio",
                        lambda path: np.sin(np.arange(2 * SR) / 5.0).astype(np.float32))
    monkeypatch.setattr(alignment, "align_transcript",
                        lambda wave, rate, text: SimpleNamespace(phones=PHONES))
    monkeypatch.setattr(speech_check, "demo_head_aperture",
                        lambda names: lambda w: 0.05 * w[:, names.index("jawOpen")])
    (tmp_path / "clips.json").write_text(json.dumps([{"file": "a.wav", "text": "ah moo ee"}]))
    out = tmp_path / "out.json"
    assert main(["check-speech", str(tmp_path / "clips.json"), "--runtime", "onnx",
                 "--silence", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "a.wav" in printed and "within 1/1" in printed and "jawOpen max 0.030" in printed
    result = json.loads(out.read_text())
    s, clip = result["summary"], result["clips"][0]
    assert (s["bilabials"], s["closed_within"], s["closed_at_midpoint"]) == (1, 1, 1)
    assert math.isclose(s["closure_lead_ms_median"], 0.0, abs_tol=1e-6)
    assert (s["rounding_held"], s["rounding_clips"]) == (1, 1)
    assert (s["rested"], s["pauses"]) == (2, 2)
    assert s["silence"]["jaw_open_max"] == 0.03 and s["model"]["channels"] == 55
    assert clip["bilabials_closed"] == 1 and clip["aperture_details"]  # the mm columns kept
