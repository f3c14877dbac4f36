"""The Import screen on hostile uploads: the capped report (the first 1,000 problems in the table, the rest counted
below it), an upload larger than an import reads refused before any check, a zip bomb refused naming its member,
and a misconfigured limit named; nothing written, no exception."""

from __future__ import annotations

from sqlalchemy import func, select

from bench.hostile import HEADER, bad_row, make_bomb
from models import Measurement
from tests.app.conftest import signed_in_app


def _upload(at, files: list[tuple[str, bytes, str]]):
    at.file_uploader(key="import_files").set_value(files).run()
    return at


def _check(at):
    at.button(key="import_check").click().run()
    assert not at.exception
    return at


def _measurements(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Measurement)).scalar_one()


def test_a_file_of_invalid_rows_shows_a_capped_report(with_users):
    rows = HEADER + b"".join(bad_row(number) for number in range(1, 1501))
    at = _check(_upload(signed_in_app("admin", "pages/import_bundle.py"), [("measurements.csv", rows, "text/csv")]))
    assert at.error[0].value.startswith("the bundle was rejected (1,500 problems); nothing was written")
    table = at.dataframe[0].value
    assert len(table) == 1000 and list(table.columns) == ["file", "line", "column", "reason"]
    assert table.iloc[0].to_dict() == {"file": "measurements.csv", "line": 2, "column": "value",
                                       "reason": "must be a number"}
    assert at.text[0].value == "… and 500 more: measurements.csv value: must be a number ×500"
    assert [b.key for b in at.get("button")] == ["import_check"]  # no "Import now"
    assert _measurements(with_users) == 0


def test_an_upload_larger_than_the_limit_is_refused_before_the_check(with_users, monkeypatch):
    monkeypatch.setenv("SKINTRACK_IMPORT_MAX_BYTES", "1K")
    at = _upload(signed_in_app("admin", "pages/import_bundle.py"),
                 [("measurements.csv", HEADER + bad_row(1) * 20, "text/csv")])  # 1,666 bytes
    assert not at.exception
    assert at.error[0].value == ("Not checked: the upload is 1.6 KiB; an import reads at most 1 KiB "
                                 "(SKINTRACK_IMPORT_MAX_BYTES). Split the bundle, or ask the administrator of the "
                                 "server to raise the limit.")
    assert not [b for b in at.get("button") if b.key == "import_check"]


def test_a_zip_bomb_upload_is_refused_naming_its_member(with_users, tmp_path):
    bomb = make_bomb(tmp_path / "bomb.zip", size=8 * 1024 * 1024).read_bytes()
    at = _check(_upload(signed_in_app("admin", "pages/import_bundle.py"), [("bomb.zip", bomb, "application/zip")]))
    table = at.dataframe[0].value
    assert table["file"].tolist() == ["measurements.csv"]
    assert "refused as a likely zip bomb" in table["reason"][0]
    assert _measurements(with_users) == 0


def test_a_misconfigured_limit_is_named_on_the_screen(with_users, monkeypatch):
    monkeypatch.setenv("SKINTRACK_IMPORT_MAX_RATIO", "often")
    at = _upload(signed_in_app("admin", "pages/import_bundle.py"), [("patients.csv", b"patient_id\n", "text/csv")])
    assert not at.exception
    assert "SKINTRACK_IMPORT_MAX_RATIO" in at.error[0].value and "'often' is not a ratio" in at.error[0].value
