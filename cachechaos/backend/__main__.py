from cachechaos.backend.cli import backend

backend(prog_name="python -m cachechaos.backend")
