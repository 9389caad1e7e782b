#!/usr/bin/python3
"""Writes the .xlsx fixtures for tests/sheet/xlsx_test.cpp into OUTDIR.

Usage: /usr/bin/python3 tests/sheet/make_xlsx_fixtures.py OUTDIR

Run it with /usr/bin/python3: Debian's python3-openpyxl imports only there.

  commercial.xlsx       the vendor's layout from third_party/mde/mde_urls_commercial.csv: sheet
                        "Microsoft Defender URLs" with a merged title row, the header on row 2,
                        ports as numbers; a second sheet "Notes". Strings rewritten as shared
                        strings, as Excel writes them (openpyxl 3.0 writes inline strings).
  gov.xlsx              the same from mde_urls_gov.csv with the gov page's header names, strings
                        left inline as openpyxl writes them.
  no_header.xlsx        data rows from row 1 on, no header row, a gap of empty rows.
  inline_strings.xlsx   hand-written sheets: inline and rich-text strings, phonetic runs, rows and
                        cells without r, booleans, errors, formula strings, "443.0", _xHHHH_
                        escapes; a second, hidden sheet with x:-prefixed elements and an absolute
                        relationship target.
  bad_shared_index.xlsx a cell pointing past the end of the shared strings.
  bad_cells.xlsx        one unreadable cell or row each between good rows: a shared-string index
                        out of range or not a number, a cell reference off the grid, &#0; in
                        inline and shared text, a boolean and a number as URL, a bad row
                        number, a Port over 65535.
  corrupt.xlsx          commercial.xlsx cut in half.
  crc.xlsx              commercial.xlsx with bytes of its sheet1.xml data flipped.
  not_a_zip.xlsx        CSV text under an .xlsx name.
  no_workbook.xlsx      a zip without xl/workbook.xml.
  bomb.xlsx             a valid workbook whose sheet1.xml inflates to 200 MiB of spaces.
  bomb_lying.xlsx       bomb.xlsx whose zip headers declare sheet1.xml as 1 MiB.
"""

import csv
import io
import os
import re
import struct
import sys
import zipfile
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font

MDE = Path(__file__).resolve().parents[2] / "third_party" / "mde"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHARED_STRINGS_TYPE = REL_NS + "/sharedStrings"
FIXED_TIME = (2024, 1, 1, 0, 0, 0)

COMMERCIAL_HEADER = [
    "Service", "Geography", "Category", "Port", "Endpoint/URL", "Endpoint/URL Description",
    "Required or Optional",
    "Windows 10, 11; Server 2022, 2019, 2016 (Unified Agent); Server 2012 R2 (Unified Agent)",
    "Windows 7, 8.1", "Windows Server 2008 R2, 2012 R2, 2016 (MMA Based)", "Mac", "Linux",
    "Comments",
]
GOV_HEADER = [
    "Service", "Geography", "Category", "Port", "Endpoint/URL", "Endpoint/URL Description",
    "Required / Optional",
    "Windows 10/11 / Server 2019 -2022 / Server 2012 R2/Server 2016 (Unified Agent)",
    "Windows 7 / 8.1", "Windows Server 2008 R2, 2012 R2, 2016 (MMA Based)", "Mac", "Linux",
    "Comments",
]


