"""``JsonValue``: JSON as the ``json`` module decodes it (the only untyped shape, held by edges)."""

from __future__ import annotations

from typing import TypeAlias

#: JSON value as decoded by the json module.
JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
