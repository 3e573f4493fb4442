"""The compose topology file (`kind: compose`): its validation and the project it names (no engine needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cachechaos.checklist import resolve
from cachechaos.docker.compose import ComposeTarget
from cachechaos.faults import REGISTRY
from cachechaos.runtime.compose_spec import PROJECT_ENV, ComposeTopologySpec, normalize_project
from cachechaos.runtime.target import CAPABILITIES, Reseedable, missing_capabilities
from cachechaos.runtime.topology import load_topology
from cachechaos.runtimes import target_class
from cachechaos.yamlmodel import ConfigFileError


def test_packaged_example_names_every_service_of_its_compose_file() -> None:
    spec = load_topology(resolve(Path("targets/compose/topology.yaml")))
    assert isinstance(spec, ComposeTopologySpec) and target_class(spec) is ComposeTarget
    # `file` is made absolute against the topology file, so it holds from any working directory.
    compose_file = Path(spec.file or "")
    assert compose_file.is_absolute() and compose_file.name == "docker-compose.yml" and compose_file.is_file()
    import yaml

    services = set(yaml.safe_load(compose_file.read_text())["services"])
    assert set(spec.services()) <= services and set(spec.chaos_targets) <= services
    assert spec.project_name() == "compose"  # as compose names a project after the file's directory


def test_project_name_as_compose_derives_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "My Shop.v2"
    folder.mkdir()
    (folder / "docker-compose.yml").write_text("services: {}\n")
    spec = ComposeTopologySpec.model_validate({"file": str(folder / "docker-compose.yml"), "backends": [{"service": "web"}]})
    monkeypatch.delenv(PROJECT_ENV, raising=False)
    assert spec.project_name() == "myshopv2" == normalize_project("My Shop.v2")
    (folder / "docker-compose.yml").write_text("name: Shop_A\nservices: {}\n")
    assert spec.project_name() == "shop_a"
    monkeypatch.setenv(PROJECT_ENV, "from-env")
    assert spec.project_name() == "from-env"
    explicit = spec.model_copy(update={"project": "given"})
    assert explicit.project_name() == "given"


def test_a_compose_topology_must_name_its_project_and_a_backend(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("kind: compose\nbackends: [{service: web, port: 80}]\n")
    with pytest.raises(ConfigFileError, match="name the compose project"):
        load_topology(path)
    path.write_text("kind: compose\nproject: shop\nbackends: []\n")
    with pytest.raises(ConfigFileError, match="backends"):
        load_topology(path)
    path.write_text("kind: compose\nproject: shop\nbackends: [{service: web}]\nredis: {nodes: [cache]}\nsurprise: 1\n")
    with pytest.raises(ConfigFileError, match="surprise"):
        load_topology(path)


def test_every_fault_but_reseeding_fits_a_compose_target() -> None:
    assert missing_capabilities(ComposeTarget, CAPABILITIES) == [Reseedable]
    assert all(not missing_capabilities(ComposeTarget, REGISTRY[name].requires)
               for name in ("kill", "restart", "pause", "disconnect", "latency", "restart_backends"))


def test_doctor_on_an_attached_topology_says_its_servers_are_not_local() -> None:
    """doctor reads binary settings only a local topology has; on a compose file it says so instead of failing."""
    from click.testing import CliRunner

    from cachechaos.cli import cli

    result = CliRunner().invoke(cli, ["doctor", "--topology", str(resolve(Path("targets/compose/topology.yaml")))])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "kind compose: the topology's servers are not run from this machine's binaries" in result.output


def test_redis_credentials_are_accepted_and_never_recorded() -> None:
    """A compose project whose Redis asks for a password: the fields exist, and the copy a run records masks them."""
    from cachechaos.redact import redact

    spec = ComposeTopologySpec.model_validate({
        "project": "shop", "backends": [{"service": "web"}],
        "redis": {"nodes": ["redis"], "sentinels": ["sentinel"], "username": "chaos", "password": "n0de-s3cret",
                  "sentinel_password": "s3ntinel-s3cret"}})
    assert (spec.redis.username, spec.redis.password, spec.redis.sentinel_password) == ("chaos", "n0de-s3cret", "s3ntinel-s3cret")
    recorded = str(redact(spec.model_dump(mode="json")))
    assert "n0de-s3cret" not in recorded and "s3ntinel-s3cret" not in recorded and "chaos" in recorded
