"""The docs stand alone: generated reference pages match the code, every link resolves inside the repository."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from cachechaos.cli import cli
from cachechaos.reference_docs import PAGE_NAMES, generate, stale_pages

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
MARKDOWN = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted(DOCS.rglob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def links(path: Path) -> list[str]:
    text = CODE_SPAN.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))
    return LINK.findall(text)


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    out = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        out.add(slug)
    return out


def test_committed_reference_pages_are_what_the_code_generates() -> None:
    assert set(PAGE_NAMES) == {p.name for p in (DOCS / "reference").glob("*.md")}
    assert stale_pages(DOCS / "reference", cli) == [], "run `cachechaos docs` and commit docs/reference/"


def test_reference_pages_cover_every_fault_and_check() -> None:
    from cachechaos.checks.registry import CHECKS
    from cachechaos.faults import REGISTRY

    pages = generate(cli)
    for fault in REGISTRY:
        assert f"## `{fault}`" in pages["faults.md"], fault
    for check in CHECKS:
        assert f"## `{check}`" in pages["checks.md"], check


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_resolves_inside_the_repository(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            broken.append(f"{target}: links out of the repository")
            continue
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.is_relative_to(REPO):
            broken.append(f"{target}: outside the repository")
        elif not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_the_link_checker_catches_what_it_should(tmp_path: Path) -> None:
    page = tmp_path / "x.md"
    page.write_text("[a](gone.md) [b](https://example.org) ![c](img.png \"t\") `[d](code.md)`\n```\n[e](fence.md)\n```\n")
    assert links(page) == ["gone.md", "https://example.org", "img.png"]
    page.write_text("# The `gate` command: options\n## Set-up: two commands\n")
    assert anchors(page) == {"the-gate-command-options", "set-up-two-commands"}


def test_docs_command_writes_the_pages_and_check_names_a_stale_one(tmp_path: Path) -> None:
    def docs(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cachechaos", "docs", "--out", str(tmp_path), *args],
                              capture_output=True, text=True, timeout=60)

    assert docs("--check").returncode == 1  # nothing written yet
    assert docs().returncode == 0 and sorted(p.name for p in tmp_path.iterdir()) == sorted(PAGE_NAMES)
    assert docs("--check").returncode == 0
    (tmp_path / "checks.md").write_text((tmp_path / "checks.md").read_text().replace("stale_read_rate", "stale_rate"))
    stale = docs("--check")
    assert stale.returncode == 1 and "checks.md" in stale.stderr and "faults.md" not in stale.stderr
