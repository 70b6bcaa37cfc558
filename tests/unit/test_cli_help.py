"""`--help` names what an option takes in words, never as a Python type, and shows nothing
for a flag."""

from __future__ import annotations

from hugmood.entrypoints.cli_help import readable_label


def test_flags_show_nothing_and_types_read_as_words() -> None:
    assert readable_label("<bool>", is_flag=True) is None
    assert readable_label("<bool>", is_flag=False) is None
    assert readable_label("<str>", is_flag=False) == "TEXT"
    assert readable_label("<float>", is_flag=False) == "NUMBER"
    assert readable_label("<list[str]>", is_flag=False) == "TEXT …"
    assert readable_label("<Path>", is_flag=False) == "FILE"
    assert readable_label("<calm|sad>", is_flag=False) == "calm|sad", "choices stay as typer says"
