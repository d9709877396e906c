"""The CLI commands of the model: generate, identities, bench (tiny random checkpoints)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from diffusiontalker.cli import main
from diffusiontalker.motion import Motion
from diffusiontalker.network.checkpoint import save_model
from diffusiontalker.network.factory import random_model


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    ch = save_model(random_model("channels"), root / "ch.safetensors")
    vx = save_model(random_model("vertices", num_vertices=25), root / "vx.safetensors")
    wav = root / "some.wav"
    t = np.arange(24000) / 16000
    soundfile.write(str(wav), (0.2 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 44100)
    return ch, vx, wav


def test_generate_writes_the_npz_contract(ckpts, tmp_path, capsys):
    ch, vx, wav = ckpts
    out = tmp_path / "out.npz"
    assert main(["generate", str(wav), "-o", str(out), "--checkpoint", str(ch),
                 "--identity", "bo", "--seed", "2"]) == 0
    with np.load(out, allow_pickle=False) as f:
        assert set(f.files) >= {"fps", "weights", "channels"}
        assert f["weights"].dtype == np.float32 and f["weights"].shape == (16, 24)
        assert float(f["fps"]) == 30.0 and f["channels"][0] == "jawOpen"
    out_v = tmp_path / "v.npz"
    assert main(["generate", str(wav), "-o", str(out_v), "--checkpoint", str(vx),
                 "--blend", "ada=0.5,cy=0.5", "--steps", "2"]) == 0
    motion = Motion.load_npz(out_v)
    assert motion.space == "vertices" and motion.data.shape == (16, 25, 3)
    assert motion.identity == {"ada": 0.5, "cy": 0.5}
    assert main(["generate", str(wav), "-o", str(tmp_path / "m.npz"), "--checkpoint", str(ch),
                 "--match"]) == 0


def test_generate_errors_are_one_clear_line(ckpts, tmp_path, capsys):
    ch, _, wav = ckpts
    assert main(["generate", str(wav), "-o", str(tmp_path / "x.npz"), "--checkpoint", str(ch),
                 "--identity", "zed"]) == 2
    assert "error: unknown identity 'zed'; known identities: ada, bo, cy" in capsys.readouterr().err
    assert main(["generate", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "x.npz"),
                 "--checkpoint", str(ch)]) == 2
    assert "missing.wav" in capsys.readouterr().err
    assert main(["generate", str(wav), "-o", str(tmp_path / "x.npz"),
                 "--checkpoint", str(tmp_path / "none.safetensors")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert main(["generate", str(wav), "-o", str(tmp_path / "x.npz"), "--checkpoint", str(ch),
                 "--audio-encoder", "compact"]) == 2
    assert "stands in for Whisper features, but this model reads 'mel'" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_identities_lists_names(ckpts, capsys):
    ch, _, wav = ckpts
    assert main(["identities", "--checkpoint", str(ch)]) == 0
    assert capsys.readouterr().out.split() == ["ada", "bo", "cy"]
    assert main(["identities", "--checkpoint", str(ch), "--match", str(wav), "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].split("\t")[0] in ("ada", "bo", "cy")


def test_bench_json(ckpts, capsys):
    ch, _, _ = ckpts
    assert main(["bench", "--checkpoint", str(ch), "--seconds", "1", "--repeats", "1",
                 "--steps", "2", "--teacher", str(ch), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["audio_seconds"] == 1
    names = [(r["name"], r["steps"]) for r in report["results"]]
    assert names == [("model", 4), ("model", 2), ("teacher-respaced", 4), ("teacher", 4)]
    assert all(r["median_s"] > 0 for r in report["results"])


@pytest.mark.parametrize("space", ["channels", "vertices"])
def test_evaluate_prints_table_and_writes_json(space, tmp_path, capsys):
    from model_toy_data import write_toy_dataset

    data = write_toy_dataset(tmp_path / "data", space, clips_per_speaker=1, seconds=1.0)
    ckpt = save_model(random_model(space, num_vertices=20), tmp_path / "m.safetensors")
    lips = tmp_path / "lips.npy"
    np.save(lips, np.arange(5))
    extra = ["--lip-mask", str(lips), "--upper-mask", str(lips)] if space == "vertices" else []
    out = tmp_path / "eval.json"
    assert main(["evaluate", str(ckpt), "--data", str(data), "--split", "val", "--steps", "2",
                 "--json", str(out), *extra]) == 0
    report = json.loads(out.read_text())
    assert report["clips"] == 3 and report["steps"] == 2
    expected = ({"channel_mse", "channel_lve", "diversity", "identity_top1"} if space == "channels"
                else {"lve", "fdd", "fdd_abs", "diversity", "identity_top1"})
    assert expected <= set(report["metrics"])
    assert "identity_top1" in capsys.readouterr().out
    assert main(["evaluate", str(ckpt), "--data", str(data), "--split", "test"]) == 2
    assert "no clips in the 'test' split" in capsys.readouterr().err


def test_evaluate_on_the_demo_head_and_by_speaker_group(tmp_path):
    """Channel models are scored as vertex motion on the demo head; known vs held-out speakers."""
    from model_toy_data import write_toy_dataset

    from diffusiontalker.api import load_model
    from diffusiontalker.datasets import load_dataset
    from diffusiontalker.evaluation.evaluate import demo_head_regions, evaluate_model

    data = write_toy_dataset(tmp_path / "data", "channels", clips_per_speaker=1, seconds=1.0)
    corpus = load_dataset(data)
    model = random_model("channels", names=tuple(corpus.speakers[:-1]))  # last one held out
    talker = load_model(save_model(model, tmp_path / "m.safetensors"))
    report = evaluate_model(talker, corpus, "val", steps=2, head="demo")
    assert {"head_lve", "head_fdd", "head_diversity"} <= set(report["metrics"])
    assert report["metrics"]["head_lve"] > 0
    # per-clip values (for paired comparisons between models) average to the table's figure
    per_clip = report["per_clip"]
    assert len(per_clip["clip"]) == len(per_clip["head_lve"]) == report["clips"]
    assert np.mean(per_clip["head_lve"]) == pytest.approx(report["metrics"]["head_lve"])
    known = evaluate_model(talker, corpus, "val", steps=2, speakers="known")
    held = evaluate_model(talker, corpus, "val", steps=2, speakers="heldout")
    assert (known["clips"], held["clips"]) == (len(corpus.speakers) - 1, 1)
    assert "identity_top1" not in held["metrics"]  # no library row to retrieve
    rig, lips, upper = demo_head_regions(talker.channels)
    assert len(lips) > 20 and len(upper) > 100 and not set(lips) & set(upper)
    jaw = rig.basis("jawOpen")
    assert np.abs(jaw[lips]).max() > 0.005 and np.abs(jaw[upper]).max() < 1e-6


def test_a_model_is_scored_on_the_channels_it_predicts_by_name(tmp_path):
    """A model of fewer channels (in another order) than the dataset's is scored on its own
    channels, taken from the dataset by name; a channel the dataset lacks is a clear error."""
    from model_toy_data import write_toy_dataset

    from diffusiontalker.api import load_model
    from diffusiontalker.channels import CHANNELS
    from diffusiontalker.datasets import load_dataset
    from diffusiontalker.errors import DatasetError
    from diffusiontalker.evaluation.evaluate import evaluate_model

    data = write_toy_dataset(tmp_path / "data", "channels", clips_per_speaker=1, seconds=1.0)
    corpus = load_dataset(data)
    subset = (CHANNELS[2], CHANNELS[0])
    model = random_model("channels", channels=subset, names=tuple(corpus.speakers))
    talker = load_model(save_model(model, tmp_path / "m.safetensors"))
    report = evaluate_model(talker, corpus, "val", steps=2, seeds=(0,))
    clip = corpus.split("val")[0]
    wave, gt = clip.load_pair()
    pred = talker.generate(wave, 16000, identity=clip.speaker, steps=2, seed=0).data
    frames = min(len(gt), len(pred))
    assert report["per_clip"]["clip"][0] == clip.id
    assert report["per_clip"]["channel_mse"][0] == pytest.approx(
        np.mean((pred[:frames] - gt[:frames][:, [2, 0]]) ** 2), rel=1e-5)  # columns by name
    odd = random_model("channels", channels=("jawOpen", "tongueOut"), names=("ada",))
    with pytest.raises(DatasetError, match="tongueOut"):
        evaluate_model(load_model(save_model(odd, tmp_path / "o.safetensors")), corpus, "val",
                       steps=2)


def test_identity_control_tells_chosen_identity_from_voice(tmp_path):
    """A talker that obeys the chosen identity scores 1.0; one that copies the voice scores 0
    with a voice rate of 1.0."""
    from model_toy_data import write_toy_dataset

    from diffusiontalker.channels import CHANNELS
    from diffusiontalker.datasets import load_dataset
    from diffusiontalker.evaluation.evaluate import identity_control

    corpus = load_dataset(write_toy_dataset(tmp_path / "d", "channels", clips_per_speaker=2,
                                            seconds=1.0))
    style = {c.speaker: c.motion for c in corpus.split("train")}

    class Fake:
        identities = list(corpus.speakers)

        def __init__(self, obey):
            self.obey = obey

        def generate(self, wave, sr, identity, steps, seed):
            voice = next(c.speaker for c in corpus.clips if c.load_audio().shape == wave.shape
                         and np.array_equal(c.load_audio(), wave))
            return Motion(30.0, "channels", style[identity if self.obey else voice], CHANNELS)

    obeys = identity_control(Fake(True), corpus, "val", max_clips=10)
    copies = identity_control(Fake(False), corpus, "val", max_clips=10)
    assert obeys["accuracy"] == 1.0 and obeys["voice_rate"] == 0.0
    assert copies["accuracy"] == 0.0 and copies["voice_rate"] == 1.0
