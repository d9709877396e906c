"""`diffusiontalker --help` lists every sub-command with its one-line HELP, read from the
command modules' source without importing them (so it stays fast and never imports torch)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from diffusiontalker.cli import COMMANDS, command_help


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_has_its_modules_help_line(name):
    module = importlib.import_module(f"diffusiontalker.commands.{COMMANDS[name]}")
    assert command_help(name) == module.HELP
    assert module.HELP and "\n" not in module.HELP


def test_help_lists_every_command_without_importing_torch(repo_root):
    code = ("import sys; from diffusiontalker.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('TORCH', 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(repo_root / "core"), "PATH": ""})
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())  # argparse wraps long help lines
    for name in COMMANDS:
        assert f"{name} {' '.join(command_help(name).split())}" in out, name
    assert "TORCH False" in out
