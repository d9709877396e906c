"""Build the installable DiffusionTalker extension zip.

    python build.py [--output-dir dist] [--extra-wheels DIR] [--split-platforms] [--validate-only]
                    [--no-light] [--platforms linux-x64,windows-x64,macos-arm64] [--wheel-cache DIR]

Steps: build the core (``core/diffusiontalker``) as a pure-Python wheel; stage the add-on
package (``blender_addon/``) at the package root beside ``blender_manifest.toml`` (with its
``wheels`` list filled in) and ``wheels/``; then validate and build the zip with Blender's
own extension tool (``bl_pkg/cli/blender_ext.py``, shipped inside the ``bpy`` wheel and
inside every Blender). numpy is never bundled: Blender ships its own and one shared
site-packages serves all extensions. ``--extra-wheels DIR`` adds every wheel in DIR (e.g. a
runtime such as onnxruntime for each platform and Python).

The default build is *light* (``--no-light`` turns it off): it adds the onnxruntime wheels for
Python 3.11 (Blender 4.2-5.0) and 3.13 (Blender 5.1+) of each platform, plus the pure-Python
packages onnxruntime requires that Blender does not ship (numpy it does, and is never
bundled), and builds one zip per platform, each at most 50 MB. No torch: the add-on runs the
model's ONNX export with onnxruntime (docs/runtime.md lists heavier variants).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
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
# onnxruntime's requirements (besides numpy) that Blender does not ship; all pure Python.
ORT_REQUIREMENTS = ("flatbuffers==25.12.19", "packaging==26.3", "protobuf==7.36.2")
MAX_ZIP_BYTES = 50 * 1000 * 1000


def _pip_download(cache: Path, args: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:",
                    "--no-deps", "-d", str(cache), *args], check=True)


def light_wheels(cache: Path, platforms: list[str]) -> list[Path]:
    """onnxruntime for each platform x Python, and its pure-Python requirements, downloaded
    into ``cache`` once (unmodified wheels from PyPI)."""
    cache.mkdir(parents=True, exist_ok=True)
    wheels = []
    for platform in platforms:
        if platform not in LIGHT_PLATFORMS:
            sys.exit(f"unknown platform {platform!r}; choose from {', '.join(LIGHT_PLATFORMS)}")
        tag = LIGHT_PLATFORMS[platform]
        for python in LIGHT_PYTHONS:
            cp = "cp" + python.replace(".", "")
            pattern = f"onnxruntime-{ORT_VERSION}-{cp}-{cp}-*{tag.split('_')[0]}*.whl"
            if not list(cache.glob(pattern)):
                _pip_download(cache, ["--platform", tag, "--python-version", python,
                                      f"onnxruntime=={ORT_VERSION}"])
            found = sorted(cache.glob(pattern))
            if not found:
                sys.exit(f"no onnxruntime {ORT_VERSION} wheel for {platform} / Python {python}")
            wheels.append(found[-1])
    for requirement in ORT_REQUIREMENTS:
        name, version = requirement.split("==")
        pattern = f"{name}-{version}-*none-any.whl"
        if not list(cache.glob(pattern)):
            _pip_download(cache, ["--platform", "any", "--python-version", LIGHT_PYTHONS[0],
                                  requirement])
        found = sorted(cache.glob(pattern))
        if not found:
            sys.exit(f"no pure-Python wheel of {requirement}")
        wheels.append(found[-1])
    return wheels


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
    """``pip wheel --no-deps`` of this checkout: the core as a pure-Python wheel."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "-q", "-w", tmp, str(ROOT)], check=True)
        (wheel,) = Path(tmp).glob("diffusiontalker-*.whl")
        if not wheel.name.endswith("-py3-none-any.whl"):
            sys.exit(f"the core wheel must be pure Python, got {wheel.name}")
        return Path(shutil.copy2(wheel, out_dir / wheel.name))


def stage(stage_dir: Path, wheels: list[Path], platforms: list[str] | None = None) -> None:
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
    (stage_dir / "blender_manifest.toml").write_text(manifest)


def build(output_dir: Path, extra_wheels: Path | None = None, split_platforms: bool = False,
          validate_only: bool = False, light: bool = False, platforms: list[str] | None = None,
          wheel_cache: Path | None = None) -> list[Path]:
    """Build the zip(s) into ``output_dir``; returns their paths.

    ``light``: add onnxruntime for ``platforms`` (default: all of ``LIGHT_PLATFORMS``) and
    split per platform; each zip must stay within 50 MB.
    """
    if light:
        platforms = list(platforms or LIGHT_PLATFORMS)
        split_platforms = True
    tool = blender_ext_tool()
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wheel_dir = tmp / "wheels-in"
        wheel_dir.mkdir()
        wheels = [build_core_wheel(wheel_dir)]
        if extra_wheels is not None:
            wheels += sorted(Path(extra_wheels).glob("*.whl"))
        if light:
            wheels += light_wheels(wheel_cache or ROOT / "build" / "wheels-cache", platforms)
        src = tmp / "diffusiontalker"
        stage(src, wheels, platforms if light else None)
        subprocess.run([sys.executable, str(tool), "validate", str(src)], check=True)
        if validate_only:
            return []
        before = set(output_dir.glob("*.zip"))
        cmd = [sys.executable, str(tool), "build", "--source-dir", str(src),
               "--output-dir", str(output_dir)]
        if split_platforms:
            cmd.append("--split-platforms")
        subprocess.run(cmd, check=True)
    made = sorted(set(output_dir.glob("*.zip")) - before) or sorted(output_dir.glob("diffusiontalker-*.zip"))
    if light:
        too_big = [f"{z.name} ({z.stat().st_size / 1e6:.1f} MB)" for z in made
                   if z.stat().st_size > MAX_ZIP_BYTES]
        if too_big:
            sys.exit(f"light zips must stay within {MAX_ZIP_BYTES / 1e6:.0f} MB: {', '.join(too_big)}")
    return made


def main(argv: list[str] | None = None) -> int:
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
