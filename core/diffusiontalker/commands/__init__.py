"""Sub-commands of the `diffusiontalker` CLI: one module each (see ``cli.COMMANDS``)."""
