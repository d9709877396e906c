"""Scene frames <-> model frames: the two mappings are inverses, and agree with the audio
times the strip plays."""

import numpy as np

from diffusiontalker.bake.timing import (
    StripTiming,
    frame_audio_times,
    motion_frames_of,
    scene_frames_of,
)


def test_scene_and_model_frames_are_inverse_and_follow_the_strip():
    timing = StripTiming(content_start=10.0, left_handle=15.0, right_handle=80.0, sound_offset=0.2)
    fps, start, model_fps = 24.0, 0.4, 30.0
    frames = np.arange(15, 80)
    model = motion_frames_of(frames, timing, fps, start, model_fps)
    assert np.allclose(scene_frames_of(model, timing, fps, start, model_fps), frames)
    assert np.allclose(model / model_fps + start, frame_audio_times(frames, timing, fps))
    assert np.isclose(model[0], ((15 - 10) / 24 + 0.2 - 0.4) * 30)
