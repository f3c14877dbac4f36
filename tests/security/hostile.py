"""Records whose every free text carries Markdown that would fetch or link an address, and the check that a
rendered Markdown body shows such text literally (issue 14, finding 4)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from db.engine import write_session
from db.patients import create_patient, delete_patient
from db.treatments import record_event, start_medication, update_medication
from db.users import create_user
from db.visits import record_assessment
from tests import factories

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Hostile:
    """The texts planted, all pointing at `base` (a loopback address that must never be fetched)."""

    base: str

    @property
    def image(self) -> str:
        return f"![x]({self.base}/img)"

    @property
    def link(self) -> str:
        return f"[Sign in here]({self.base}/signin)"

    @property
    def patient(self) -> str:  # an identifier: 1-64 printable characters
        return self.image

    @property
    def deleted_patient(self) -> str:
        return self.link


def plant(engine, hostile: Hostile, *, actor: str = "admin") -> None:
    """A patient whose id, name, notes, rater, medication reason, correction reason and event description carry
    the hostile Markdown; a deleted patient named by the link (deleted for a hostile reason); an account whose
    display name is the image."""
    pid = hostile.patient
    from db.centres import load_centres

    centres = load_centres(engine)
    centre = int(centres.loc[centres["active"], "centre_key"].iloc[0])  # the first active one (the demo has three)
    with write_session(engine) as session:
        create_patient(session=session, actor=actor, data=factories.patient(
            patient_id=pid, name=hostile.link, notes=hostile.image, mrn="000777", centre_key=centre))
        record_assessment(session=session, actor=actor, data=factories.assessment(patient_id=pid, rater=hostile.link))
        period = start_medication(session=session, actor=actor, data=factories.medication(
            patient_id=pid, reason=hostile.image))
        record_event(session=session, actor=actor, data={
            "patient_id": pid, "date": "2018-06-01", "kind": "procedure",
            "description": f"{hostile.image} {hostile.link}"})
        create_patient(session=session, actor=actor, data=factories.patient(patient_id=hostile.deleted_patient,
                                                                               centre_key=centre))
        create_user(session=session, actor=actor, data={
            "username": "mallory", "display_name": hostile.image, "role": "staff", "password": PASSWORD})
    with write_session(engine) as session:
        update_medication(session=session, actor=actor, period_id=period.period_id, expected_version=period.version,
                          data=factories.medication(patient_id=pid, reason=hostile.link), reason=hostile.link)
    with write_session(engine) as session:
        delete_patient(session=session, actor=actor, patient_id=hostile.deleted_patient, expected_version=1,
                       reason=hostile.image)


_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
AUTOLINK = re.compile(r"(?i)(https?|ftp)://|www\.|\w@\w")


def unsafe(markdown: str) -> bool:
    """Whether a Markdown body would render a link or an image, or autolink an address: with its escaped
    characters taken out a `](` or a `<` is left, or the text it shows holds an address GitHub-flavoured Markdown
    links by itself (`http://…`, `www.…`, even when written `http\\://`)."""
    bare = re.sub(r"\\.", "", markdown)
    return "](" in bare or "<" in bare or AUTOLINK.search(_ESCAPED.sub(r"\1", markdown)) is not None


def literal(markdown: str) -> str:
    """The text a Markdown body shows once its escapes are read (word joiners are invisible)."""
    return _ESCAPED.sub(r"\1", markdown).replace("\u2060", "")


def shown_as(text: str) -> re.Pattern:
    """A pattern of `text` as a screen shows it: maybe with invisible word joiners (U+2060) inside."""
    return re.compile("\u2060?".join(map(re.escape, text)))


# Elements whose text is not Markdown (shown as typed): st.text, st.code, tables, JSON.
PLAIN = {"text", "code", "arrow_data_frame", "json", "dataframe", "table"}
MARKDOWN_FIELDS = ("body", "label", "help", "caption", "captions")


def _strings(message, out: list[str]) -> None:
    """The Markdown-bearing strings of a proto message and of the messages inside it."""
    for field, value in message.ListFields():
        repeated = not isinstance(value, (str, bytes)) and not hasattr(value, "ListFields") and hasattr(
            value, "__iter__")
        items = list(value) if repeated else [value]
        for item in items:
            if hasattr(item, "ListFields"):
                _strings(item, out)
            elif isinstance(item, str) and field.name in MARKDOWN_FIELDS:
                out.append(item)


def markdown_bodies(at) -> list[tuple[str, str]]:
    """(element type, Markdown text) of every rendered element and block of an AppTest run: bodies of
    markdown, captions, headings and alerts; labels and help of widgets, expanders and tabs."""
    found: list[tuple[str, str]] = []

    def visit(node) -> None:
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", type(node).__name__)
        if proto is not None and hasattr(proto, "ListFields") and kind not in PLAIN:
            texts: list[str] = []
            _strings(proto, texts)
            found.extend((kind, text) for text in texts if text)
        for child in getattr(node, "children", {}).values():
            visit(child)

    visit(at._tree)
    return found
