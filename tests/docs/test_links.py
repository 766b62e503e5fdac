"""Every relative link in the repository's Markdown resolves: the file (or folder) exists and, for
a `#fragment` into a Markdown file, that file has a heading with that anchor (GitHub's rule:
lower case, punctuation dropped, spaces to hyphens). External links are not fetched."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP = {".git", ".venv", ".tools", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")


def markdown_files() -> list[Path]:
    return sorted(
        path for path in ROOT.rglob("*.md") if not SKIP & set(path.relative_to(ROOT).parts) and path.is_file()
    )


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, flags=re.MULTILINE):
        plain = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
        slug = re.sub(r"[^\w\- ]", "", plain).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    found |= set(re.findall(r'<a\s+(?:name|id)="([^"]+)"', text))
    return found


def links(path: Path) -> list[str]:
    text = CODE.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))
    return INLINE.findall(text) + REFERENCE.findall(text)


def broken_links(path: Path) -> list[str]:
    problems = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.IGNORECASE):  # http:, mailto:, ...
            continue
        file_part, _, fragment = target.partition("#")
        resolved = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not resolved.exists():
            problems.append(
                f"{target} (no {resolved.relative_to(ROOT) if resolved.is_relative_to(ROOT) else resolved})"
            )
        elif fragment and resolved.suffix == ".md" and fragment.lower() not in anchors(resolved):
            problems.append(f"{target} (no heading #{fragment} in {resolved.relative_to(ROOT)})")
    return problems


def test_the_checker_finds_what_it_should(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# A heading, with `code`\n\n## Run it twice\n## Run it twice\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-heading-with-code) [dup](other.md#run-it-twice-1) [web](https://example.com)\n"
        "[gone](missing.md) [bad anchor](other.md#nope) `[not a link](nowhere.md)`\n"
        "```\n[in a fence](nowhere.md)\n```\n[ref]: ./other.md\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert broken_links(page) == [
            "missing.md (no missing.md)",
            "other.md#nope (no heading #nope in other.md)",
        ]
    finally:
        ROOT = saved


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    assert broken_links(path) == []
