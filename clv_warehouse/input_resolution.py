"""What `clv build --input FILE` reads, when the user names a file and nothing else.

In order, the first that says something wins:

- the layout: `--layout`, CLV_INPUT_LAYOUT, `layout:` in `clv_columns.yml` beside the data,
  then the guess from the file (clv_warehouse/column_guess.py);
- the generic mapping: CLV_GENERIC_COLUMNS (used as dbt reads it), `columns:` in
  `clv_columns.yml` (exactly as written, other keys absent), then the guess from the header and
  values, with `--columns key=column,...` overriding the guess key by key.

An Excel workbook is first converted to Parquet in the warehouse's folder
(clv_warehouse/workbooks.py). The lines returned say what was read and guessed and how to pin
it, for the command to print before the build starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from clv_warehouse import column_guess
from clv_warehouse.column_guess import GuessError, InputGuess
from clv_warehouse.workbooks import convert_workbooks, is_workbook_input


@dataclass(frozen=True)
class ResolvedInput:
    layout: str
    input_path: Path
    generic_columns: dict[str, str | None] | None  # None: leave CLV_GENERIC_COLUMNS as it is
    lines: tuple[str, ...]


def resolve_input(
    input_pattern: str,
    files: list[str],
    *,
    layout: str | None,
    columns: str | None,
    sheet: str | None,
    warehouse_dir: Path,
    environ: Mapping[str, str] | None = None,
) -> ResolvedInput:
    """The layout, input path and mapping a build of these files uses."""
    environ = os.environ if environ is None else environ
    lines: list[str] = []
    input_path = input_pattern
    given = column_guess.parse_columns_option(columns) if columns else None
    named = Path(files[0]).name if files else input_pattern
    if files and all(is_workbook_input(file) for file in files):
        conversion = convert_workbooks(files, input_pattern, warehouse_dir / "inputs", sheet)
        lines.extend(f"workbook    {note}" for note in conversion.notes)
        input_path = conversion.input_path
        files = (
            [input_path]
            if len(files) == 1
            else sorted(str(path) for path in Path(input_path).parent.glob("*.parquet"))
        )
    elif sheet is not None:
        raise GuessError(f"--sheet {sheet!r} is for Excel workbooks; {input_pattern} is not one")
    layout = layout or environ.get("CLV_INPUT_LAYOUT", "").strip().lower() or None
    pin_file = column_guess.pin_file_for(input_pattern)
    pinned_layout, pinned_columns = (
        column_guess.read_pin_file(pin_file) if pin_file.is_file() else (None, None)
    )
    if given is not None and layout not in (None, "generic"):
        raise GuessError(f"--columns maps the generic layout's columns; the layout is {layout}")
    if layout is None and given is not None:
        layout = "generic"
    if layout is None and pinned_layout is not None:
        layout = pinned_layout
        lines.append(f"layout      {layout} (from {pin_file})")
    sample = None
    if layout is None:
        if not files:
            return ResolvedInput("generic", Path(input_path), None, tuple(lines))
        sample = _sample(files[0], environ)
        layout = column_guess.guess_layout(sample)
        lines.append(f"layout      {layout} (guessed from {named}; pin it with --layout)")
    if layout != "generic":
        return ResolvedInput(layout, Path(input_path), None, tuple(lines))
    if environ.get("CLV_GENERIC_COLUMNS", "").strip() and given is None:
        return ResolvedInput(layout, Path(input_path), None, tuple(lines))
    if pinned_columns is not None and given is None:
        mapping = {**dict.fromkeys(column_guess.CANONICAL), **pinned_columns}
        lines.append(f"columns     {_mapping_text(mapping)} (from {pin_file})")
        return ResolvedInput(layout, Path(input_path), mapping, tuple(lines))
    if not files:
        return ResolvedInput(layout, Path(input_path), given, tuple(lines))
    sample = sample or _sample(files[0], environ)
    mapping = column_guess.guess_columns(sample, given)
    how = "given by --columns, the rest guessed" if given else "guessed from names and values"
    guess = InputGuess(layout, mapping, "guessed")
    lines.append(f"columns     {_mapping_text(mapping)} ({how})")
    lines.append(f"pin it      --columns '{column_guess.columns_option_text(mapping)}'")
    lines.append(f"            or save these lines as {pin_file}:")
    lines.extend(f"              {line}" for line in column_guess.pin_text(guess).splitlines())
    return ResolvedInput(layout, Path(input_path), mapping, tuple(lines))


def _mapping_text(mapping: Mapping[str, str | None]) -> str:
    return ", ".join(f"{key} <- {column}" for key, column in mapping.items() if column)


def _sample(path: str, environ: Mapping[str, str]) -> column_guess.Sample:
    encoding = environ.get("CLV_INPUT_ENCODING", "utf-8").strip().lower() or "utf-8"
    try:
        return column_guess.read_sample(path, encoding)
    except Exception as error:  # duckdb's reader errors: say the file and how to go on
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GuessError(
            f"{path}: could not read its header to guess the layout ({first[:200]});"
            " give --layout cdnow|online_retail|generic"
        ) from None
