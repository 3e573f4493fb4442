"""The images the Docker runtime runs, and how they are built with or without a registry.

Two flavours:

* `official`: Redis, PostgreSQL and Shopify's Toxiproxy from their official images, and the
  toolkit's own image (backends, the reaper) built from `python:3.11-slim`. Needs a registry.
* `offline`: no registry at all. A Debian root filesystem made with `debootstrap` (Redis,
  PostgreSQL, Python) is imported as a base image, and the toolkit's image is built on it; that one
  image runs every node, the built-in Toxiproxy-compatible proxy standing in for Toxiproxy.

The toolkit's image installs cachechaos's dependencies from a wheelhouse downloaded on this
machine by pip (for the image's Python, whatever this machine runs), so the build itself needs no
network; a copied virtualenv would not do, its interpreter paths and version being this machine's.
Every image is named by a key over what it is made of, so an image already built is reused and a
change of recipe, dependencies or source makes a new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import docker
import docker.errors

from cachechaos import __version__
from cachechaos.docker.labels import IMAGE, IMAGE_KEY
from cachechaos.errors import EnvironmentFailure

Flavour = Literal["official", "offline"]
Progress = Callable[[str], None]

# What the official flavour runs; a topology file may name others per node.
OFFICIAL = {"redis": "redis:7.2", "postgres": "postgres:16", "toxiproxy": "ghcr.io/shopify/toxiproxy:2.9.0",
            "python": "python:3.11-slim"}

# The offline base: what debootstrap installs. Changing it changes the key, so the image is rebuilt.
BASE_SUITE = "bookworm"
BASE_PACKAGES = ("redis-server", "postgresql-15", "python3", "python3-venv")
# The oldest Python of the two bases (bookworm's python3; python:3.11-slim is newer): the wheelhouse is
# downloaded for it, so markers such as redis-py's `python_full_version < "3.11.3"` bring what it needs.
BASE_PYTHON = "3.11.2"
# pip download evaluates `python_full_version` markers against the interpreter running it, not
# --python-version: what the bases' older Pythons need is named here so the wheelhouse has it.
WHEELHOUSE_EXTRAS = ("async-timeout>=4.0.3",)
BASE_RECIPE = 1  # bump when the way the root filesystem is made or trimmed changes
# Files the servers never read, removed from the root filesystem before it is imported.
_TRIM = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info",
         "var/lib/postgresql", "etc/postgresql")

BASE_REPO = "cachechaos-base"
TOOLKIT_REPO = "cachechaos"
CACHE_ENV = "CACHECHAOS_CACHE_DIR"
MIRROR_ENV = "CACHECHAOS_DEBIAN_MIRROR"


class ImageBuildError(EnvironmentFailure):
    """An image could not be built (exit code 3)."""


class ImageMissing(EnvironmentFailure):
    """A topology needs an image the engine does not have; `cachechaos images build` makes it."""


def cache_dir() -> Path:
    """Where wheelhouses are kept between builds."""
    base = os.environ.get(CACHE_ENV) or os.path.join(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "cachechaos")
    return Path(base)


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _arch() -> str:
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def base_tag() -> str:
    """The offline base image's name: its key covers the suite, the packages and the recipe."""
    return f"{BASE_REPO}:{_key(BASE_RECIPE, BASE_SUITE, sorted(BASE_PACKAGES), _arch())}"


