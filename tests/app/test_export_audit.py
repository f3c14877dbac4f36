"""Audit without holes (issue 13, defect 7): every export, from every screen and in every format, is audited with
the signed-in user — also the Cohort screen's download, whose data is made after the page's run, in a server
thread that knows no session. An audit row with the actor `anonymous` fails these tests."""

from __future__ import annotations

import threading

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from db.audit import load_audit
from exchange.exporter import DOWNLOAD_FORMATS, deferred_export
from models.errors import InvalidValue
from tests.app.conftest import signed_in_app


def assert_no_anonymous_row(engine) -> None:
    trail = load_audit(engine, limit=100_000)
    assert len(trail) and "anonymous" not in set(trail["actor"]), trail[trail["actor"] == "anonymous"]


def exports(engine):
    return load_audit(engine, action="export")


@pytest.fixture
def deferred_downloads(monkeypatch):
    """The callables pages hand to download buttons, as the server keeps them until a click."""
    kept = []
    real = MediaFileManager.add_deferred

    def keep(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        data_callable.file_name = file_name  # for the tests' eyes
        kept.append(data_callable)
        return real(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    return kept


def click_in_a_server_thread(download) -> bytes:
    """Run a deferred download as Streamlit's server does: in another thread, outside any script run."""
    result = {}
    thread = threading.Thread(target=lambda: result.update(data=download()))
    thread.start()
    thread.join(120)
    return result["data"]


def test_cohort_download_is_audited_with_the_user_who_drew_the_button(with_demo, deferred_downloads):
    at = signed_in_app("coordinator", "pages/cohort.py")
    assert not at.exception
    assert deferred_downloads, "the cohort export is a deferred download"
    assert [o for o in at.selectbox(key="cohort_export_format").options] == [
        d.label for d in DOWNLOAD_FORMATS.values()]
    before = len(exports(with_demo))
    data = click_in_a_server_thread(deferred_downloads[-1])
    assert data[:2] == b"PK"  # a zip of the CSV files
    trail = exports(with_demo)
    assert len(trail) == before + 1
    row = trail.iloc[0]
    assert row["actor"] == "coordinator"
    assert row["detail"].startswith("de-identified zip export of 12 patients (selected)")
    assert "response month 12" in row["detail"]
    assert_no_anonymous_row(with_demo)


def test_cohort_download_in_a_statistical_format_with_a_response_month(with_demo, deferred_downloads):
    at = signed_in_app("admin", "pages/cohort.py")
    at.selectbox(key="cohort_export_format").set_value("stata")
    at.number_input(key="cohort_export_response_month").set_value(6)
    at.run()
    assert not at.exception
    assert deferred_downloads[-1].file_name == "skintrack-cohort-deidentified-stata.zip"
    click_in_a_server_thread(deferred_downloads[-1])
    row = exports(with_demo).iloc[0]
    assert (row["actor"], "stata export" in row["detail"], "response month 6" in row["detail"]) == (
        "admin", True, True)
    assert_no_anonymous_row(with_demo)


def test_export_screen_offers_every_format_and_audits_the_user(with_demo):
    at = signed_in_app("coordinator", "pages/export.py")
    assert at.selectbox(key="export_format").options == [d.label for d in DOWNLOAD_FORMATS.values()]
    at.selectbox(key="export_format").set_value("sas")
    at.number_input(key="export_response_month").set_value(24)
    at.run()
    at.button(key="export_prepare").click().run()
    assert not at.exception
    row = exports(with_demo).iloc[0]
    assert row["actor"] == "coordinator"
    assert row["detail"].startswith("de-identified sas export of 12 patients")
    assert "response month 24" in row["detail"]
    download = at.get("download_button")[-1]
    assert download.proto.label.startswith("Download skintrack-deidentified-")
    assert download.proto.label.endswith("-sas.zip")
    assert_no_anonymous_row(with_demo)


def test_a_deferred_export_refuses_to_run_without_a_user(with_demo):
    with pytest.raises(InvalidValue) as refused:
        deferred_export(with_demo, actor="anonymous")
    assert refused.value.problems[0].field == "actor"
    with pytest.raises(InvalidValue):
        deferred_export(with_demo, actor="")
