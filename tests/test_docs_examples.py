"""The docs' examples run as written: README.md's and docs/*.md's fenced code blocks.

Python blocks run in a scratch folder that holds ``speech.wav`` (the bundled demo sentence)
and ``model.safetensors`` (the shipped default checkpoint), the names the examples use. An
HTML comment on the line before a block's fence changes how it runs:

* ``<!-- example: bpy -->``: under the ``bpy`` module, in a fresh process with the add-on
  registered and a scene holding the demo head named ``Head`` and the speech clip as a sound
  strip named ``speech.wav``;
* ``<!-- example: replace OLD NEW -->``: the text OLD (a machine-specific value; quote it
  shell-style when it holds spaces or quotes) becomes NEW first;
* ``<!-- example: skip REASON -->``: not run.

Every ``diffusiontalker ...`` command line in a fenced block (bash or plain) must parse with
that command's arguments, each optional ``[...]`` part and each ``a|b`` value on its own; the
README's ``generate`` and ``identities`` lines also run.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from diffusiontalker import cli
from diffusiontalker.paths import DATA_DIR, DEFAULT_CHECKPOINT

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(?:^<!-- example: (?P<marker>.*?) -->\n)?^```(?P<lang>\w*)\n(?P<code>.*?)^```",
                   re.S | re.M)


def blocks(lang: str | None = None) -> list[tuple[str, str, str]]:
    """``(where, marker, code)`` of every fenced block (of language ``lang``) in the docs."""
    found = []
    for path in DOCS:
        text = path.read_text()
        for m in FENCE.finditer(text):
            if lang is None or m["lang"] == lang:
                where = f"{path.relative_to(ROOT)}:{text[:m.start('code')].count(chr(10))}"
                found.append((where, m["marker"] or "", m["code"]))
    return found


PYTHON_BLOCKS = blocks("python")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copy(DATA_DIR / "demo_speech.wav", tmp_path / "speech.wav")
    shutil.copy(DEFAULT_CHECKPOINT, tmp_path / "model.safetensors")
    (tmp_path / "keys.json").write_text('[{"frame": 30, "channels": {"jawOpen": 0.0}}]')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def prepared(marker: str, code: str) -> str:
    """The block's code with its ``replace`` marker applied."""
    if marker.startswith("replace "):
        old, new = shlex.split(marker)[1:]
        assert old in code, f"the replace marker's {old!r} is not in the block"
        code = code.replace(old, new)
    return code


BPY_SCENE = """
import bpy
from blender_addon import demo_scene, register
register()
head, strip = demo_scene.build_demo_scene({audio!r}, fps=30)
head.name, strip.name = "Head", "speech.wav"
"""
BPY_CHECK = """
ours = [a for a in bpy.data.actions if a.get("diffusiontalker")]
assert ours, "the example made no animation"
print("example ran:", [a.name for a in ours])
"""


def run_under_bpy(code: str, workdir: Path) -> None:
    pytest.importorskip("bpy")
    script = BPY_SCENE.format(audio=str(workdir / "speech.wav")) + code + BPY_CHECK
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "core"), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", script], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "example ran:" in done.stdout, done.stderr[-3000:]


def test_the_docs_have_python_examples():
    where = {w.split(":")[0] for w, _, _ in PYTHON_BLOCKS}
    assert {"README.md", "docs/blender.md", "docs/model.md"} <= where, where


@pytest.mark.parametrize("where,marker,code", PYTHON_BLOCKS, ids=[b[0] for b in PYTHON_BLOCKS])
def test_python_example_runs(where, marker, code, workdir):
    if marker.startswith("skip"):
        pytest.skip(f"{where}: {marker}")
    code = prepared(marker, code)
    if marker == "bpy":
        run_under_bpy(code, workdir)
        return
    assert not marker or marker.startswith("replace "), f"{where}: unknown marker {marker!r}"
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, where, "exec"), {"__name__": "__example__"})


def command_lines() -> list[tuple[str, str]]:
    """``(where, line)`` for each ``diffusiontalker COMMAND ...`` line in a bash or plain block
    (``\\`` continuations joined, ``# comments`` dropped); ``./dev.sh demo`` counts too."""
    found = []
    for where, _, code in blocks("bash") + blocks(""):
        for line in code.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            m = re.search(r"(?:^|\s)(?:-m )?diffusiontalker\s+(.*)$", line) or re.match(
                r"\./dev\.sh (demo\b.*)$", line)
            if m:
                found.append((where, m.group(1).strip()))
    return found


# the docs' numeric metavariables (``--steps N``) -> a value of that kind
SAMPLE_VALUES = {"N": "8", "M": "2", "S": "0", "H": "3", "W": "2", "λ": "0.5"}


def variants(line: str) -> list[str]:
    """The line without its ``[...]`` parts, and with each part's alternatives (``a | b``)
    one at a time; then every ``x|y|z`` value one at a time; metavariables get
    :data:`SAMPLE_VALUES`."""
    groups = list(re.finditer(r"\[([^\[\]]*)\]", line))
    drop = re.compile(r"\s*\[[^\[\]]*\]")
    out = [drop.sub("", line)]
    for g in groups:
        for alternative in g.group(1).split(" | "):
            out.append(drop.sub("", line[:g.start()]) + alternative + drop.sub("", line[g.end():]))
    expanded = []
    for v in out:
        bar = re.search(r"(\S+\|\S+)", v)
        if bar and not bar.group(1).startswith(("'", '"')):
            expanded += [v[:bar.start()] + value + v[bar.end():] for value in bar.group(1).split("|")]
        else:
            expanded.append(v)
    return [" ".join(SAMPLE_VALUES.get(t, t) for t in v.split(" ")) for v in expanded]


COMMAND_LINES = command_lines()


def test_the_docs_have_command_lines():
    commands = {line.split()[0] for _, line in COMMAND_LINES}
    assert {"generate", "identities", "train", "synth", "export-onnx", "demo"} <= commands


@pytest.mark.parametrize("where,line", COMMAND_LINES, ids=[f"{where} {line.split()[0]}" for where, line in COMMAND_LINES])
def test_command_line_parses(where, line):
    for variant in variants(line):
        argv = shlex.split(variant)
        assert argv[0] in cli.COMMANDS, f"{where}: no command {argv[0]!r}"
        parser = cli.build_parser(argv[0])
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"{where}: `diffusiontalker {variant}` does not parse: {err.getvalue()}")


def test_the_readme_generate_and_identities_lines_run(workdir, capsys):
    lines = [line for where, line in COMMAND_LINES if where.startswith("README.md")
             and line.split()[0] in ("generate", "identities")]
    # generate, the re-take of its output, keys, takes, transcript, identities (in this order)
    assert len(lines) == 6
    for line in lines:
        for variant in variants(line):
            argv = shlex.split(variant)
            if "--runtime" in argv and argv[argv.index("--runtime") + 1] == "worker":
                continue  # a worker process: tests/runtime/test_worker.py
            assert cli.main(argv) == 0, f"`diffusiontalker {variant}`: {capsys.readouterr().err}"
    assert (workdir / "motion.npz").is_file() and (workdir / "again.npz").is_file()
    assert (workdir / "keyed.npz").is_file() and (workdir / "said.npz").is_file()
    assert sorted(p.name for p in workdir.glob("take_*.npz")) == [f"take_{i}.npz" for i in range(4)]
    assert "ada" in capsys.readouterr().out.split()
