"""Reading the regions' data files strictly: every key known, every value checked, and a
problem reported with the file, the key and what is wrong (start-up stops on it)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from hugmood.config import ConfigError

T = TypeVar("T")


class RulesFileError(ConfigError):
    """A regions or policy file is malformed: which file, which key, what is wrong."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key}: {problem}")
        self.path = str(path)
        self.key = key
        self.problem = problem


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesFileError(path, "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RulesFileError(path, "(file)", f"cannot be read ({e})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RulesFileError(path, "(syntax)", f"not valid TOML: {e}") from None


class Table:
    """One TOML table read strictly: `take` each known key, then `finish` refuses the rest."""

    def __init__(self, path: Path, prefix: str, data: object) -> None:
        self.path = path
        self.prefix = prefix
        if not isinstance(data, dict):
            raise RulesFileError(path, prefix or "(top)", "must be a table")
        self._data: dict[str, Any] = data
        self._taken: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, problem: str) -> RulesFileError:
        return RulesFileError(self.path, self.key(name), problem)

    def has(self, name: str) -> bool:
        return name in self._data

    def take(self, name: str, check: Callable[[Any], T], *, default: T | None = None) -> T:
        """The value of `name` passed through `check` (which raises ValueError with the
        problem); `default` when absent, or an error if there is none."""
        self._taken.add(name)
        if name not in self._data:
            if default is None:
                raise self.fail(name, "is missing")
            return default
        try:
            return check(self._data[name])
        except ValueError as e:
            raise self.fail(name, str(e)) from None

    def table(self, name: str) -> Table:
        self._taken.add(name)
        if name not in self._data:
            raise self.fail(name, "is missing (a table)")
        return Table(self.path, self.key(name), self._data[name])

    def optional_table(self, name: str) -> Table | None:
        return self.table(name) if name in self._data else None

    def subtables(self) -> Iterator[tuple[str, Table]]:
        """Every remaining key as a table of its own (`[countries.DE]` …)."""
        for name in self._data:
            if name not in self._taken:
                self._taken.add(name)
                yield name, Table(self.path, self.key(name), self._data[name])

    def finish(self) -> None:
        unknown = sorted(set(self._data) - self._taken)
        if unknown:
            raise self.fail(unknown[0], "is not a known key (a typo?)")


def integer(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high} (got {value!r})")
        return value

    return check


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a non-empty string (got {value!r})")
    return value.strip()


def one_of(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)} (got {value!r})")
        return str(value)

    return check
