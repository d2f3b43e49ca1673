"""The scan of the content folder, held as columns: the same files, in the same order, as a list."""

from __future__ import annotations

from array import array
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from broadsheet.load import ScannedFiles, SourceFile, scan

_files = st.lists(
    st.builds(
        SourceFile,
        st.text(st.characters(codec="utf-8", exclude_characters="\0"), min_size=1, max_size=20),
        st.sampled_from(["/content", "/content/2024"]),
        st.integers(0, 2**40),
        st.integers(0, 2**62),
    ),
    max_size=30,
)


@given(_files)
def test_scanned_files_are_the_list_of_source_files_they_were_made_from(files: list[SourceFile]) -> None:
    scanned = ScannedFiles(files)
    assert list(scanned) == files and len(scanned) == len(files)
    assert [scanned[i] for i in range(-len(files), len(files))] == files + files
    assert list(scanned[1::2]) == files[1::2]
    assert list(scanned.signatures()) == [(f.rel, f.size, f.mtime_ns) for f in files]
    assert list(scanned.sorted()) == sorted(files, key=lambda f: f.rel)


def test_a_scan_holds_no_object_for_each_files_size_or_time(tmp_path: Path) -> None:
    for n in range(3):
        (tmp_path / "2024").mkdir(exist_ok=True)
        (tmp_path / "2024" / f"{2 - n}.md").write_text("x" * n)
    markdown, assets = scan(tmp_path)
    assert [(f.rel, f.size) for f in markdown] == [("2024/0.md", 2), ("2024/1.md", 1), ("2024/2.md", 0)]
    assert type(markdown.sizes) is array and type(markdown.mtimes) is array and len(assets) == 0
    assert markdown[0].folder is markdown[2].folder  # one string for the folder