def read_csv(name):
    with open(MDE / name, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def workbook_bytes(wb):
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def rewrite_zip(data, replace=None, add=None):
    """A copy of the zip `data` with parts replaced (name -> bytes) and parts added."""
    replace = replace or {}
    add = add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = replace.get(info.filename, src.read(info.filename))
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_TIME), body,
                         compress_type=zipfile.ZIP_DEFLATED)
        for name, body in add.items():
            dst.writestr(zipfile.ZipInfo(name, FIXED_TIME), body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def vendor_workbook(title, header, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Microsoft Defender URLs"
    last = openpyxl.utils.get_column_letter(len(header))
    ws["A1"] = title
    ws["A1"].font = Font(bold=True, size=14)
    ws.merge_cells(f"A1:{last}1")
    ws.append(header)
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True)
    for row in rows:
        values = [cell if cell != "" else None for cell in row]
        values[3] = int(row[3])  # Port, a number cell as in the vendor's sheet
        ws.append(values)
    ws.auto_filter.ref = f"A2:{last}{ws.max_row}"
    ws.freeze_panes = "A3"
    notes = wb.create_sheet("Notes")
    notes["A1"] = "About this workbook"
    notes["A2"] = ("A test fixture for urlprobe: the URL table of the Microsoft Defender for "
                   "Endpoint network requirements, one row per endpoint.")
    notes["A4"] = "Filter the columns to narrow the list by geography, category or operating system."
    return wb


INLINE_CELL = re.compile(
    r'<c r="([A-Z]+[0-9]+)"((?: s="[0-9]+")?) t="inlineStr"><is><t((?: xml:space="preserve")?)>'
    r'(.*?)</t></is></c>', re.S)


def to_shared_strings(data):
    """Rewrites openpyxl's inline strings as a shared-string table, as Excel writes workbooks."""
    strings, index = [], {}

    def shared(match):
        ref, style, space, text = match.groups()
        key = (space, text)
        if key not in index:
            index[key] = len(strings)
            strings.append(key)
        return f'<c r="{ref}"{style} t="s"><v>{index[key]}</v></c>'

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        sheets = {n: z.read(n).decode() for n in names if n.startswith("xl/worksheets/sheet")}
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        types = z.read("[Content_Types].xml").decode()
    replace = {}
    for name, xml in sorted(sheets.items()):
        xml = INLINE_CELL.sub(shared, xml)
        assert "inlineStr" not in xml, f"{name}: an inline string the rewrite missed"
        replace[name] = xml.encode()
    sst = [f'<sst xmlns="{MAIN_NS}" count="{len(strings)}" uniqueCount="{len(strings)}">']
    sst += [f"<si><t{space}>{text}</t></si>" for space, text in strings]
    sst.append("</sst>")
    assert "sharedStrings" not in rels
    replace["xl/_rels/workbook.xml.rels"] = rels.replace(
        "</Relationships>",
        f'<Relationship Id="rIdSST" Type="{SHARED_STRINGS_TYPE}" Target="sharedStrings.xml"/>'
        "</Relationships>").encode()
    replace["[Content_Types].xml"] = types.replace(
        "</Types>",
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>').encode()
    return rewrite_zip(data, replace, {"xl/sharedStrings.xml": "".join(sst).encode()})


def minimal_parts(sheets, shared_strings=None):
    """The parts of a small workbook written by hand: sheets is [(name, xml, state)]."""
    ct = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">',
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
          'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>',
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
          'officedocument.spreadsheetml.sheet.main+xml"/>']
    wb = [f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>']
    rels = [f'<Relationships xmlns="{PKG_REL_NS}">']
    parts = {}
    for i, (name, xml, state) in enumerate(sheets, 1):
        state_attr = f' state="{state}"' if state else ""
        wb.append(f'<sheet name="{name}" sheetId="{i}"{state_attr} r:id="rId{i}"/>')
        # The second sheet's target is absolute, as some writers put it.
        target = f"worksheets/sheet{i}.xml" if i == 1 else f"/xl/worksheets/sheet{i}.xml"
        rels.append(f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="{target}"/>')
        ct.append(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                  'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
        parts[f"xl/worksheets/sheet{i}.xml"] = xml
    if shared_strings is not None:
        rels.append(f'<Relationship Id="rIdSST" Type="{SHARED_STRINGS_TYPE}" '
                    'Target="sharedStrings.xml"/>')
        ct.append('<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                  'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
        parts["xl/sharedStrings.xml"] = shared_strings
    wb.append("</sheets></workbook>")
    rels.append("</Relationships>")
    ct.append("</Types>")
    return {
        "[Content_Types].xml": "".join(ct),
        "_rels/.rels": f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" '
                       f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": "".join(wb),
        "xl/_rels/workbook.xml.rels": "".join(rels),
        **parts,
    }


def zip_parts(parts):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts.items():
            z.writestr(zipfile.ZipInfo(name, FIXED_TIME),
                       body.encode() if isinstance(body, str) else body,
                       compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


INLINE_SHEET = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><dimension ref="A1:K7"/><sheetData>
<row r="1" spans="1:6">
 <c r="A1" t="inlineStr"><is><t>Service</t></is></c>
 <c r="B1" t="inlineStr"><is><r><t>Endpoint</t></r><r><rPr><b/><sz val="11"/></rPr><t>/URL</t></r></is></c>
 <c r="C1" t="inlineStr"><is><t xml:space="preserve">  padded  </t></is></c>
 <c r="D1" t="inlineStr"><is><t>Line one_x000D_
Line two</t></is></c>
 <c r="E1" t="s"><v>0</v></c>
 <c r="F1" t="s"><v>1</v></c>
</row>
<row>
 <c t="inlineStr"><is><t>winatp-gw-cus.microsoft.com</t></is></c>
 <c><v>443.0</v></c>
 <c r="E2" t="b"><v>1</v></c>
 <c t="e"><v>#N/A</v></c>
 <c t="str"><f>A2&amp;"!"</f><v>formula text</v></c>
 <c><v>1.5</v></c>
 <c r="J2" t="inlineStr"><is><t></t></is></c>
 <c r="K2" t="b"><v>0</v></c>
</row>
<row r="5"><c r="C5" t="inlineStr"><is><t>_x005F_x0041_ &amp; &lt;tag&gt; caf&#233;</t></is></c></row>
<row r="6" spans="1:2"><c r="A6"/><c r="B6" t="s"/></row>
<row><c r="B7" t="inlineStr"><is><t xml:space="preserve"> </t></is></c></row>
</sheetData></worksheet>"""

PREFIXED_SHEET = f"""<?xml version="1.0" encoding="UTF-8"?>
<x:worksheet xmlns:x="{MAIN_NS}" xmlns:r="{REL_NS}"><x:sheetData>
<x:row r="3"><x:c r="B3" t="s"><x:v>0</x:v></x:c><x:c r="C3" t="inlineStr"><x:is><x:r><x:t>x</x:t></x:r><x:r><x:t>y</x:t></x:r></x:is></x:c><x:c r="AA3"><x:v>7</x:v></x:c></x:row>
</x:sheetData></x:worksheet>"""

SHARED_STRINGS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="{MAIN_NS}" count="2" uniqueCount="2">
<si><t>shared plain</t></si>
<si><r><t xml:space="preserve">rich </t></r><r><rPr><i/></rPr><t>shared</t></r><rPh sb="0" eb="4"><t>PHONETIC</t></rPh><phoneticPr fontId="1"/></si>
</sst>"""


# One bad cell or row each, between good rows: each must cost only its row (issue 16).
BAD_CELLS_SHEET = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="{MAIN_NS}"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>Endpoint/URL</t></is></c><c r="B1" t="inlineStr"><is><t>Port</t></is></c></row>
<row r="2"><c r="A2" t="inlineStr"><is><t>first.example</t></is></c><c r="B2"><v>443</v></c></row>
<row r="3"><c r="A3" t="s"><v>99</v></c></row>
<row r="4"><c r="A4" t="s"><v>x1</v></c></row>
<row r="5"><c r="A5" t="inlineStr"><is><t>ref.example</t></is></c><c r="ZZZZ99999999"><v>1</v></c></row>
<row r="6"><c r="A6" t="inlineStr"><is><t>https://cut.example/&#0;rest</t></is></c></row>
<row r="7"><c r="A7" t="b"><v>1</v></c></row>
<row r="8"><c r="A8"><v>12345</v></c></row>
<row r="eight"><c t="inlineStr"><is><t>lost.example</t></is></c></row>
<row r="10"><c r="A10" t="s"><v>0</v></c><c r="B10"><v>99999</v></c></row>
<row r="11"><c r="A11" t="s"><v>1</v></c></row>
<row r="12"><c r="A12" t="s"><v>0</v></c><c r="B12"><v>8443</v></c></row>
</sheetData></worksheet>"""

BAD_CELLS_SHARED = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="{MAIN_NS}" count="2" uniqueCount="2">
<si><t>last.example</t></si>
<si><t>https://shared.example/&#x0000;rest</t></si>
</sst>"""


def bomb(size):
    """A valid one-sheet workbook whose sheet1.xml is `size` bytes, mostly spaces."""
    parts = minimal_parts([("Sheet1", "", None)])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts.items():
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name != "xl/worksheets/sheet1.xml":
                z.writestr(info, body)
                continue
            head = f'<worksheet xmlns="{MAIN_NS}"><sheetData>'.encode()
            tail = b"</sheetData></worksheet>"
            with z.open(info, "w") as f:
                f.write(head)
                left = size - len(head) - len(tail)
                block = b" " * (1 << 20)
                while left > 0:
                    f.write(block[:min(left, len(block))])
                    left -= min(left, len(block))
                f.write(tail)
    return out.getvalue()


def declare_size(data, name, size):
    """Patches the uncompressed size of `name` in its local header and central directory."""
    data = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo(name)
    local = info.header_offset
    assert data[local:local + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, local + 22, size)
    pos = 0
    while True:
        central = data.find(b"PK\x01\x02", pos)
        assert central >= 0, "central directory entry not found"
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46:central + 46 + name_len] == name.encode():
            struct.pack_into("<I", data, central + 24, size)
            return bytes(data)
        pos = central + 4


def flip_data(data, name):
    """Flips bytes in the middle of `name`'s compressed data."""
    data = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo(name)
    local = info.header_offset
    name_len, extra_len = struct.unpack_from("<HH", data, local + 26)
    start = local + 30 + name_len + extra_len
    middle = start + info.compress_size // 2
    for i in range(middle, middle + 16):
        data[i] ^= 0x5A
    return bytes(data)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)

    def write(name, data):
        tmp = out / (name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, out / name)

    header, rows = read_csv("mde_urls_commercial.csv")
    commercial = to_shared_strings(workbook_bytes(vendor_workbook(
        "Microsoft Defender for Endpoint URL list for commercial customers",
        COMMERCIAL_HEADER, rows)))
    write("commercial.xlsx", commercial)

    _, gov_rows = read_csv("mde_urls_gov.csv")
    write("gov.xlsx", workbook_bytes(vendor_workbook(
        "Microsoft Defender for Endpoint URL list for Gov/GCC/DoD", GOV_HEADER, gov_rows)))

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows[:5]:
        ws.append([c if c != "" else None for c in row[:3]] + [int(row[3]), row[4]])
    ws.cell(row=9, column=5, value=rows[5][4])  # after three empty rows
    write("no_header.xlsx", workbook_bytes(wb))

    write("inline_strings.xlsx", zip_parts(minimal_parts(
        [("Inline", INLINE_SHEET, None), ("Prefixed", PREFIXED_SHEET, "hidden")], SHARED_STRINGS)))

    write("bad_shared_index.xlsx", zip_parts(minimal_parts(
        [("Bad", f'<worksheet xmlns="{MAIN_NS}"><sheetData><row r="4"><c r="A4" t="s"><v>0</v></c>'
                 '<c r="E4" t="s"><v>99</v></c></row></sheetData></worksheet>', None)],
        SHARED_STRINGS)))

    write("bad_cells.xlsx", zip_parts(minimal_parts([("Bad", BAD_CELLS_SHEET, None)],
                                                    BAD_CELLS_SHARED)))

    write("corrupt.xlsx", commercial[:len(commercial) // 2])
    write("crc.xlsx", flip_data(commercial, "xl/worksheets/sheet1.xml"))
    write("not_a_zip.xlsx", (MDE / "mde_urls_commercial.csv").read_bytes()[:2000])

    parts = minimal_parts([("Sheet1", f'<worksheet xmlns="{MAIN_NS}"><sheetData/></worksheet>', None)])
    del parts["xl/workbook.xml"]
    write("no_workbook.xlsx", zip_parts(parts))

    big = bomb(200 << 20)
    write("bomb.xlsx", big)
    write("bomb_lying.xlsx", declare_size(big, "xl/worksheets/sheet1.xml", 1 << 20))


if __name__ == "__main__":
    main()
