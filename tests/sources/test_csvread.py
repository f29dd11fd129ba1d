import pandas as pd

from noncoop.sources.csvread import read_csv_batches


def _read(path, **kw):
    batches = list(read_csv_batches(path, "src", path.name, **kw))
    rows = [b.rows for b in batches]
    rejected = [b.rejected for b in batches]
    return batches, rows, rejected


def test_line_numbers_survive_blank_and_malformed_lines_across_blocks(tmp_path):
    path = tmp_path / "x.csv"
    lines = ["a,b,c"]
    for i in range(2, 4002):
        if i % 500 == 0:
            lines.append("broken,line")
        elif i % 333 == 0:
            lines.append("")
        else:
            lines.append(f"{i},v{i},w")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    batches, rows, rejected = _read(path, block_bytes=4096)
    assert len(batches) > 5
    import pandas as pd

    good = pd.concat(rows)
    bad = pd.concat(rejected)
    # Every accepted row reports the physical line it came from.
    assert (good["a"].astype(int) == good["_line"]).all()
    assert sorted(bad["source_line"]) == [i for i in range(2, 4002) if i % 500 == 0]
    assert set(bad["reason_code"]) == {"CSV-MALFORMED"}
    assert bad["reason"].iloc[0] == "expected 3 fields, found 2"
    blank = [i for i in range(2, 4002) if i % 333 == 0 and i % 500 != 0]
    assert sum(b.rows_read for b in batches) == 4000 - len(blank)