def has_image(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        return False
    return True


# -- the offline base -----------------------------------------------------------------------------

def host_debian_mirror() -> str | None:
    """The Debian mirror this machine's apt uses (CACHECHAOS_DEBIAN_MIRROR first); None: debootstrap's default."""
    if os.environ.get(MIRROR_ENV):
        return os.environ[MIRROR_ENV]
    sources = Path("/etc/apt/sources.list.d")
    for path in sorted(sources.glob("*.sources")) if sources.is_dir() else []:
        for stanza in path.read_text(errors="replace").split("\n\n"):
            fields = dict(line.split(":", 1) for line in stanza.splitlines() if ":" in line and not line.startswith("#"))
            uris, suites = fields.get("URIs", "").split(), fields.get("Suites", "").split()
            if uris and any(s in (BASE_SUITE, "stable") or "-" not in s for s in suites) and "security" not in uris[0]:
                return uris[0]
    legacy = Path("/etc/apt/sources.list")
    for line in legacy.read_text(errors="replace").splitlines() if legacy.exists() else []:
        words = line.split()
        if len(words) >= 3 and words[0] == "deb" and "security" not in words[1]:
            return words[1] if not words[1].startswith("[") else (words[2] if len(words) > 3 else None)
    return None


def build_base(client: docker.DockerClient, progress: Progress, log_dir: Path) -> str:
    """debootstrap a root filesystem and import it as the offline base image; returns its tag."""
    tag = base_tag()
    if has_image(client, tag):
        return tag
    if os.geteuid() != 0:
        raise ImageBuildError("the offline base is made with debootstrap, which needs root; run `cachechaos images "
                              "build --offline` as root once (the image is then reused)")
    debootstrap = shutil.which("debootstrap") or ("/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None)
    if debootstrap is None:
        raise ImageBuildError("debootstrap is not installed (apt-get install debootstrap)")
    work = Path(tempfile.mkdtemp(prefix="cachechaos-rootfs-", dir=os.environ.get("TMPDIR", "/var/tmp")))
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / "debootstrap.log"
    try:
        rootfs = work / "rootfs"
        argv = [debootstrap, "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", BASE_SUITE, str(rootfs)]
        mirror = host_debian_mirror()
        if mirror:
            argv.append(mirror)
        progress(f"debootstrap {BASE_SUITE} with {', '.join(BASE_PACKAGES)} (a minute or two; log {log})")
        with open(log, "wb") as out:
            if subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode != 0:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                raise ImageBuildError(f"debootstrap failed:\n{tail}")
        for relative in _TRIM:
            shutil.rmtree(rootfs / relative, ignore_errors=True)
        tarball = work / "rootfs.tar"
        subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
        progress(f"importing the root filesystem as {tag}")
        repository, key = tag.split(":")
        changes = [f"LABEL {IMAGE}=base", f"LABEL {IMAGE_KEY}={key}",
                   "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "ENV LANG=C.UTF-8"]
        with open(tarball, "rb") as data:
            client.api.import_image(src=data, repository=repository, tag=key, changes=changes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not has_image(client, tag):
        raise ImageBuildError(f"the import did not produce {tag}")
    return tag


# -- the toolkit's image ---------------------------------------------------------------------------

def requirements() -> list[str]:
    """cachechaos's own dependencies (no extras), as its installed metadata declares them."""
    declared = importlib.metadata.requires("cachechaos") or []
    return sorted(r for r in declared if "extra ==" not in r)


def _source_dir() -> Path:
    return Path(str(resources.files("cachechaos")))


def _source_files() -> list[Path]:
    root = _source_dir()
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def source_key() -> str:
    """A hash of the package's files: the toolkit's image follows the code it is built from."""
    digest = hashlib.sha256()
    root = _source_dir()
    for path in _source_files():
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def dockerfile_text() -> str:
    return resources.files("cachechaos.docker").joinpath("Dockerfile").read_text()


def toolkit_tag(client: docker.DockerClient, base: str) -> str:
    """The toolkit image's name for `base`: its key covers the base's id, the Dockerfile, the dependencies and the source."""
    base_id = client.images.get(base).id
    return f"{TOOLKIT_REPO}:{__version__}-{_key(base_id, dockerfile_text(), requirements(), source_key())}"


def wheelhouse(progress: Progress) -> Path:
    """Wheels of every dependency for the image's Python, downloaded once per requirement set."""
    reqs = [*requirements(), *WHEELHOUSE_EXTRAS]
    target = cache_dir() / f"wheels-py{BASE_PYTHON}-{_arch()}-{_key(reqs)}"
    if (target / ".complete").exists():
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    progress(f"downloading {len(reqs)} dependencies' wheels for Python {BASE_PYTHON} into {target}")
    machine = os.uname().machine
    # Binary wheels only, for the image's Python: nothing is compiled, in the image or here.
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(partial), "--only-binary=:all:",
            "--python-version", BASE_PYTHON, "--implementation", "cp",
            "--platform", f"manylinux2014_{machine}", "--platform", f"manylinux_2_28_{machine}",
            "--platform", f"manylinux_2_31_{machine}", *reqs]
    result = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise ImageBuildError(f"pip could not download the dependencies:\n{result.stderr[-3000:]}")
    (partial / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def build_toolkit(client: docker.DockerClient, base: str, flavour: Flavour, progress: Progress) -> str:
    """Build the toolkit's image on `base` unless one with the same key exists; returns its tag."""
    tag = toolkit_tag(client, base)
    if has_image(client, tag):
        return tag
    wheels = wheelhouse(progress)
    with tempfile.TemporaryDirectory(prefix="cachechaos-build-") as tmp:
        context = Path(tmp)
        (context / "Dockerfile").write_text(dockerfile_text())
        (context / "requirements.txt").write_text("\n".join(requirements()) + "\n")
        shutil.copytree(wheels, context / "wheels", ignore=shutil.ignore_patterns(".complete"))
        shutil.copytree(_source_dir(), context / "src" / "cachechaos", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        progress(f"building {tag} on {base}")
        key = tag.split(":")[1]
        try:
            client.images.build(path=str(context), tag=tag, buildargs={"BASE": base}, rm=True, forcerm=True,
                                labels={IMAGE: "toolkit", IMAGE_KEY: key, f"{IMAGE}.flavour": flavour})
        except docker.errors.BuildError as exc:
            lines = [str(entry.get("stream", entry.get("error", ""))).rstrip() for entry in exc.build_log]
            raise ImageBuildError(f"building {tag} failed: {exc.msg}\n" + "\n".join(lines[-20:])) from exc
    _prune_toolkits(client, tag, flavour)
    return tag


def _prune_toolkits(client: docker.DockerClient, keep: str, flavour: Flavour) -> None:
    """Remove the flavour's toolkit images of older code: each change of source makes a new one."""
    for image in client.images.list(filters={"label": [f"{IMAGE}=toolkit", f"{IMAGE}.flavour={flavour}"]}):
        if keep in image.tags:
            continue
        # noprune: the untagged layers below stay, the build cache of the dependency layer with them.
        with contextlib.suppress(docker.errors.APIError):  # a container still uses it
            client.images.remove(image.id, noprune=True)


# -- what the runtime asks for ---------------------------------------------------------------------

@dataclass(frozen=True)
class ImageSet:
    """The image each kind of node runs."""

    flavour: Flavour
    redis: str
    postgres: str
    toxiproxy: str
    toolkit: str

    def for_kind(self, kind: str) -> str:
        return {"redis": self.redis, "sentinel": self.redis, "postgres": self.postgres,
                "toxiproxy": self.toxiproxy}.get(kind, self.toolkit)


def _pull(client: docker.DockerClient, ref: str, progress: Progress) -> None:
    if has_image(client, ref):
        return
    progress(f"pulling {ref}")
    try:
        client.images.pull(ref)
    except docker.errors.APIError as exc:
        raise ImageBuildError(f"cannot pull {ref} ({exc.explanation or exc}); without a registry use "
                              "`cachechaos images build --offline`") from exc


def build(client: docker.DockerClient, flavour: Flavour, progress: Progress, log_dir: Path) -> ImageSet:
    """Make every image `flavour` needs that the engine lacks (`cachechaos images build`)."""
    if flavour == "offline":
        base = build_base(client, progress, log_dir)
        toolkit = build_toolkit(client, base, flavour, progress)
        return ImageSet("offline", toolkit, toolkit, toolkit, toolkit)
    for ref in OFFICIAL.values():
        _pull(client, ref, progress)
    toolkit = build_toolkit(client, OFFICIAL["python"], flavour, progress)
    return ImageSet("official", OFFICIAL["redis"], OFFICIAL["postgres"], OFFICIAL["toxiproxy"], toolkit)


def present(client: docker.DockerClient, flavour: Flavour) -> ImageSet | None:
    """The flavour's images when the engine has all of them (none is built or pulled)."""
    if flavour == "offline":
        base = base_tag()
        if not has_image(client, base):
            return None
        toolkit = toolkit_tag(client, base)
        return ImageSet("offline", toolkit, toolkit, toolkit, toolkit) if has_image(client, toolkit) else None
    if not all(has_image(client, ref) for ref in OFFICIAL.values()):
        return None
    toolkit = toolkit_tag(client, OFFICIAL["python"])
    if not has_image(client, toolkit):
        return None
    return ImageSet("official", OFFICIAL["redis"], OFFICIAL["postgres"], OFFICIAL["toxiproxy"], toolkit)


def ready(client: docker.DockerClient, flavour: Flavour, progress: Progress) -> ImageSet | None:
    """The flavour's images; when only the toolkit's is missing (the code changed), it is built now
    (seconds: only its last layer differs). None when a base or an official image is missing."""
    found = present(client, flavour)
    if found is not None:
        return found
    bases = [base_tag()] if flavour == "offline" else list(OFFICIAL.values())
    if not all(has_image(client, ref) for ref in bases):
        return None
    progress(f"building the toolkit's image for this code ({flavour})")
    return build(client, flavour, progress, Path(tempfile.gettempdir()))


def status(client: docker.DockerClient) -> list[dict[str, str | bool]]:
    """Every image either flavour uses, and whether the engine has it (for `doctor`)."""
    rows: list[dict[str, str | bool]] = []
    base = base_tag()
    rows.append({"flavour": "offline", "image": base, "role": "base (debootstrap)", "present": has_image(client, base)})
    if has_image(client, base):
        toolkit = toolkit_tag(client, base)
        rows.append({"flavour": "offline", "image": toolkit, "role": "every node", "present": has_image(client, toolkit)})
    for role, ref in OFFICIAL.items():
        rows.append({"flavour": "official", "image": ref, "role": role, "present": has_image(client, ref)})
    if has_image(client, OFFICIAL["python"]):
        toolkit = toolkit_tag(client, OFFICIAL["python"])
        rows.append({"flavour": "official", "image": toolkit, "role": "backends, reaper", "present": has_image(client, toolkit)})
    return rows
