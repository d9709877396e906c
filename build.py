"""Build the installable DiffusionTalker extension zip.

    ./dev.sh python build.py [--output-dir dist] [--extra-wheels DIR] [--split-platforms] [--validate-only]
                    [--no-light] [--platforms linux-x64,windows-x64,macos-arm64] [--wheel-cache DIR]

Steps: build the core (``core/diffusiontalker``) as a pure-Python wheel; stage the add-on
package (``blender_addon/``) at the package root beside ``blender_manifest.toml`` (with its
``wheels`` list filled in) and ``wheels/``; then validate and build the zip with Blender's
own extension tool (``bl_pkg/cli/blender_ext.py``, shipped inside the ``bpy`` wheel and
inside every Blender). numpy is never bundled: Blender ships its own and one shared
site-packages serves all extensions. ``--extra-wheels DIR`` adds every wheel in DIR (e.g. a
runtime such as onnxruntime for each platform and Python).

The default build is *light* (``--no-light`` turns it off): one zip per platform and Blender
range, each at most 50 MB: Blender 4.2-5.0 (Python 3.11) and Blender 5.1+ (Python 3.13), via
the manifest's ``blender_version_min``/``blender_version_max``. Each holds that Python's
onnxruntime wheel for the platform, the pure-Python packages onnxruntime requires that Blender
does not ship (numpy it does, and is never bundled), and a *light* core wheel: the shipped
models' ONNX exports (``weights/*.onnx/``) without the torch-only files beside them
(``weights/*.safetensors``: checkpoints and audio encoder files, which the export contains).
No torch: the add-on runs the ONNX export with onnxruntime (docs/runtime.md lists heavier
variants). One zip per Python: both Pythons' onnxruntime (linux: 2 x 18.2 MB) next to a
Whisper-encoder model (15 MB) would not fit in 50 MB (docs/runtime.md).
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
FORBIDDEN = ("numpy",)  # would replace Blender's own copy for every extension

# --- the light build: onnxruntime instead of torch ------------------------------------------
# 1.26.0: the newest onnxruntime whose Linux wheels for two Pythons stay well inside 50 MB
# (1.31.1: 2 x 23.8 MB) and that no longer requires sympy.
ORT_VERSION = "1.26.0"
LIGHT_PLATFORMS = {"linux-x64": "manylinux_2_28_x86_64", "windows-x64": "win_amd64",
                   "macos-arm64": "macosx_14_0_arm64"}
LIGHT_PYTHONS = ("3.11", "3.13")  # Blender 4.2-5.0 and Blender 5.1+
# Python -> (blender_version_min, blender_version_max: the first version NOT supported, or None)
BLENDER_RANGES = {"3.11": ("4.2.0", "5.1.0"), "3.13": ("5.1.0", None)}
# torch-only package data left out of the light core wheel: the ONNX exports replace them
LIGHT_CORE_DROPS = ("diffusiontalker/weights/*.safetensors",)
# onnxruntime's requirements (besides numpy) that Blender does not ship; all pure Python.
ORT_REQUIREMENTS = ("flatbuffers==25.12.19", "packaging==26.3", "protobuf==7.36.2")
MAX_ZIP_BYTES = 50 * 1000 * 1000


def _pip_download(cache: Path, args: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:",
                    "--no-deps", "-d", str(cache), *args], check=True)


def light_wheels(cache: Path, platforms: list[str],
                 pythons: tuple[str, ...] = LIGHT_PYTHONS) -> list[Path]:
    """onnxruntime for each platform x Python, and its pure-Python requirements, downloaded
    into ``cache`` once (unmodified wheels from PyPI)."""
    cache.mkdir(parents=True, exist_ok=True)
    wheels = []
    for platform in platforms:
        if platform not in LIGHT_PLATFORMS:
            sys.exit(f"unknown platform {platform!r}; choose from {', '.join(LIGHT_PLATFORMS)}")
        tag = LIGHT_PLATFORMS[platform]
        for python in pythons:
            cp = "cp" + python.replace(".", "")
            wheels.append(_cached_wheel(
                cache, f"onnxruntime-{ORT_VERSION}-{cp}-{cp}-*{tag.split('_')[0]}*.whl",
                ["--platform", tag, "--python-version", python, f"onnxruntime=={ORT_VERSION}"],
                f"onnxruntime {ORT_VERSION} for {platform} / Python {python}"))
    for requirement in ORT_REQUIREMENTS:
        name, version = requirement.split("==")
        wheels.append(_cached_wheel(
            cache, f"{name}-{version}-*none-any.whl",
            ["--platform", "any", "--python-version", LIGHT_PYTHONS[0], requirement],
            f"a pure-Python {requirement}"))
    return wheels


def _cached_wheel(cache: Path, pattern: str, download: list[str], what: str) -> Path:
    """The wheel in ``cache`` matching ``pattern``, downloaded with ``download`` if missing."""
    if not list(cache.glob(pattern)):
        _pip_download(cache, download)
    found = sorted(cache.glob(pattern))
    if not found:
        sys.exit(f"no wheel of {what}")
    return found[-1]


def blender_ext_tool() -> Path:
    """Blender's extension tool from the installed ``bpy`` module (or $BLENDER_EXT_TOOL)."""
    import importlib.util
    import os

    if os.environ.get("BLENDER_EXT_TOOL"):
        return Path(os.environ["BLENDER_EXT_TOOL"])
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("build.py needs the bpy module (pip install bpy) or BLENDER_EXT_TOOL=path/to/blender_ext.py")
    base = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(base.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        sys.exit(f"Blender's extension tool was not found under {base}")
    return found[-1]


def build_core_wheel(out_dir: Path) -> Path:
    """``pip wheel --no-deps`` of this checkout: the core as a pure-Python wheel. Built from a
    copy of the sources in a temporary folder, so that two builds at once (or a stale
    ``build/`` in the checkout) never share setuptools' build directory."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, src / name)
        shutil.copytree(ROOT / "core", src / "core",
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "-q", "-w", tmp, str(src)], check=True)
        (wheel,) = Path(tmp).glob("diffusiontalker-*.whl")
        if not wheel.name.endswith("-py3-none-any.whl"):
            sys.exit(f"the core wheel must be pure Python, got {wheel.name}")
        out_dir.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(wheel, out_dir / wheel.name))


def light_core_wheel(wheel: Path, drops: tuple[str, ...] = LIGHT_CORE_DROPS) -> list[str]:
    """Rewrite the core wheel in place without the files matching ``drops`` (and their RECORD
    lines); returns the dropped names. The other files and their hashes are unchanged."""
    with zipfile.ZipFile(wheel) as src:
        items = [(info, src.read(info)) for info in src.infolist()]
    dropped = [i.filename for i, _ in items if any(fnmatch.fnmatch(i.filename, d) for d in drops)]
    if not dropped:
        return []
    tmp = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            if info.filename in dropped:
                continue
            if info.filename.endswith(".dist-info/RECORD"):
                lines = data.decode().splitlines(keepends=True)
                data = "".join(line for line in lines
                               if line.split(",", 1)[0] not in dropped).encode()
            out.writestr(info, data)
    tmp.replace(wheel)
    return dropped


def stage(stage_dir: Path, wheels: list[Path], platforms: list[str] | None = None,
          blender_range: tuple[str, str | None] | None = None) -> None:
    """Lay out the extension's source folder: manifest, add-on package, wheels/."""
    for bad in wheels:
        if bad.name.split("-")[0].lower() in FORBIDDEN:
            sys.exit(f"refusing to bundle {bad.name}: Blender ships its own numpy")
    shutil.copytree(ROOT / "blender_addon", stage_dir,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)
    (stage_dir / "wheels").mkdir(exist_ok=True)
    for w in wheels:
        if not (stage_dir / "wheels" / w.name).exists():
            shutil.copy2(w, stage_dir / "wheels" / w.name)
    listed = ", ".join(f'"./wheels/{w.name}"' for w in wheels)
    manifest = (ROOT / "blender_manifest.toml").read_text()
    manifest, n = re.subn(r"(?m)^wheels\s*=\s*\[[^\]]*\]", f"wheels = [{listed}]", manifest)
    if n != 1:
        sys.exit("blender_manifest.toml needs exactly one 'wheels = [...]' line")
    if platforms:  # split builds need the platforms declared
        listed = ", ".join(f'"{p}"' for p in platforms)
        manifest, n = re.subn(r"(?m)^platforms\s*=\s*\[[^\]]*\]", f"platforms = [{listed}]", manifest)
        if n == 0:
            manifest = re.sub(r"(?m)^(wheels\s*=.*)$", lambda m: f"{m.group(1)}\nplatforms = [{listed}]",
                              manifest, count=1)
    if blender_range:  # one zip per Blender range (Python version of its bundled wheels)
        manifest = re.sub(r"(?m)^blender_version_(min|max)\s*=.*\n", "", manifest)
        lines = [f'blender_version_min = "{blender_range[0]}"']
        if blender_range[1]:
            lines.append(f'blender_version_max = "{blender_range[1]}"')
        manifest, n = re.subn(r"(?m)^(wheels\s*=.*)$",
                              lambda m: "\n".join([*lines, m.group(1)]), manifest, count=1)
    (stage_dir / "blender_manifest.toml").write_text(manifest)


def build(output_dir: Path, extra_wheels: Path | None = None, split_platforms: bool = False,
          validate_only: bool = False, light: bool = False, platforms: list[str] | None = None,
          wheel_cache: Path | None = None) -> list[Path]:
    """Build the zip(s) into ``output_dir``; returns their paths.

    ``light``: a light core wheel plus onnxruntime for ``platforms`` (default: all of
    ``LIGHT_PLATFORMS``), one zip per platform and Blender range (``BLENDER_RANGES``), named
    ``...-<platform>-blender<min>-<max>.zip``; each zip must stay within 50 MB.
    """
    if light:
        platforms = list(platforms or LIGHT_PLATFORMS)
        split_platforms = True
    tool = blender_ext_tool()
    output_dir.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wheel_dir = tmp / "wheels-in"
        wheel_dir.mkdir()
        wheels = [build_core_wheel(wheel_dir)]
        if light:
            light_core_wheel(wheels[0])
        if extra_wheels is not None:
            wheels += sorted(Path(extra_wheels).glob("*.whl"))
        for python in LIGHT_PYTHONS if light else (None,):
            variant = list(wheels)
            if python is not None:
                variant += light_wheels(wheel_cache or ROOT / "build" / "wheels-cache", platforms,
                                        (python,))
            src = tmp / f"stage-{python}" / "diffusiontalker"
            src.mkdir(parents=True)
            stage(src, variant, platforms if light else None,
                  BLENDER_RANGES[python] if python else None)
            subprocess.run([sys.executable, str(tool), "validate", str(src)], check=True)
            if validate_only:
                continue
            out = tmp / f"out-{python}" if python else output_dir
            out.mkdir(exist_ok=True)
            before = set(out.glob("*.zip"))
            cmd = [sys.executable, str(tool), "build", "--source-dir", str(src),
                   "--output-dir", str(out)]
            if split_platforms:
                cmd.append("--split-platforms")
            subprocess.run(cmd, check=True)
            zips = sorted(set(out.glob("*.zip")) - before) or sorted(out.glob("diffusiontalker-*.zip"))
            if python is None:
                made += zips
                continue
            low, high = BLENDER_RANGES[python]
            label = f"blender{low.rsplit('.0', 1)[0]}-{_last_supported(high)}"
            for z in zips:
                made.append(Path(shutil.move(z, output_dir / f"{z.stem}-{label}.zip")))
    if validate_only:
        return []
    if light:
        too_big = [f"{z.name} ({z.stat().st_size / 1e6:.1f} MB)" for z in made
                   if z.stat().st_size > MAX_ZIP_BYTES]
        if too_big:
            sys.exit(f"light zips must stay within {MAX_ZIP_BYTES / 1e6:.0f} MB: {', '.join(too_big)}")
    return made


def _last_supported(blender_version_max: str | None) -> str:
    """``"5.1.0"`` (the first version not supported) -> ``"5.0"``; None -> ``"latest"``."""
    if blender_version_max is None:
        return "latest"
    major, minor = (int(x) for x in blender_version_max.split(".")[:2])
    return f"{major}.{minor - 1}" if minor else f"{major - 1}.x"


def _lacks_build_tools() -> str | None:
    """What this Python lacks to build (None: nothing): the ``bpy`` module (unless
    $BLENDER_EXT_TOOL names Blender's extension tool) and setuptools >= 77 (the core wheel is
    built without build isolation; 77 reads the SPDX licence string)."""
    import importlib.util
    import os
    from importlib import metadata

    if not os.environ.get("BLENDER_EXT_TOOL") and importlib.util.find_spec("bpy") is None:
        return "the bpy module"
    try:
        major = int(metadata.version("setuptools").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        major = 0
    return None if major >= 77 else "setuptools >= 77"


def use_project_python(argv: list[str]) -> None:
    """Re-run this script with the checkout's ``.venv`` Python when the running one lacks the
    build tools (``python build.py`` from any Python); exit with what to run when there is
    no such ``.venv`` yet (``./dev.sh python build.py`` creates it)."""
    import os

    missing = _lacks_build_tools()
    if missing is None:
        return
    venv = ROOT / ".venv"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if python.is_file() and Path(sys.prefix).resolve() != venv.resolve():
        print(f"build.py: this Python ({sys.executable}) lacks {missing}; running with {python}",
              file=sys.stderr, flush=True)
        os.execv(python, [str(python), str(Path(__file__).resolve()), *argv])
    sys.exit(f"build.py needs {missing}: run ./dev.sh python build.py (it sets up .venv from "
             "requirements/test.txt), or set BLENDER_EXT_TOOL=path/to/blender_ext.py")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    use_project_python(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=ROOT / "dist")
    parser.add_argument("--extra-wheels", type=Path, help="bundle every .whl in this folder too")
    parser.add_argument("--split-platforms", action="store_true", help="one zip per platform")
    parser.add_argument("--validate-only", action="store_true")
    parser.add_argument("--no-light", dest="light", action="store_false",
                        help="do not bundle onnxruntime (the add-on then needs torch, or a worker)")
    parser.add_argument("--platforms", default=",".join(LIGHT_PLATFORMS),
                        help="platforms of the light build (default: all three)")
    parser.add_argument("--wheel-cache", type=Path, default=ROOT / "build" / "wheels-cache",
                        help="where downloaded wheels are kept between builds")
    args = parser.parse_args(argv)
    platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    for path in build(args.output_dir, args.extra_wheels, args.split_platforms, args.validate_only,
                      args.light, platforms, args.wheel_cache):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
