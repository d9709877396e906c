"""Generate: read the scene (main thread) -> run the model (worker) -> write keys (main thread).

Everything that can fail on the user's input is checked before the scene is touched: the
head, the strip, its sound file and audio, the head's topology, and the rig for missing
channel keys. Only then does :func:`write_motion` change anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy
import numpy as np

from diffusiontalker.bake.shapes import (
    basis_bake_bytes,
    check_finite,
    compact_basis,
    offsets_from_channels,
    per_frame_keys_warning,
    point_cache_warning,
)
from diffusiontalker.bake.timing import StripTiming, audible_window, cut_audio, motion_on_strip
from diffusiontalker.errors import AudioError, DiffusionTalkerError, TopologyError
from diffusiontalker.runtime.talker import status_kwarg

from . import compat, layering, model_cache, strips, targets, writers
from .audio import SAMPLE_RATE, strip_audio
from .jobs import Job

OUTPUT_MODES = ("AUTO", "CHANNEL_KEYS", "BASIS", "PER_FRAME", "POINT_CACHE")
BASIS_MEMORY_BUDGET = 2**30  # bytes a basis bake may need before AUTO picks a point cache


@dataclass
class GenerateOptions:
    """Every choice of a Generate (the operator's properties map onto these)."""

    target: str
    strip: str
    identity: object = None  # None | name | {name: weight} | "match"
    steps: int | None = None  # None: the model's own default (its checkpoint's default_steps)
    seed: int = 0
    style_strength: float = 1.0
    output_mode: str = "AUTO"
    checkpoint: str = ""
    device: str = "AUTO"
    runtime: str = "auto"  # prefs.runtime_choice(): auto | torch | onnx | worker
    python: str = ""  # the worker's Python (runtime "worker")
    max_shapes: int = 64
    cache_dir: str = ""
    use_muted: bool = False  # generate from a muted strip all the same
    layering: str = "ON_TOP"  # over a user action keying our channels: layering.LAYERING_ITEMS


@dataclass
class Prepared:
    options: GenerateOptions
    scene: str
    info: targets.TargetInfo
    timing: StripTiming
    fps: float
    wave: np.ndarray
    window_start: float
    extra: dict = field(default_factory=dict)


def prepare(scene: bpy.types.Scene, options: GenerateOptions) -> Prepared:
    """Check the inputs and read audio and timing; raises a clear error, changes nothing."""
    if options.output_mode not in OUTPUT_MODES:
        raise DiffusionTalkerError(f"unknown output mode '{options.output_mode}'")
    info = targets.target_info(bpy.data.objects.get(options.target))
    strip = strips.choose_strip(scene, options.strip, use_muted=options.use_muted)
    wave = strip_audio(strip)
    timing = compat.strip_timing(strip)
    fps = compat.scene_fps(scene)
    start, end = audible_window(timing, fps, wave.size / SAMPLE_RATE)
    part = cut_audio(wave, SAMPLE_RATE, start, end)
    if part.size < SAMPLE_RATE // 10:
        raise AudioError(f"the audible part of '{strip.name}' is too short ({end - start:.2f} s)")
    talker = model_cache.loaded_talker()
    if talker is not None:
        targets.check_vertex_topology(info, talker)
    return Prepared(options, scene.name, info, timing, fps, part, start,
                    extra={"strip": strip.name})


def _work(prep: Prepared):
    def work(progress, cancelled):
        opts = prep.options
        talker = model_cache.get_talker(opts.checkpoint, opts.device, opts.runtime, opts.python)
        targets.check_vertex_topology(prep.info, talker)
        built = targets.rig_shapes(prep.info, talker.channels) if talker.space == "channels" else {}
        # steps=None: the talker uses its checkpoint's default_steps (the one source of it)
        motion = talker.generate(prep.wave, SAMPLE_RATE, identity=opts.identity, steps=opts.steps,
                                 seed=opts.seed, style_strength=opts.style_strength,
                                 progress=progress, cancel=cancelled,
                                 **status_kwarg(talker, lambda text: progress(None, text)))
        prep.extra["steps"] = opts.steps if opts.steps is not None else _default_steps(talker)
        report = str(getattr(talker, "device_report", "") or "")
        if "instead" in report:  # the device asked for was not available: say what ran
            prep.extra.setdefault("warnings", []).append(report)
        frames, values = motion_on_strip(motion.data, motion.fps, prep.window_start,
                                         prep.timing, prep.fps)
        if frames.size == 0:
            raise AudioError("the strip covers no whole scene frame")
        return motion, frames, values, built

    return work


def _default_steps(talker):
    try:
        return int(talker.default_steps)
    except (AttributeError, TypeError, ValueError):
        return None


def make_job(prep: Prepared) -> Job:
    """The Generate job: model in the worker, :func:`write_motion` on the main thread."""

    def apply(result) -> str:
        motion, frames, values, built = result
        obj = bpy.data.objects.get(prep.options.target)
        if obj is None or obj.type != "MESH":
            raise TopologyError(f"the head '{prep.options.target}' was removed while generating")
        if len(obj.data.vertices) != prep.info.num_vertices:
            raise TopologyError(f"the head '{obj.name}' changed while generating; generate again")
        warnings = prep.extra.setdefault("warnings", [])  # the operator reports these
        mode = write_motion(obj, motion, frames, values, built, prep.options, notes=warnings)
        warnings += layering.settle(obj, prep.options.layering)
        steps = prep.extra.get("steps")
        how = mode.lower().replace("_", " ") + (f", {steps} steps" if steps else "")
        return (f"animated '{obj.name}' from frame {int(frames[0])} to {int(frames[-1])} "
                f"({len(frames)} frames, {how})")

    return Job("Generate", _work(prep), apply)


def resolve_mode(space: str, mode: str, frames: int = 0, vertices: int = 0,
                 max_shapes: int = 64) -> str:
    """The output mode to write; ``AUTO`` chooses by the motion's space, length and memory.

    ``AUTO``: channel motion -> ``CHANNEL_KEYS`` (one curve per channel, any length). Vertex
    motion -> ``BASIS`` (compact, editable, exported as morph weights; the blocked randomised
    bake takes seconds and well under 1 GB even for 10 minutes of a 5023-vertex head) unless
    its working memory (``bake.shapes.basis_bake_bytes``) would pass
    :data:`BASIS_MEMORY_BUDGET` (takes of hours), then ``POINT_CACHE``, which streams a block
    of frames at a time. ``PER_FRAME`` is never chosen automatically: scrubbing slows with the
    square of the length (``bake.shapes.PER_FRAME_KEYS_WARN_FRAMES``).
    """
    if mode == "AUTO":
        if space == "channels":
            return "CHANNEL_KEYS"
        if basis_bake_bytes(frames, vertices, max_shapes) > BASIS_MEMORY_BUDGET:
            return "POINT_CACHE"
        return "BASIS"
    if mode == "CHANNEL_KEYS" and space != "channels":
        raise TopologyError("a vertex model has no channels to key: choose basis shapes, "
                            "per-frame shapes or a point cache")
    return mode


def write_motion(obj, motion, frames, values, built: dict, options: GenerateOptions,
                 notes: list[str] | None = None) -> str:
    """Replace what an earlier Generate wrote on ``obj`` with this motion; returns the mode.

    Everything that can fail on the numbers (NaN or infinite motion, a failed basis bake)
    runs before the scene is touched, so a failure leaves it as it was. What the chosen
    output costs for a long take (per-frame keys, a big point cache) is appended to
    ``notes`` for the operator to report as warnings.
    """
    check_finite(values)
    vertices = len(obj.data.vertices)
    mode = resolve_mode(motion.space, options.output_mode, len(frames), vertices,
                        options.max_shapes)
    cost = {"PER_FRAME": per_frame_keys_warning, "POINT_CACHE": point_cache_warning}.get(mode)
    warning = cost(len(frames), vertices) if cost else None
    if warning and notes is not None:
        notes.append(warning)
    offsets = bake = None
    if mode != "CHANNEL_KEYS":
        offsets = values if motion.space != "channels" else offsets_from_channels(
            values, writers.channel_shapes(obj, motion.channels, built))
        check_finite(offsets, "the motion on the head's channel shapes")
    if mode == "BASIS":
        bake = compact_basis(offsets, max_shapes=options.max_shapes)
    writers.remove_generated(obj, keep_built_keys=True)
    if built:
        writers.add_shape_keys(obj, built)
        obj[writers.BUILT_KEYS] = list(obj.get(writers.BUILT_KEYS, [])) + list(built)
    if mode == "CHANNEL_KEYS":
        writers.write_channel_keys(obj, motion.channels, frames, values)
    elif mode == "BASIS":
        writers.write_basis(obj, frames, bake)
    elif mode == "PER_FRAME":
        writers.write_per_frame(obj, frames, offsets)
    else:
        writers.write_point_cache(obj, frames, offsets, options.cache_dir or bpy.app.tempdir)
    return mode
