"""The clerk imports a CSV or XLSX file of dossiers: checked row by row first, nothing imported
while a row is wrong unless the clerk keeps only the clean rows, one transaction, idempotent."""

from __future__ import annotations

import csv
import io
import random
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import func, select

from backend.agency_api import imports
from backend.agency_api.forms import COLUMNS, communes_of
from backend.extensions import db
from backend.models import Dossier, Envelope, Role
from tests.conftest import NOW, login

HEADERS = [c.header for c in COLUMNS]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vi", "Nông", "Lương", "Hà", "Đặng", "Triệu"]
MIDDLE = ["Văn", "Thị", "Đức", "Thu", "Minh", "Ngọc", "Quang", "Thanh"]
GIVEN = ["An", "Bình", "Cường", "Dung", "Hạnh", "Hùng", "Lan", "Mạnh", "Thắng", "Trang", "Yến"]
STREETS = ["Lê Lợi", "Trần Đăng Ninh", "Bà Triệu", "Lý Thái Tổ", "Ngô Quyền", "Tam Thanh"]
PROCEDURES = [
    ("1.001751", "Cấp thẻ Căn cước", "citizen_id_card"),
    ("1.004227", "Cấp Phiếu lý lịch tư pháp", "judicial_record"),
    ("1.003010", "Đăng ký biến động quyền sử dụng đất", "land_certificate"),
]


def realistic_rows(count: int, *, seed: int = 20, prefix: str = "H20") -> list[list[str]]:
    """`count` dossiers of Lạng Sơn (province 20) as a clerk's spreadsheet has them."""
    rng = random.Random(seed)
    communes = communes_of(20)
    rows = []
    for n in range(count):
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        code, procedure, result_type = rng.choice(PROCEDURES)
        commune_code, _commune = rng.choice(communes)
        phone = f"0{rng.choice('389')}{rng.randrange(10**8):08d}"
        if n % 3 == 0:
            phone = f"{phone[:4]} {phone[4:7]} {phone[7:]}"
        rows.append(
            [
                f"000.00.24.{prefix}-261123-{n:05d}",
                code,
                procedure,
                result_type,
                "",
                name,
                name,
                phone,
                f"020{rng.randrange(10**9):09d}",
                f"Số {rng.randrange(1, 200)}, đường {rng.choice(STREETS)}",
                f"Tổ dân phố {rng.randrange(1, 12)}" if n % 2 else "",
                str(commune_code),
                "",
                "",
                "26.000",
                "" if n % 4 else "50000",
                "25/11/2026",
                "1" if n % 10 else "2",
            ]
        )
    return rows


def csv_bytes(rows, *, headers=HEADERS, delimiter=",", bom=True) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def xlsx_bytes(rows, *, headers=HEADERS) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(headers)
    for row in rows:
        cells = list(row)
        # As Excel keeps them when typed into plain cells: numbers, the phone's 0 lost.
        cells[7] = int(cells[7].replace(" ", ""))
        cells[11] = int(cells[11])
        cells[17] = int(cells[17])
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr("backend.clock.now", lambda: NOW)


@pytest.fixture
def clerk(client, factory):
    user = factory.user(Role.agency)
    db.session.commit()
    login(client, user)
    return user


def post(client, data: bytes, name: str = "hoso.csv", action: str = "check"):
    return client.post(
        "/agency/import",
        data={"action": action, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def dossier_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Dossier))


def problems(page: str) -> list[tuple[str, str, str]]:
    """(row, column, message) of the preview's error table."""
    body = page.split('data-testid="import-problems"', 1)
    if len(body) < 2:
        return []
    cells = re.findall(
        r"<tr data-row=\"\d+\"><td>(\d+)</td><td>(.*?)</td><td>(.*?)</td></tr>", body[1]
    )
    return cells


# --- Realistic files -------------------------------------------------------------------------------


