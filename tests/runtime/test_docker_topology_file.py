"""The docker topology file and the container plans built from it (no engine needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cachechaos.checklist import resolve
from cachechaos.docker import launcher
from cachechaos.runtime.topology import DockerTopologySpec, RedisSettings, load_topology
from cachechaos.yamlmodel import ConfigFileError


def test_packaged_docker_topology_loads_with_the_defaults() -> None:
    spec = load_topology(resolve(Path("targets/docker.yaml")))
    assert isinstance(spec, DockerTopologySpec)
    assert spec == DockerTopologySpec()  # the file documents the defaults, it changes none


def test_host_binaries_are_refused_in_a_docker_topology(tmp_path: Path) -> None:
    path = tmp_path / "docker.yaml"
    path.write_text("kind: docker\nredis: {binary: /usr/bin/redis-server}\n")
    with pytest.raises(ConfigFileError, match="use images"):
        load_topology(path)


def test_unknown_kind_names_docker_among_the_kinds(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("kind: kubernetes\n")
    with pytest.raises(ConfigFileError, match="local, docker, external or compose"):
        load_topology(path)


def test_redis_and_sentinel_plans_announce_the_proxy_and_listen_everywhere() -> None:
    settings = RedisSettings(maxmemory="64mb")
    replica = launcher.redis_plan("redis-2", "img", "10.9.0.11", settings, ("10.9.0.3", 20001), ("10.9.0.3", 20000))
    conf = replica.files["redis.conf"]
    assert "bind 0.0.0.0" in conf and "replica-announce-ip 10.9.0.3" in conf and "replica-announce-port 20001" in conf
    assert "replicaof 10.9.0.3 20000" in conf and "maxmemory 64mb" in conf
    assert replica.entrypoint == ["redis-server"] and replica.command == ["/cachechaos/redis.conf"]
    sentinel = launcher.sentinel_plan("sentinel-1", "img", "10.9.0.12", settings, ("10.9.0.3", 20002), ("10.9.0.3", 20000))
    text = sentinel.files["sentinel.conf"]
    assert "sentinel monitor cachechaos 10.9.0.3 20000 2" in text and "sentinel announce-port 20002" in text
    assert sentinel.command[-1] == "--sentinel"


def test_postgres_plan_runs_as_postgres_and_trusts_the_run_network() -> None:
    spec = DockerTopologySpec.model_validate({"postgres": {"settings": {"max_connections": 300}}})
    plan = launcher.postgres_plan("postgres", "img", "10.9.0.15", spec.postgres)
    script = plan.files["start-postgres.sh"]
    assert plan.user == "postgres" and plan.entrypoint == ["sh"]
    assert "host all all 0.0.0.0/0 trust" in script and "-c max_connections=300" in script
    assert "initdb" in script and "--locale=C" in script


def test_the_archive_holds_the_files_under_a_directory_every_user_may_write() -> None:
    import io
    import tarfile

    data = launcher._archive({"a.conf": "x"})
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        folder, member = tar.getmembers()
        assert folder.isdir() and folder.mode == 0o777 and member.name == "cachechaos/a.conf"


def test_a_docker_topology_refuses_the_local_runtimes_passwords() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"redis\.password, postgres\.password: only the local runtime"):
        DockerTopologySpec.model_validate({"kind": "docker", "redis": {"password": "x"}, "postgres": {"password": "y"}})
