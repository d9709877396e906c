"""Generate: read the scene (main thread) -> run the model (worker) -> write keys (main thread).

Everything that can fail on the user's input is checked before the scene is touched: the
head, the strip, its sound file and audio, the head's topology, and the rig for missing
channel keys. Only then does :func:`write_motion` change anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import bpy
import numpy as np

from diffusiontalker.bake.shapes import check_finite
from diffusiontalker.bake.timing import (
    StripTiming,
    audible_frames,
    audible_window,
    cut_audio,
    motion_on_strip,
)
from diffusiontalker.channels import ARKIT_CHANNELS, is_head_rotation, shape_channels
from diffusiontalker.errors import AudioError, DiffusionTalkerError, TopologyError
from diffusiontalker.runtime.talker import motion_frames, status_kwarg

from . import (
    character,
    compat,
    direction,
    head_motion,
    layering,
    model_cache,
    output,
    strips,
    takes,
    targets,
    writers,
)
from .audio import SAMPLE_RATE, strip_audio
from .jobs import Job
from .output import BASIS_MEMORY_BUDGET, OUTPUT_MODES, resolve_mode  # noqa: F401 (public here)


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
    keep_keys: bool = False  # the animator's keys inside the strip become constraints
    transcript: str = ""  # what is said: closures, tucks and rounding from its alignment
    takes: int = 1  # takes sampled together (seeds seed .. seed + takes - 1); the first plays
    retake: bool = False  # re-take the preview range / two markers of the playing take
    head_motion: bool = False  # headYaw/Pitch/Roll as rotation keys (``head_motion.py``)
    head_bone: str = ""  # the pose bone that turns (empty: the head object's delta transform)


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
    followers: list[str] = field(default_factory=list)  # the character's other meshes


def prepare(scene: bpy.types.Scene, options: GenerateOptions) -> Prepared:
    """Check the inputs and read audio and timing; raises a clear error, changes nothing."""
    if options.output_mode not in OUTPUT_MODES:
        raise DiffusionTalkerError(f"unknown output mode '{options.output_mode}'")
    view_layer = _view_layer(scene)
    view_layer.update()  # object matrices as set (a script may just have moved the head)
    obj = targets.resolve_main(bpy.data.objects.get(options.target), view_layer.objects)
    info = targets.target_info(obj)
    if info.matrix is not None:  # the head as it stands still, not as our last take turns it
        info = replace(info, matrix=head_motion.still_matrix(obj, info.matrix))
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
    if options.takes < 1:
        raise DiffusionTalkerError(f"Takes must be at least 1, got {options.takes}")
    extra = {"strip": strip.name}
    channels = getattr(talker, "channels", None) or ARKIT_CHANNELS
    followers = [o.name for o in targets.character(obj, view_layer, channels)]
    audible = audible_frames(timing)
    first, last = int(audible[0]), int(audible[-1])
    if options.retake:
        if options.takes > 1:
            raise DiffusionTalkerError("re-take one range at a time (Takes 1)")
        first, last = direction.retake_range(scene)
        extra["range"] = (first, last)
        names = [c for c in _channel_names(obj)]
        extra["take_scene"] = (audible, direction.read_take(obj, names, audible), names)
        extra["take_head"] = head_motion.read_take(obj, audible)  # None without head motion
    if options.keep_keys or options.retake:
        extra["user_keys"] = direction.user_keys(obj, int(audible[0]), int(audible[-1]))
    return Prepared(options, scene.name, info, timing, fps, part, start, extra=extra,
                    followers=followers)


def _view_layer(scene):
    """The view layer whose selection and active collection say what the character is."""
    context_layer = getattr(bpy.context, "view_layer", None)
    if context_layer is not None and bpy.context.scene == scene:
        return context_layer
    return scene.view_layers[0]


def _channel_names(obj) -> list[str]:
    """The channels our playing take keys on ``obj`` (in the order of its F-curves)."""
    action, slot = direction.playing_action(obj)
    if action is None:
        raise DiffusionTalkerError(f"'{obj.name}' has no generated take to re-take: Generate "
                                   "first")
    return [c for c in direction._curves(action, slot)]


def _direction_options(prep: Prepared, talker, count: int) -> dict:
    """``keys`` and ``transcript`` for the core (only those in use: stand-in talkers in
    tests take neither)."""
    out: dict = {}
    user = prep.extra.get("user_keys")
    if user and talker.channels is not None:
        keys = direction.model_keys(user, talker.channels, prep.timing, prep.fps,
                                    prep.window_start, talker.fps, count)
        if keys:
            out["keys"] = keys
    elif user and prep.options.keep_keys:
        raise DiffusionTalkerError("Keep My Keys needs a model of channel weights (this one "
                                   "moves vertices)")
    if prep.options.transcript.strip():
        out["transcript"] = prep.options.transcript
    return out


def _work(prep: Prepared):
    def work(progress, cancelled):
        opts = prep.options
        talker = model_cache.get_talker(opts.checkpoint, opts.device, opts.runtime, opts.python)
        targets.check_vertex_topology(prep.info, talker)
        built = targets.rig_shapes(prep.info, talker.channels) if talker.space == "channels" else {}
        if opts.head_motion and any(is_head_rotation(c) for c in talker.channels or ()):
            info = prep.info
            prep.extra["head_pivot"] = head_motion.face_pivot(info.vertices, info.faces,
                                                              info.landmarks, info.matrix)
        # steps=None: the talker uses its checkpoint's default_steps (the one source of it)
        count = motion_frames(prep.wave.size, talker.fps)
        options = dict(identity=opts.identity, steps=opts.steps,
                       style_strength=opts.style_strength, progress=progress, cancel=cancelled,
                       **status_kwarg(talker, lambda text: progress(None, text)),
                       **_direction_options(prep, talker, count))
        if opts.retake:
            motion = _retake(prep, talker, count, options)
            motions = [motion]
        elif opts.takes > 1:
            if talker.space != "channels":
                raise DiffusionTalkerError("several takes need a model of channel weights")
            motions = talker.generate_takes(prep.wave, SAMPLE_RATE, seeds=list(
                range(opts.seed, opts.seed + opts.takes)), **options)
            motion = motions[0]
        else:
            motion = talker.generate(prep.wave, SAMPLE_RATE, seed=opts.seed, **options)
            motions = [motion]
        prep.extra.setdefault("warnings", []).extend(motion.notes)
        prep.extra["steps"] = opts.steps if opts.steps is not None else _default_steps(talker)
        report = str(getattr(talker, "device_report", "") or "")
        if "instead" in report:  # the device asked for was not available: say what ran
            prep.extra.setdefault("warnings", []).append(report)
        frames, values = motion_on_strip(motion.data, motion.fps, prep.window_start,
                                         prep.timing, prep.fps)
        if frames.size == 0:
            raise AudioError("the strip covers no whole scene frame")
        others = [motion_on_strip(m.data, m.fps, prep.window_start, prep.timing, prep.fps)[1]
                  for m in motions[1:]]
        return motion, frames, values, built, others

    return work


def _retake(prep: Prepared, talker, count: int, options: dict):
    """The playing take, read back at model frames, re-taken inside the chosen range."""
    from diffusiontalker.motion import Motion
    from diffusiontalker.runtime.retake import retake

    audible, values, names = prep.extra["take_scene"]
    if talker.channels is None or shape_channels(talker.channels) != list(names):
        raise DiffusionTalkerError("the playing take was not made by this model's channels: "
                                   "Generate it again with this model before re-taking")
    shapes = direction.take_at_model_frames(values, audible, prep.timing, prep.fps,
                                            prep.window_start, talker.fps, count)
    full = np.zeros((count, len(talker.channels)), np.float32)  # head rotation: rest, or as it plays
    keep, _ = head_motion.split(talker.channels)
    full[:, keep] = shapes
    if prep.extra.get("take_head") is not None:
        head_names, head_values = prep.extra["take_head"]
        turn = direction.take_at_model_frames(head_values, audible, prep.timing, prep.fps,
                                              prep.window_start, talker.fps, count)
        for k, name in enumerate(head_names):
            if name in talker.channels:
                full[:, list(talker.channels).index(name)] = turn[:, k]
    take = Motion(talker.fps, "channels", full, tuple(talker.channels))
    first, last = prep.extra["range"]
    a, b = direction.model_range(first, last, prep.timing, prep.fps, prep.window_start,
                                 talker.fps, count)
    return retake(talker, take, prep.wave, SAMPLE_RATE, frames=(a, b), seed=prep.options.seed,
                  **options)


def _default_steps(talker):
    try:
        return int(talker.default_steps)
    except (AttributeError, TypeError, ValueError):
        return None


def make_job(prep: Prepared) -> Job:
    """The Generate job: model in the worker, :func:`write_motion` on the main thread."""

    def apply(result) -> str:
        motion, frames, values, built, others = result
        obj = bpy.data.objects.get(prep.info.name)
        if obj is None or obj.type != "MESH":
            raise TopologyError(f"the head '{prep.info.name}' was removed while generating")
        if len(obj.data.vertices) != prep.info.num_vertices:
            raise TopologyError(f"the head '{obj.name}' changed while generating; generate again")
        warnings = prep.extra.setdefault("warnings", [])  # the operator reports these
        if prep.options.retake:
            check_finite(values)
            first, last = prep.extra["range"]
            keep, turn = head_motion.split(motion.channels)
            turned = 0
            if turn and prep.extra.get("take_head") is not None:  # the head, as the mouth
                turned = head_motion.retake_range(obj, [motion.channels[k] for k in turn],
                                                  frames, values[:, turn], first, last)
            names, values = [motion.channels[k] for k in keep], values[:, keep]
            count = direction.rewrite_range(obj, names, frames, values, first, last)
            meshes = character.retake_followers(obj, names, frames, values, first, last)
            also = f" and {meshes} more meshes" if meshes else ""
            head = " with the head motion" if turned else ""
            return f"re-took frames {first}-{last} of '{obj.name}'{also}{head} ({count} frames)"
        users = direction.user_frames(prep.extra.get("user_keys") or {}, frames)
        main = output.plan(obj, motion, frames, values, built, prep.options, warnings, users,
                           prep.extra.get("head_pivot"), others)
        more = character.plan_followers(obj, prep.followers, motion, frames, values,
                                        prep.options, main.mode, warnings)
        head = output.commit(main, prep.options.cache_dir)  # every mesh planned: now write
        if others:
            heads = [head] + [head_motion.store(obj, p, n) for n, p in enumerate(main.head_takes, 2)]
            _store_takes(obj, motion.channels, frames, others, prep.options, users,
                         heads if head is not None else None)
        warnings += layering.settle(obj, prep.options.layering)
        warnings += character.commit_followers(obj, more, prep.options)
        steps = prep.extra.get("steps")
        how = main.mode.lower().replace("_", " ") + (f", {steps} steps" if steps else "")
        takes_text = f", {len(others) + 1} takes" if others else ""
        also = f" and {len(more)} more meshes ({', '.join(p.obj.name for p in more)})" if more else ""
        return (f"animated '{obj.name}'{also} from frame {int(frames[0])} to {int(frames[-1])} "
                f"({len(frames)} frames, {how}{takes_text})")

    label = "Re-take" if prep.options.retake else "Generate"
    return Job(label, _work(prep), apply)


def _store_takes(obj, channels, frames, others, options: GenerateOptions, users,
                 heads: list | None = None) -> None:
    """Takes 2..N as stored actions beside the playing first take (``takes.py``); ``heads``:
    each take's head rotation action (the first playing), where Head Motion wrote one."""
    key = obj.data.shape_keys
    playing, _ = direction.playing_action(obj)
    actions = [playing]
    keep, _ = head_motion.split(channels)  # the shape keys here; head rotation: ``heads``
    channels = [channels[k] for k in keep]
    for number, values in enumerate(others, 2):
        check_finite(values)
        values = values[:, keep]
        actions.append(writers.write_channel_keys(obj, channels, frames, values, users,
                                                  hook=False, name=f"DT {obj.name} take {number}"))
    takes.record_takes(key, actions, list(range(options.seed, options.seed + len(actions))), heads)


def write_motion(obj, motion, frames, values, built: dict, options: GenerateOptions,
                 notes: list[str] | None = None, users: dict | None = None) -> str:
    """Replace what an earlier Generate wrote on ``obj`` with this motion; returns the mode.

    Everything that can fail on the numbers (NaN or infinite motion, a failed basis bake)
    runs before the scene is touched (``output.plan``), so a failure leaves it as it was.
    What the chosen output costs for a long take (per-frame keys, a big point cache) is
    appended to ``notes`` for the operator to report as warnings.
    """
    planned = output.plan(obj, motion, frames, values, built, options, notes, users)
    output.commit(planned, options.cache_dir)
    return planned.mode