def test_a_realistic_csv_of_5000_rows_is_checked_then_imported_in_one_go(client, clerk):
    data = csv_bytes(realistic_rows(5000))
    started = time.perf_counter()
    preview = post(client, data)
    checked = time.perf_counter() - started
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, problems(page)[:5]
    assert 'data-testid="rows-clean">5000<' in page and 'data-testid="import-all"' in page
    assert dossier_count() == 0  # checking imports nothing
    started = time.perf_counter()
    response = post(client, data, action="import_all")
    imported = time.perf_counter() - started
    assert response.status_code == 303, problems(response.get_data(as_text=True))[:5]
    assert dossier_count() == 5000
    assert db.session.scalar(select(func.count()).select_from(Envelope)) == 5500
    print(f"\n5,000-row CSV: check {checked:.1f} s, import {imported:.1f} s")


def test_a_realistic_xlsx_is_imported_with_excels_numbers_read_back(client, clerk):
    rows = realistic_rows(1000, seed=7, prefix="X20")
    started = time.perf_counter()
    response = post(client, xlsx_bytes(rows), "hoso.xlsx", action="import_all")
    elapsed = time.perf_counter() - started
    assert response.status_code == 303, problems(response.get_data(as_text=True))[:5]
    assert dossier_count() == 1000
    first = db.session.scalars(select(Dossier).where(Dossier.code == rows[0][0])).one()
    assert first.recipient_phone == rows[0][7].replace(" ", "")  # the leading 0 restored
    assert first.postage_vnd == 26_000 and str(first.promised_date) == "2026-11-25"
    print(f"\n1,000-row XLSX: check and import {elapsed:.1f} s")


def test_the_same_file_imported_twice_registers_nothing_new(client, clerk):
    data = csv_bytes(realistic_rows(30))
    assert post(client, data, action="import_all").status_code == 303
    again = post(client, data)
    assert 'data-testid="rows-clean">30<' in again.get_data(as_text=True)
    assert "30 dòng trong số đó đã được đăng ký" in again.get_data(as_text=True)
    assert post(client, data, action="import_all").status_code == 303
    assert dossier_count() == 30


# --- A broken file ---------------------------------------------------------------------------------


def broken_rows() -> list[list[str]]:
    rows = realistic_rows(8)
    rows[1][6] = ""  # row 3: no recipient
    rows[2][11] = "4"  # row 4: a ward of Hà Nội
    rows[3][11] = "999999"  # row 5: no such commune
    rows[4][7] = "12345"  # row 6: not a phone
    rows[5][8] = "0200901"  # row 7: not an ID number
    rows[7][0] = rows[6][0]  # rows 8 and 9: one code twice
    return rows


def test_a_broken_file_is_refused_with_each_rows_errors_and_nothing_imported(client, clerk):
    preview = post(client, csv_bytes(broken_rows()))
    page = preview.get_data(as_text=True)
    found = {(row, column) for row, column, _message in problems(page)}
    assert found >= {
        ("3", "Người nhận"),
        ("4", "Mã xã, phường"),
        ("5", "Mã xã, phường"),
        ("6", "Điện thoại người nhận"),
        ("7", "Số định danh người nhận"),
        ("8", "Mã hồ sơ"),
        ("9", "Mã hồ sơ"),
    }
    assert ("2", "Mã hồ sơ") not in found
    messages = " ".join(m for _r, _c, m in problems(page))
    assert "Trường này là bắt buộc" in messages or "bắt buộc" in messages
    assert 'data-testid="rows-clean">1<' in page and 'data-testid="import-all"' not in page
    refused = post(client, csv_bytes(broken_rows()), action="import_all")
    assert refused.status_code == 422
    assert dossier_count() == 0


def test_the_clerk_may_import_only_the_clean_rows(client, clerk):
    response = post(client, csv_bytes(broken_rows()), action="import_clean")
    assert response.status_code == 303
    assert dossier_count() == 1


def test_a_code_registered_before_with_other_content_is_a_row_error(client, clerk):
    rows = realistic_rows(3)
    post(client, csv_bytes(rows), action="import_all")
    rows[1][9] = "Số 99, đường khác"
    page = post(client, csv_bytes(rows)).get_data(as_text=True)
    assert [(r, c) for r, c, _m in problems(page)] == [("3", "Mã hồ sơ")]
    assert "Địa chỉ" in problems(page)[0][2]