def test_bom_header_and_invalid_utf8_cell(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xef\xbb\xbfid,name\n1,ok\n2,caf\xe9\n3,fine\n")
    _, rows, rejected = _read(path)
    assert list(rows[0].columns) == ["id", "name", "_line"]
    assert rows[0]["id"].tolist() == ["1", "3"]
    q = rejected[0]
    assert q["reason_code"].tolist() == ["CSV-ENCODING"]
    assert q["source_line"].tolist() == [3]


def test_declared_encoding_is_used(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("id,name\n1,café\n".encode("latin-1"))
    _, rows, rejected = _read(path, encoding="latin-1")
    assert rows[0]["name"].tolist() == ["café"]
    assert sum(len(r) for r in rejected) == 0


def test_malformed_line_with_bytes_that_are_not_utf8(tmp_path):
    """pyarrow turns a malformed line into text before handing it over: with a byte that is not
    UTF-8 in it, that used to fail the whole file and lose its good rows."""
    path = tmp_path / "x.csv"
    path.write_bytes(
        b"id,name\n1,na\xc3\xafve\n2,caf\xe9,extra\n3,caf\xe9\n\n4,fine \xe2\x80\x93 ok\n"
    )
    batches, rows, rejected = _read(path)
    good = rows[0]
    # Good rows keep their exact text, accents included, and their physical lines.
    assert good["name"].tolist() == ["na\u00efve", "fine \u2013 ok"]
    assert good["_line"].tolist() == [2, 6]
    import pandas as pd

    bad = pd.concat(rejected).sort_values("source_line")
    assert bad["source_line"].tolist() == [3, 4]
    assert bad["reason_code"].tolist() == ["CSV-MALFORMED", "CSV-ENCODING"]
    # The malformed line is kept as read, the byte that is not UTF-8 as an escape.
    assert bad["raw"].iloc[0] == "2,caf\\xe9,extra"
    assert sum(b.rows_read for b in batches) == 4


def test_rows_after_a_quoted_newline_keep_their_physical_line(tmp_path):
    """A note written over three lines: the rows after it are cited by the line they are on in
    the file, not by their record number."""
    path = tmp_path / "x.csv"
    path.write_text(
        'id,note,n\n1,"first\nsecond\nthird",1\n2,plain,2\n3,two,x,y\n4,"a\nb",4\n5,end,5\n'
    )
    _, rows, rejected = _read(path, block_bytes=32)
    import pandas as pd

    good = pd.concat(rows).set_index("id")["_line"].to_dict()
    assert good == {"1": 2, "2": 5, "4": 7, "5": 9}
    bad = pd.concat(rejected)
    assert bad["source_line"].tolist() == [6]  # '3,two,x,y': four fields


def test_an_unclosed_quote_is_quarantined_and_the_lines_after_it_read(tmp_path):
    """A quote opened and never closed would swallow the rest of the file into one value (other
    children's records inside one child's): the record is quarantined naming its line, and every
    later line is read again as the row it is. In the last column the record looks whole; in a
    middle one it looks malformed: both are caught."""
    import pandas as pd

    for body in (
        '1,a,"oops\n2,b,c\n3,d,e\n',
        '1,"oops,c\n2,b,c\n3,d,e\n',
        '1,a,"oops\n2,b,c\n3,d,e',  # no line end at the end of the file
    ):
        path = tmp_path / "x.csv"
        path.write_text("id,x,y\n" + body)
        batches, rows, rejected = _read(path)
        good = pd.concat(rows)
        bad = pd.concat(rejected)
        assert sum(b.rows_read for b in batches) == 3
        assert bad["source_line"].tolist() == [2]
        assert bad["reason_code"].tolist() == ["CSV-UNCLOSED-QUOTE"]
        assert "a quote opened on line 2 is never closed" in bad["reason"].iloc[0]
        assert good["id"].tolist() == ["2", "3"] and good["_line"].tolist() == [3, 4]


def test_a_quote_closed_lines_later_names_the_lines_it_spans_and_they_are_read_again(tmp_path):
    """A stray quote on line 2 pairs with the next quote, on line 4: line 2 is quarantined
    naming both, line 3 (swallowed between them) is read again as the row it is, and line 4's
    own quote, left open, is quarantined too."""
    path = tmp_path / "x.csv"
    path.write_text('id,x,y\n1,"oops,c\n2,b,c\n3,d,"again\n4,f,g\n')
    batches, rows, rejected = _read(path)
    import pandas as pd

    bad = pd.concat(rejected).sort_values("source_line")
    assert bad["source_line"].tolist() == [2, 4]
    assert bad["reason"].iloc[0] == (
        "expected 3 fields, found 2 (a quote on line 2 is closed on line 4; the lines between "
        "are read again as rows)"
    )
    assert bad["raw"].iloc[0] == '1,"oops,c'
    assert bad["reason_code"].tolist() == ["CSV-MALFORMED", "CSV-UNCLOSED-QUOTE"]
    good = pd.concat(rows).sort_values("_line")
    assert good[["id", "_line"]].values.tolist() == [["2", 3], ["4", 5]]
    assert sum(b.rows_read for b in batches) == 4


def test_values_are_trimmed_of_white_space_of_any_kind_and_blank_values_are_missing(tmp_path):
    # Each column padded one way only: a column is trimmed where any of its values needs it.
    path = tmp_path / "a.csv"
    path.write_bytes(
        "id,space,tab,nbsp\n"
        "1,a,a,a\n"
        "2, b,b\t,\u00a0b\u00a0\n"
        "3,   ,\t,\u00a0\n"
        "4,c d,c d,c d\n".encode()
    )
    rows = pd.concat([b.rows for b in read_csv_batches(path, "s", "a.csv")])
    for column in ("space", "tab", "nbsp"):
        assert rows[column].tolist() == ["a", "b", pd.NA, "c d"], column
    assert rows["_line"].tolist() == [2, 3, 4, 5]


def test_a_file_is_judged_utf8_or_not_across_blocks_of_plain_ascii(tmp_path, monkeypatch):
    from noncoop.sources import csvread

    monkeypatch.setattr(csvread, "BLOCK_BYTES", 8)
    # A character's first byte ends a block, a block of plain ASCII follows, and the next
    # block starts with a byte that would end that character.
    cut = tmp_path / "cut.csv"
    cut.write_bytes(b"id,n\n1,abcdefgh\xc3" + b"\n2,plain" + b"\xa9 text\n")
    split = tmp_path / "split.csv"  # é split across two blocks: still UTF-8
    split.write_bytes(b"id,n\n1,ab\xc3\xa9\n2,plain text\n3,more\n")
    late = tmp_path / "late.csv"  # blocks of ASCII, then a Latin-1 byte
    late.write_bytes(b"id,n\n1,plain text\n2,plain text\n3,caf\xe9\n")
    assert csvread._scanned(cut) == (False, True)
    assert csvread._scanned(split) == (True, False)
    assert csvread._scanned(late) == (False, True)
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(b'id,n\n1,plain text\n2,"two\nlines"\n')
    assert csvread._scanned(quoted) == (True, True)
