"""Bad inputs found by the operations review (issue 15, C1): files whose bytes break the loader past
the header, or whose layout only shows itself as the file is read."""

from __future__ import annotations

from collections.abc import Callable

from . import builders as b
from .builders import Delivery
from .catalogue import BadInput, BuildContext, Refused


def _sample(rows: int = 2) -> str:
    return b.sample_text(b.CASE_SAMPLE / "representations.csv", rows=rows)


def _bytes(content: Callable[[], bytes]) -> Callable[[BuildContext], Delivery]:
    def build(ctx: BuildContext) -> Delivery:
        path = b.write(ctx.folder, "representations.csv", content())
        return Delivery(file=path, table="representations")

    return build


def _padded_rows(count: int) -> list[str]:
    """``count`` good representations rows, each a new key: enough bytes to push past the first 64 KB."""
    header, rows = b.read_csv(b.CASE_SAMPLE / "representations.csv")
    template = rows[0]
    key = header.index("representation_id")
    out = []
    for number in range(count):
        row = list(template)
        row[key] = f"CFS-PAD{number:05d}"
        out.append(row)
    return [b.csv_text(header, out)]


def nul_after_64k() -> bytes:
    text = _padded_rows(1200)[0]
    assert len(text) > 64 * 1024
    lines = text.splitlines(keepends=True)
    lines[-1] = lines[-1].replace("complaint", "compl\x00aint", 1)
    return "".join(lines).encode()


def _cr_only() -> bytes:
    return _sample().replace("\n", "\r").encode()


def _utf16() -> bytes:
    return _sample().encode("utf-16")  # with its byte-order mark, as Excel's "Unicode text" saves


def _utf16_be() -> bytes:
    return b"\xfe\xff" + _sample().encode("utf-16-be")


def _latin1_then(broken: str) -> bytes:
    """The sample's two rows, a third row in Latin-1 (so the loader re-reads the file in Python to
    quarantine it), then ``broken``: the break is met on that second reading."""
    header, rows = b.read_csv(b.CASE_SAMPLE / "representations.csv")
    latin1 = list(rows[1])
    latin1[header.index("representation_id")] = "CFS-LATIN1"
    latin1[header.index("service_area_name")] = "Caf\xe9 licensing"
    return b.csv_text(header, [*rows[:2], latin1]).encode("latin-1") + broken.encode()


def _lone_cr_in_field() -> bytes:
    return _latin1_then(
        "CFS-99999,complaint,corp\rorate,2023-09-17,phone,A,B,C,,false,open,,2023-09-28T00:00:00Z\n"
    )


def _truncated_mid_quote() -> bytes:
    return _latin1_then('CFS-99999,complaint,"corporate, cut of')


ENTRIES: tuple[BadInput, ...] = (
    BadInput(
        "file-nul-byte-after-64k",
        "case system files",
        "landing",
        "a NUL byte in a row past the first 64 KB (a corrupt export)",
        _bytes(nul_after_64k),
        Refused("the file contains a NUL byte (line 1201)"),
        notes="The header check reads only the first 64 KB; the row is found as the file is read.",
    ),
    BadInput(
        "file-cr-only-line-endings",
        "case system files",
        "landing",
        "old Mac line endings (CR only, no LF)",
        _bytes(_cr_only),
        Refused("the file's lines end in CR only (old Mac line endings)"),
    ),
    BadInput(
        "file-utf16-byte-order-mark",
        "case system files",
        "landing",
        "UTF-16 text with its byte-order mark (Excel's `Unicode text`)",
        _bytes(_utf16),
        Refused("the file is UTF-16 text, not UTF-8: save it as CSV UTF-8"),
    ),
    BadInput(
        "file-utf16-big-endian",
        "case system files",
        "landing",
        "UTF-16 big-endian text with its byte-order mark",
        _bytes(_utf16_be),
        Refused("the file is UTF-16 text, not UTF-8: save it as CSV UTF-8"),
    ),
    BadInput(
        "file-lone-cr-in-unquoted-field",
        "case system files",
        "landing",
        "a carriage return inside an unquoted field, after a row in Latin-1",
        _bytes(_lone_cr_in_field),
        Refused("the file is not well-formed CSV for its header"),
        notes="The Latin-1 row makes the loader read the file again in Python, where the break is found.",
    ),
    BadInput(
        "file-truncated-mid-quote",
        "case system files",
        "landing",
        "a file cut off inside a quoted field (an interrupted copy), after a row in Latin-1",
        _bytes(_truncated_mid_quote),
        Refused("the file is not well-formed CSV for its header"),
    ),
)
