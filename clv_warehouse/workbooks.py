"""Excel workbooks as input: one sheet of each `.xlsx` converted once to Parquet.

`clv build --input sales.xlsx [--sheet NAME]` reads the sheet with openpyxl (the reader pandas
uses), writes it to `<warehouse folder>/inputs/<name>/<workbook>.parquet` with every cell as
text, and builds on that file, which the warehouse then fingerprints like any input
(`main.clv_input_files`). A workbook converted before, unchanged (SHA-256 of its bytes) and
with the same sheet, is not read again: its Parquet file stays byte for byte the same, so an
incremental build sees no change.

Cells become text as a CSV export would write them: dates and times in ISO 8601, numbers in
their shortest exact form (17850, 2.55), booleans `true`/`false`, empty cells null. Row `n` of
the Parquet file is row `n + 1` of the sheet (the header is the first row); empty rows after
the last value are left out and counted, empty rows between values are kept, so a rejected
line's row number still points at the sheet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from clv_warehouse.sql_text import sql_identifier, sql_literal

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
OLD_EXCEL_SUFFIXES = (".xls", ".xlsb", ".ods")
CONVERTER_VERSION = 1


class WorkbookError(ValueError):
    """A workbook cannot be read or converted; one line naming it and what to do."""


@dataclass(frozen=True)
class Conversion:
    """Where the converted sheets are, and what was said about them."""

    input_path: str
    notes: tuple[str, ...]


def is_workbook_input(pattern: str) -> bool:
    return pattern.lower().endswith(WORKBOOK_SUFFIXES + OLD_EXCEL_SUFFIXES)


def convert_workbooks(
    files: Sequence[str], pattern: str, out_root: Path, sheet: str | None
) -> Conversion:
    """Convert each workbook a pattern matched; the Parquet path or glob to build on."""
    for file in files:
        if file.lower().endswith(OLD_EXCEL_SUFFIXES):
            raise WorkbookError(
                f"{file}: {Path(file).suffix} workbooks cannot be read here; save the sheet as"
                " .xlsx (Excel: File > Save As > Excel Workbook) or export it to CSV"
            )
    folder = out_root / _slug(Path(pattern).stem or "workbook")
    folder.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    written: set[str] = set()
    for file in files:
        target = folder / f"{Path(file).stem}.parquet"
        if target.name in written:
            raise WorkbookError(
                f"{file}: two workbooks of the input have the name {Path(file).stem!r}; rename one"
            )
        written.add(target.name)
        notes.append(_convert_if_changed(Path(file), target, sheet))
    for stale in folder.glob("*.parquet"):
        if stale.name not in written:
            # its workbook left the input: the build must see the file gone, as for any input
            stale.unlink()
            stale.with_name(stale.name + ".source.json").unlink(missing_ok=True)
    if len(files) == 1:
        return Conversion(str(folder / f"{Path(files[0]).stem}.parquet"), tuple(notes))
    return Conversion(str(folder / "*.parquet"), tuple(notes))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "workbook"


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _convert_if_changed(workbook: Path, target: Path, sheet: str | None) -> str:
    record_path = target.with_name(target.name + ".source.json")
    source = {
        "workbook": str(workbook.resolve()),
        "sha256": _digest(workbook),
        "sheet": sheet,
        "converter_version": CONVERTER_VERSION,
    }
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if record and target.exists() and {key: record.get(key) for key in source} == source:
        return (
            f"{workbook.name}: sheet {record['sheet_read']!r} unchanged since its conversion"
            f" ({target})"
        )
    sheet_read, header, rows, trailing_empty = read_sheet(workbook, sheet)
    _write_parquet(header, rows, target)
    record_path.write_text(
        json.dumps({**source, "sheet_read": sheet_read, "rows": len(rows)}, indent=2) + "\n",
        encoding="utf-8",
    )
    dropped = (
        f"; {trailing_empty:,} empty rows after the last value left out" if trailing_empty else ""
    )
    return (
        f"{workbook.name}: sheet {sheet_read!r}, {len(rows):,} rows of {len(header)} columns"
        f" converted to {target}{dropped}"
    )


def read_sheet(
    workbook: Path, sheet: str | None
) -> tuple[str, list[str], list[tuple[str | None, ...]], int]:
    """The sheet's name, header, data rows as text, and the empty rows dropped at its end."""
    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - openpyxl is in the runtime lock
        raise WorkbookError(
            "reading .xlsx needs openpyxl: run make run to install the lock"
        ) from None
    try:
        book = load_workbook(workbook, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile, KeyError and its own errors
        raise WorkbookError(
            f"{workbook}: not a readable .xlsx workbook ({type(error).__name__}: {error});"
            " open it in Excel and save it again, or export the sheet to CSV"
        ) from None
    try:
        names = book.sheetnames
        chosen = _choose_sheet(workbook, names, sheet)
        rows = book[chosen].iter_rows(values_only=True)
        header_cells = next(rows, None)
        if header_cells is None or all(cell in (None, "") for cell in header_cells):
            raise WorkbookError(
                f"{workbook}: sheet {chosen!r} has no header in its first row; put the column"
                " names in row 1"
                + (
                    f" or choose another sheet with --sheet ({', '.join(names)})"
                    if len(names) > 1
                    else ""
                )
            )
        header = _header(workbook, chosen, header_cells)
        width = len(header)
        data: list[tuple[str | None, ...]] = []
        last_filled = 0
        for cells in rows:
            values = tuple(_text(cell) for cell in (tuple(cells) + (None,) * width)[:width])
            extra = [cell for cell in tuple(cells)[width:] if cell not in (None, "")]
            if extra:
                raise WorkbookError(
                    f"{workbook}: sheet {chosen!r} row {len(data) + 2} has values right of the"
                    f" last named column ({header[-1]!r}); give those columns a name in row 1"
                )
            data.append(values)
            if any(value is not None for value in values):
                last_filled = len(data)
    finally:
        book.close()
    trailing = len(data) - last_filled
    return chosen, header, data[:last_filled], trailing


def _choose_sheet(workbook: Path, names: Sequence[str], sheet: str | None) -> str:
    if sheet is None:
        return names[0]
    if sheet in names:
        return sheet
    if sheet.isdigit() and 1 <= int(sheet) <= len(names):
        return names[int(sheet) - 1]
    raise WorkbookError(
        f"{workbook} has no sheet {sheet!r}; its sheets: {', '.join(repr(n) for n in names)}"
        " (--sheet takes a name or a position from 1)"
    )


def _header(workbook: Path, sheet: str, cells: Iterable[object]) -> list[str]:
    header = [_text(cell) for cell in cells]
    while header and header[-1] is None:
        header.pop()
    named = []
    for position, name in enumerate(header, 1):
        if name is None:
            raise WorkbookError(
                f"{workbook}: sheet {sheet!r} column {_column_letter(position)} has no name in"
                " row 1; name it (or delete the column)"
            )
        named.append(name.strip())
    lowered = [name.lower() for name in named]
    repeated = sorted({name for name in named if lowered.count(name.lower()) > 1})
    if repeated:
        raise WorkbookError(
            f"{workbook}: sheet {sheet!r} has two columns named {repeated[0]!r}; rename one"
        )
    return named


def _column_letter(position: int) -> str:
    letters = ""
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _text(cell: object) -> str | None:
    """A cell as a CSV export writes it."""
    if cell is None:
        return None
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, dt.datetime):
        return cell.isoformat(sep=" ", timespec="seconds" if not cell.microsecond else "auto")
    if isinstance(cell, (dt.date, dt.time)):
        return cell.isoformat()
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() and abs(cell) < 1e15 else repr(cell)
    text = str(cell)
    return text if text.strip() else None


def _write_parquet(
    header: Sequence[str], rows: Sequence[tuple[str | None, ...]], target: Path
) -> None:
    """Every column as text, rows in sheet order; written beside the target, then renamed."""
    import pandas as pd

    frame = pd.DataFrame(list(rows), columns=list(header), dtype="string")
    partial = target.with_name(target.name + ".partial")
    with duckdb.connect(config={"threads": 1}) as con:
        con.register("sheet_rows", frame)
        selected = ", ".join(
            f"cast({sql_identifier(name)} as varchar) as {sql_identifier(name)}" for name in header
        )
        con.execute(
            f"copy (select {selected} from sheet_rows) to {sql_literal(partial)} (format parquet)"
        )
    partial.replace(target)
