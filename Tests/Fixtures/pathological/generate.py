#!/usr/bin/env python3
"""Pathological Rulebook documents, generated (never committed as files).

    generate.py CASE N OUTPUT    write case CASE at size N to OUTPUT
    generate.py --list           the case names, one a line, with their default N

N is the case's size parameter (rows, columns, bytes, markers, lines...); each case is built so
that the file's size grows linearly with N, so a linear parser takes ~10x the time for 10N.
The same cases, at modest sizes, are generated in Swift by ReliabilityPathologicalTests.
"""
import sys

TITLE = b"CPT 27365: Excision of tumor\n\n"


def table_rows(n):  # 100,000 table rows (a modifier table)
    rows = b"".join(b"| %02d | description of row %d | use it when %d |\n" % (i % 100, i, i) for i in range(n))
    return TITLE + b"## Modifiers\n\n| Modifier | Description | When to use |\n|---|:-:|--:|\n" + rows


def payer_rows(n):  # 100,000 payer-table rows for a handful of payers (notes merged per payer)
    payers = [b"Aetna", b"Cigna", b"Medicare", b"UnitedHealthcare", b"Humana"]
    rows = b"".join(b"| %s | Required | Note %d: submit records. |\n" % (payers[i % 5], i) for i in range(n))
    return TITLE + b"## Payer Considerations\n\n| Payer | Prior authorization | Notes |\n|---|---|---|\n" + rows


def wide_table(n):  # a table n columns wide
    header = b"| Modifier | Description |" + b"".join(b" c%d |" % i for i in range(n - 2))
    delimiter = b"|" + b"---|" * n
    row = b"| 25 | Significant service |" + b"".join(b" v%d |" % i for i in range(n - 2))
    return TITLE + b"## Modifiers\n\n" + header + b"\n" + delimiter + b"\n" + (row + b"\n") * 3


def long_line(n):  # one line of n bytes mixing inline syntax
    unit = b"Prior authorization **required** for *this* `code` & [link](http://x) text_with_underscores | "
    return (unit * (n // len(unit) + 1))[:n]


def pipes(n):  # n '|' characters in one line
    return TITLE + b"|" * n + b"\n"


def pipes_table(n):  # a header row, then a row of n pipes under a 2-column delimiter
    return TITLE + b"| Modifier | Description |\n|---|---|\n" + b"|" * n + b"\n"


def nested_list(n):  # n nested list markers on one line
    return TITLE + b"- " * n + b"x\n"


def nested_ordered(n):
    return TITLE + b"1. " * n + b"x\n"


def nested_quote(n):  # n nested block-quote markers
    return TITLE + b"> " * n + b"x\n"


def nested_indent(n):  # indented nesting, 2 more spaces a level: n bytes in total (~sqrt(n) levels)
    out = bytearray(TITLE)
    level = 0
    while len(out) < n:
        out += b"  " * level + b"- item %d\n" % level
        level += 1
    return bytes(out)


def lone_dashes(n):  # n lone '-' lines
    return b"-\n" * n


def cmark_table(n):  # cmark-gfm's pathological table input
    return b"aaa\rbbb\n-\v\n" * n


def nul_bytes(n):
    return TITLE + (b"a\x00" * (n // 2)) + b"\n" + b"\x00" * (n // 2)


def invalid_utf8_end(n):  # valid text, one invalid byte at the very end
    return long_line(n) + b"\xff"


def emphasis_openers(n):
    return TITLE + b"*a **a _a __a " * (n // 14)


def emphasis_closers(n):
    return TITLE + b"a* a** a_ a__ " * (n // 14)


def emphasis_mixed(n):
    return TITLE + b"*a_ " * (n // 4)


def brackets(n):
    return TITLE + b"[" * (n // 2) + b"a" + b"]" * (n // 2)


def link_openers(n):
    return TITLE + b"[a](" * (n // 4)


def backticks(n):
    return TITLE + b"`a``b" * (n // 5)


def entities(n):
    return TITLE + b"&amp" * (n // 4)


def autolinks(n):
    return TITLE + b"<a:" * (n // 3)


def crlf_lines(n):
    return TITLE + b"Medicare - Prior authorization required.\r\n" * (n // 42)


def payer_notes(n):  # one payer heading followed by n lines of notes
    return TITLE + b"## Payer Considerations\n\n### Aetna\n\n" + b"Prior authorization is required for this service.\n\n" * (n // 51)


def unplaced(n):  # n lines of text Rulebook keeps as unplaced section text
    return TITLE + b"## Notes\n\n" + b"Some unplaced line of text.\n\n" * (n // 29)


def empty(n):
    return b""


def bom_only(n):
    return b"\xef\xbb\xbf"


CASES = {  # name: (generator, N; the script also runs 10N)
    "table-rows": (table_rows, 10_000),
    "payer-rows": (payer_rows, 10_000),
    "wide-table": (wide_table, 1_000),
    "long-line": (long_line, 5_000_000),
    "pipes": (pipes, 10_000),
    "pipes-table": (pipes_table, 10_000),
    "nested-list": (nested_list, 5_000),
    "nested-ordered": (nested_ordered, 5_000),
    "nested-quote": (nested_quote, 5_000),
    "nested-indent": (nested_indent, 1_000_000),
    "lone-dashes": (lone_dashes, 100_000),
    "cmark-table": (cmark_table, 100_000),
    "nul-bytes": (nul_bytes, 1_000_000),
    "invalid-utf8-end": (invalid_utf8_end, 1_000_000),
    "emphasis-openers": (emphasis_openers, 1_000_000),
    "emphasis-closers": (emphasis_closers, 1_000_000),
    "emphasis-mixed": (emphasis_mixed, 1_000_000),
    "brackets": (brackets, 1_000_000),
    "link-openers": (link_openers, 1_000_000),
    "backticks": (backticks, 1_000_000),
    "entities": (entities, 1_000_000),
    "autolinks": (autolinks, 1_000_000),
    "crlf-lines": (crlf_lines, 1_000_000),
    "payer-notes": (payer_notes, 1_000_000),
    "unplaced": (unplaced, 1_000_000),
    "empty": (empty, 1),
    "bom-only": (bom_only, 1),
}

if __name__ == "__main__":
    if sys.argv[1:] == ["--list"]:
        for name, (_, n) in CASES.items():
            print(name, n)
        sys.exit(0)
    if len(sys.argv) != 4 or sys.argv[1] not in CASES:
        sys.exit("usage: generate.py CASE N OUTPUT | --list (cases: %s)" % ", ".join(CASES))
    generator, _ = CASES[sys.argv[1]]
    with open(sys.argv[3], "wb") as f:
        f.write(generator(int(sys.argv[2])))
