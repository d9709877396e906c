"""Build the installable DiffusionTalker extension zip.

    python build.py [--output-dir dist] [--extra-wheels DIR] [--split-platforms] [--validate-only]

Steps: build the core (``core/diffusiontalker``) as a pure-Python wheel; stage the add-on
package (``blender_addon/``) at the package root beside ``blender_manifest.toml`` (with its
``wheels`` list filled in) and ``wheels/``; then validate and build the zip with Blender's
own extension tool (``bl_pkg/cli/blender_ext.py``, shipped inside the ``bpy`` wheel and
inside every Blender). numpy is never bundled: Blender ships its own and one shared
site-packages serves all extensions. ``--extra-wheels DIR`` adds every wheel in DIR (e.g. a
runtime such as onnxruntime for each platform and Python).
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


def stage(stage_dir: Path, wheels: list[Path]) -> None:
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
    (stage_dir / "blender_manifest.toml").write_text(manifest)


def build(output_dir: Path, extra_wheels: Path | None = None, split_platforms: bool = False,
          validate_only: bool = False) -> list[Path]:
    """Build the zip(s) into ``output_dir``; returns their paths."""
    tool = blender_ext_tool()
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wheel_dir = tmp / "wheels-in"
        wheel_dir.mkdir()
        wheels = [build_core_wheel(wheel_dir)]
        if extra_wheels is not None:
            wheels += sorted(Path(extra_wheels).glob("*.whl"))
        src = tmp / "diffusiontalker"
        stage(src, wheels)
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
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=ROOT / "dist")
    parser.add_argument("--extra-wheels", type=Path, help="bundle every .whl in this folder too")
    parser.add_argument("--split-platforms", action="store_true", help="one zip per platform")
    parser.add_argument("--validate-only", action="store_true")
    args = parser.parse_args(argv)
    for path in build(args.output_dir, args.extra_wheels, args.split_platforms, args.validate_only):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
