"""How `hugmood … --help` names what an option takes.

typer 0.29 labels every option with its Python annotation (`--note <str>`, `--sync <bool>`,
even `--help <bool>`), which reads as if a flag took a value. Its help table asks each
parameter for `display_type_rich`; HugMood answers in words a person reads — nothing for a
flag, TEXT, NUMBER, INTEGER, FILE, `TEXT …` for a repeatable option — and leaves typer's
own labels for what it names well (choices, ranges, dates). `use_readable_labels()` is
called once, where the `hugmood` command is built."""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperOption

_WORDS = {
    "<str>": "TEXT",
    "<float>": "NUMBER",
    "<int>": "INTEGER",
    "<Path>": "FILE",
    "<path>": "FILE",
    "<list[str]>": "TEXT …",
    "<list[int]>": "INTEGER …",
}


def readable_label(typer_label: str | None, *, is_flag: bool) -> str | None:
    """The label a person reads for typer's `typer_label` (None: show nothing)."""
    if is_flag or typer_label in (None, "<bool>"):
        return None
    return _WORDS.get(typer_label, typer_label.strip("<>"))


def use_readable_labels() -> None:
    original_option = TyperOption.display_type_rich
    original_argument = TyperArgument.display_type_rich

    def option_label(self: TyperOption, ctx: Any) -> str | None:
        return readable_label(original_option(self, ctx), is_flag=self.is_flag)

    def argument_label(self: TyperArgument, ctx: Any) -> str | None:
        return readable_label(original_argument(self, ctx), is_flag=False)

    TyperOption.display_type_rich = option_label  # type: ignore[method-assign]
    TyperArgument.display_type_rich = argument_label  # type: ignore[method-assign,assignment]