# --- What a file may be ----------------------------------------------------------------------------


def test_semicolons_schema_names_and_no_bom_are_read_too(client, clerk):
    data = csv_bytes(realistic_rows(5), headers=[c.name for c in COLUMNS], delimiter=";", bom=False)
    assert post(client, data, action="import_all").status_code == 303
    assert dossier_count() == 5


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"%PDF-1.7 \x00\x01\x02", "hoso.pdf", "không phải tệp CSV hay XLSX"),
        (b"PK\x03\x04 not a zip at all", "hoso.xlsx", "Không đọc được tệp XLSX"),
        ("Mã hồ sơ,Tên\r\n".encode("utf-16"), "hoso.csv", "không phải tệp CSV hay XLSX"),
        ("Đơn;ư\r\n".encode("cp1258"), "hoso.csv", "UTF-8"),
        (b"", "hoso.csv", "Tệp trống"),
        (csv_bytes([], headers=HEADERS), "hoso.csv", "không có dòng nào"),
        (csv_bytes(realistic_rows(1), headers=[*HEADERS[:-1], "Ghi chú"]), "a.csv", "Ghi chú"),
        (csv_bytes(realistic_rows(1), headers=["Mã hồ sơ"] + [""] * 17), "a.csv", "thiếu các cột"),
        (b'"Ma ho so,"x\r\n"open', "a.csv", "Tệp CSV bị lỗi"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_one_clear_reason(
    client, clerk, data, name, words
):
    response = post(client, data, name)
    assert response.status_code == 422
    assert words in response.get_data(as_text=True)
    assert dossier_count() == 0


def test_the_size_and_row_caps(client, clerk, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 10)
    response = post(client, csv_bytes(realistic_rows(11)), action="import_all")
    assert response.status_code == 422 and "hơn 10 dòng" in response.get_data(as_text=True)
    big = csv_bytes(realistic_rows(1)) + b"\r\n" * (imports.MAX_FILE_BYTES)
    response = post(client, big, action="import_all")
    assert response.status_code == 422 and "10 MB" in response.get_data(as_text=True)
    assert dossier_count() == 0


def test_the_templates_are_read_back_as_their_own_columns(client, clerk):
    for name in ("template.csv", "template.xlsx"):
        template = client.get(f"/agency/import/{name}")
        assert template.status_code == 200
        with (
            client.application.test_request_context(),
            pytest.raises(imports.ImportRefused) as err,
        ):
            imports.read_sheet(name, template.data)
        assert err.value.code == "no_rows"  # the header was understood, there are no rows


def test_a_chosen_file_is_required_and_the_choice_known(client, clerk):
    assert client.post("/agency/import", data={"action": "check"}).status_code == 422
    assert post(client, csv_bytes(realistic_rows(1)), action="everything").status_code == 422


# --- No input earns a 5xx ---------------------------------------------------------------------------

CELL = st.one_of(st.text(max_size=15), st.sampled_from(["5977", "0912345678", "020090123456", ""]))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(CELL, min_size=0, max_size=20), max_size=5),
    headers=st.one_of(st.just(HEADERS), st.lists(st.text(max_size=10), max_size=5)),
    action=st.sampled_from(["check", "import_all", "import_clean", "x"]),
)
def test_no_csv_earns_a_5xx_and_a_refused_import_changes_nothing(
    client, clerk, rows, headers, action
):
    before = dossier_count()
    response = post(client, csv_bytes(rows, headers=headers), action=action)
    assert response.status_code < 500
    if response.status_code != 303:
        assert dossier_count() == before


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.binary(max_size=300), st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b)
    ),
    name=st.text(max_size=20),
    fields=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
)
def test_no_upload_earns_a_5xx(client, clerk, data, name, fields):
    before = dossier_count()
    response = client.post(
        "/agency/import",
        data={**fields, "file": (io.BytesIO(data), name or "x")},
        content_type="multipart/form-data",
    )
    assert response.status_code < 500
    assert dossier_count() == before
