"""Parse one document of minutes into the datasets' records.

:func:`parse_minutes` is a pure function: a :class:`~analysis.reading.document.RawDocument` and the
reference data in, a :class:`ParseResult` out. It reads no files and keeps no state, so documents
can be parsed in parallel processes (or on a cluster) and the result depends only on the inputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from analysis import jpdate
from analysis.names import member_role, split_list, split_person
from analysis.normalise import to_norm
from analysis.parse.lines import Finding, line_at, prepare
from analysis.parse.segment import Block, segment
from analysis.parse.speech import follow_ups, resolve_speaker, utterance_kind
from analysis.parse.statements import (
    categorise,
    is_personal_data_statement,
    is_safeguard_statement,
    personal_data_items,
    safeguard_measures,
)
from analysis.reading.document import RawDocument
from analysis.reading.errors import InputError
from analysis.reference import Reference

TABLES = (
    "meetings",
    "attendees",
    "consultations",
    "utterances",
    "personal_data_items",
    "safeguards",
    "question_topics",
    "follow_ups",
    "source_lines",
    "diagnostics",
)


class NotMinutesError(InputError):
    """The document is text, but not minutes of this council."""


@dataclass
class ParseResult:
    meeting_id: str
    tables: dict[str, list[dict]] = field(default_factory=lambda: {t: [] for t in TABLES})

    def rows(self, table: str) -> list[dict]:
        return self.tables[table]


RE_TITLE = re.compile(r"議事録|会議録|要点記録")
RE_TITLE_PARTS = re.compile(
    r"(?P<era>(?:令和|平成|昭和)\s*(?:[0-9]+|元|[一二三四五六七八九十]+)\s*年度)?\s*"
    r"(?:第\s*(?P<session>[0-9]+|[一二三四五六七八九十]+)\s*回)?\s*"
    r"(?P<council>.*?)\s*(?:議事録|会議録)"
)
RE_PREVIOUS = re.compile(r"前回(?:の)?(?:議事録|会議録)[（(](?P<prev>[^）)]+)[）)]")
RE_SIGNED_BY = re.compile(r"(?P<name>[^\s、。]{1,6}?)(?:委員|会長|副会長)が署名")
RE_DESIGNATED = re.compile(
    r"(?P<name>[^\s、。]{1,6}?)(?:委員|会長|副会長)(?:が|を)(?:指名|署名委員)"
)
RE_OBSERVERS = re.compile(r"(?P<n>[0-9]+|[一二三四五六七八九十]+)\s*(?:名|人)")
RE_BUREAU_DEPT = re.compile(r"^(?P<bureau>[^・、]*?部)?\s*[・]?\s*(?P<depts>.*)$")
RE_LABEL_IN_DECISION = re.compile(r"(?<![ァ-ヶー])(?P<label>[ア-ヶ])\s*「(?P<title>[^」]+)」")
RE_QUOTED = re.compile(r"「(?P<title>[^」]+)」")


# ============================================================================== entry point
def parse_minutes(doc: RawDocument, ref: Reference, source_path: str | None = None) -> ParseResult:
    """Parse ``doc`` into records for every table of the data contract."""
    return _Parser(doc, ref, source_path or doc.name).run()


@dataclass
class _Delib:
    kind: str  # consultation or report
    headers: list[Block] = field(default_factory=list)
    presenter: Block | None = None
    paragraphs: list[Block] = field(default_factory=list)
    utterances: list[Block] = field(default_factory=list)
    votes: list[Block] = field(default_factory=list)
    decisions: list[Block] = field(default_factory=list)
    qa: Block | None = None
    last_line: int = 0

    @property
    def started(self) -> bool:
        return bool(self.presenter or self.paragraphs or self.utterances or self.qa)

    @property
    def labels(self) -> list[str]:
        return [h.data["label"] for h in self.headers]


class _Parser:
    def __init__(self, doc: RawDocument, ref: Reference, source_path: str):
        self.doc = doc
        self.ref = ref
        self.source_path = source_path
        self.findings: list[Finding] = []
        self.meeting: dict = {}
        self.attendees: list[dict] = []
        self.delibs: list[_Delib] = []
        self.closing: dict = {"signatories": []}
        self.staff_departments: list[str] = []
        self._staff_mode = "department"
        self.title_block: Block | None = None

    # ------------------------------------------------------------------ helpers
    def warn(self, code: str, message: str, line: int | None = None, severity: str = "warning"):
        self.findings.append(Finding(severity, code, message, line))

    def run(self) -> ParseResult:
        prep = prepare(self.doc.lines, self.doc.pages)
        self.findings.extend(prep.findings)
        self.lines = prep.lines
        blocks = segment(prep.content(), self.ref.vote_phrases)
        self._check_is_minutes(blocks)
        self._walk(blocks)
        return self._assemble()

    def _check_is_minutes(self, blocks: list[Block]) -> None:
        title = next(
            (b for b in blocks[:12] if b.kind == "paragraph" and RE_TITLE.search(b.text())), None
        )
        structure = sum(
            1 for b in blocks if b.kind in ("info", "utterance", "cons_header", "decision")
        )
        if title is None and structure < 3:
            raise NotMinutesError(
                self.source_path,
                "not minutes of the council: no title with 議事録/会議録 and no meeting structure "
                "(日時, 〔speaker〕 turns, 諮問 headers) found",
            )
        self.title_block = title
        if title is None:
            self.warn("missing_title", "no title line with 議事録/会議録 found", None)

    # ------------------------------------------------------------------ the walk
    def _walk(self, blocks: list[Block]) -> None:
        current: _Delib | None = None
        agenda_kind = "consultation"
        content_topic = ""
        signature_role: str | None = None
        for b in blocks:
            if b is self.title_block:
                self._mark(b, "title")
                self.meeting["title"] = b.text()
                continue
            if b.kind == "info":
                self._info(b)
                continue
            if b.kind == "bracket":
                self._mark(b, "attendee_heading")
                self._staff_mode = "secretariat" if "事務局" in b.data["name"] else "department"
                continue
            if b.kind == "staff":
                self._staff(b)
                continue
            if b.kind == "section":
                current = self._close(current)
                content_topic = b.data["title"]
                self._mark(b, "agenda_heading")
                continue
            if b.kind == "circled":
                current = self._close(current)
                agenda_kind = "report" if "報告" in b.data["title"] else "consultation"
                self._mark(b, "agenda_heading")
                continue
            if b.kind == "cons_header":
                kind = "report" if b.data.get("kind") == "報告" else agenda_kind
                if current is None or current.started or current.kind != kind:
                    current = self._close(current)
                    current = _Delib(kind)
                current.headers.append(b)
                continue
            if current is not None and self._deliberation_block(current, b):
                continue
            # outside any deliberation
            if b.section == "closing":
                signature_role = self._closing(b, signature_role)
                continue
            if b.kind == "paragraph" and b.section == "content":
                self._proceedings(b, content_topic)
                continue
            if b.kind == "paragraph" and b.section == "agenda":
                self._mark(b, "agenda")
                continue
            self._unplaced(b)
        self._close(current)

    def _close(self, delib: _Delib | None) -> None:
        if delib is not None:
            self.delibs.append(delib)
        return None

    def _deliberation_block(self, d: _Delib, b: Block) -> bool:
        if b.kind == "presenter" and not d.utterances:
            d.presenter = b
            return True
        if b.kind == "qa_marker":
            d.qa = b
            return True
        if b.kind in ("utterance", "presenter"):
            if b.kind == "presenter":  # a label alone on its line, text on the next line
                b.kind = "utterance"
                b.data = {"label": b.data["label"], "text": ""}
            d.utterances.append(b)
            return True
        if b.kind == "vote":
            d.votes.append(b)
            return True
        if b.kind == "decision":
            d.decisions.append(b)
            return True
        if b.kind == "paragraph" and b.section != "closing":
            if d.utterances and not d.decisions:
                d.utterances[-1].lines.extend(b.lines)
                return True
            if d.decisions:
                return False
            d.paragraphs.append(b)
            return True
        return False

    # ------------------------------------------------------------------ meeting head
    def _info(self, b: Block) -> None:
        key = b.data["key"]
        text = b.data["rest"] + "".join(ln.text for ln in b.lines[1:])
        role = {"members": "attendee", "absent": "attendee", "staff": "attendee_heading"}.get(
            key, "meeting_info"
        )
        self._mark(b, role)
        if key == "datetime":
            try:
                self.meeting["date"] = jpdate.parse_date(text)
            except ValueError as e:
                self.warn("bad_date", f"date cannot be read: {e}", b.first)
            start, end = jpdate.parse_time_range(text)
            self.meeting["start_time"], self.meeting["end_time"] = start, end
            if self.meeting.get("date") is None:
                self.warn("missing_date", f"no date found in {text!r}", b.first)
        elif key == "venue":
            self.meeting["venue"] = text or None
        elif key == "observers":
            self.meeting["observers"] = _observers(text)
            if self.meeting["observers"] is None:
                self.warn(
                    "bad_observers", f"number of observers cannot be read from {text!r}", b.first
                )
        elif key in ("members", "absent"):
            self._members(b, text, present=(key == "members"))
        elif key == "staff":
            self._staff_mode = "department"
            if text:  # staff listed on the same line
                self._people(b, text, role="department", org_text=None, labels=[])

    def _members(self, b: Block, text: str, present: bool) -> None:
        if text in ("なし", "無し", "-", "ー"):
            return
        for token in split_list(text):
            name, role = member_role(token)
            if role is None:
                role = "member"
                self.warn(
                    "member_without_role",
                    f"attendance entry {token!r} names no role (会長/委員)",
                    b.first,
                    "info",
                )
            self.attendees.append(
                dict(
                    name=name,
                    role=role,
                    title=None,
                    organization=None,
                    bureau=None,
                    consultation_labels=[],
                    present=present,
                    source_line=b.first,
                )
            )

    def _staff(self, b: Block) -> None:
        mode = getattr(self, "_staff_mode", "department")
        role = "secretariat" if mode == "secretariat" or not b.data["labels"] else "department"
        self._mark(b, "attendee")
        self._people(
            b,
            b.text(" ") if len(b.lines) > 1 else b.data["text"],
            role,
            b.data["org"],
            b.data["labels"],
        )

    def _people(self, b: Block, people: str, role: str, org_text: str | None, labels: list[str]):
        bureau, depts = self._split_org(org_text) if org_text else (None, [])
        if role == "department":
            for d in depts:
                if d not in self.staff_departments:
                    self.staff_departments.append(d)
        for token in split_list(people):
            name, title = split_person(token)
            org = None
            if len(depts) == 1:
                org = depts[0]
            else:
                org = next((d for d in depts if title and d in title), None)
            self.attendees.append(
                dict(
                    name=name,
                    role=role,
                    title=title,
                    organization=org,
                    bureau=bureau,
                    consultation_labels=list(labels),
                    present=True,
                    source_line=b.first,
                )
            )

    def _split_org(self, org: str) -> tuple[str | None, list[str]]:
        """``市民経済部課税課・市民課`` -> (市民経済部, [課税課, 市民課])."""
        org = org.strip()
        bureau = next((bu for bu in self.ref.bureaus if org.startswith(bu)), None)
        rest = org[len(bureau) :] if bureau else org
        if bureau is None:
            m = RE_BUREAU_DEPT.match(org)
            if m and m.group("bureau"):
                bureau = m.group("bureau")
                rest = m.group("depts")
        depts = [d for d in re.split(r"[・、,]", rest.strip("・ ")) if d]
        if not depts and bureau and bureau.endswith("課"):
            depts, bureau = [bureau], None
        if bureau is None and depts:
            bureau = self.ref.bureau_of(depts[0])
        return bureau, depts

    def _proceedings(self, b: Block, topic: str) -> None:
        text = b.text()
        if "前回" in topic or RE_PREVIOUS.search(text):
            self._mark(b, "previous_minutes")
            if m := RE_PREVIOUS.search(text):
                self.meeting["previous_minutes"] = m.group("prev")
            if m := RE_SIGNED_BY.search(text):
                self.meeting["previous_minutes_signed_by"] = m.group("name")
            return
        if "署名" in topic:
            self._mark(b, "signer_designation")
            if m := RE_DESIGNATED.search(text):
                self.meeting["designated_signer"] = m.group("name")
            return
        self._mark(b, "agenda")

    def _closing(self, b: Block, signature_role: str | None) -> str | None:
        text = b.text()
        if b.kind != "paragraph":
            self._unplaced(b)
            return signature_role
        if "署名する" in text or "署名します" in text or len(text) > 40:
            self._mark(b, "closing")
            return signature_role
        compact_text = text.replace(" ", "").replace("　", "")
        for suffix, role in (("副会長", "vice_chair"), ("会長", "chair"), ("委員", "member")):
            if compact_text.endswith(suffix):
                self._mark(b, "signature")
                # a heading (`… 審議会 会長`, `委員`) sets the role of the names below it
                return role
            if (
                compact_text.startswith(suffix)
                and len(compact_text) > len(suffix)
                and "審議会" not in compact_text
            ):
                self._mark(b, "signature")
                self.closing["signatories"].append((compact_text[len(suffix) :], role, b.first))
                return role
        if "審議会" in text:
            self._mark(b, "signature")
            return signature_role
        self._mark(b, "signature")
        self.closing["signatories"].append((compact_text, signature_role or "member", b.first))
        return signature_role

    def _unplaced(self, b: Block) -> None:
        for ln in b.lines:
            if ln.role is None:
                ln.mark("unplaced")
                self.warn("unplaced_line", f"line could not be placed: {ln.text[:60]}", ln.no)

    def _mark(self, b: Block, role: str, ref: str | None = None) -> None:
        for ln in b.lines:
            ln.mark(role, ref)

    # ------------------------------------------------------------------ assemble
    def _assemble(self) -> ParseResult:
        m = self.meeting
        muni = self.ref.default_municipality()
        title = m.get("title", "")
        tp = RE_TITLE_PARTS.search(title.replace(" ", "")) if title else None
        fiscal_year = session = None
        council = muni.get("council")
        municipality = muni["municipality"]
        if tp:
            if tp.group("era"):
                fiscal_year = jpdate.parse_fiscal_year(tp.group("era"))
            if tp.group("session"):
                session = jpdate.to_int(tp.group("session"))
            if tp.group("council"):
                council_text = tp.group("council")
                for mu in self.ref.municipalities:
                    if council_text.startswith(mu["municipality"]):
                        municipality = mu["municipality"]
                        muni = mu
                        council_text = council_text[len(mu["municipality"]) :]
                council = council_text or council
        if fiscal_year is None and m.get("date"):
            d = m["date"]
            fiscal_year = d.year if d.month >= 4 else d.year - 1
            self.warn(
                "fiscal_year_from_date",
                "no 年度 in the title; fiscal year taken from the date",
                None,
                "info",
            )
        if fiscal_year is None:
            raise NotMinutesError(
                self.source_path, "no fiscal year (年度) in the title and no meeting date"
            )
        if session is None:
            session = 0
            self.warn(
                "missing_session",
                "no session number (第N回) in the title; session_no set to 0",
                None,
            )
        meeting_id = f"{muni['slug']}-{fiscal_year}-{session:02d}"
        res = ParseResult(meeting_id)
        T = res.tables

        # consultations, utterances and what they state
        present_depts = self.staff_departments
        n_cons = n_reports = 0
        seq = 0
        for d in self.delibs:
            if not d.headers:
                continue
            prefix = "報告" if d.kind == "report" else ""
            group = (
                "・".join(prefix + lab for lab in d.labels)
                if not prefix
                else prefix + "・".join(d.labels)
            )
            group_key = group
            cons_rows = []
            presenting: list[str] = []
            for h in d.headers:
                seq += 1
                label = h.data["label"]
                cid = f"{meeting_id}-{prefix}{label}"
                bureau, depts = self._split_org(h.data["org"]) if h.data.get("org") else (None, [])
                for dep in depts:
                    if dep not in presenting:
                        presenting.append(dep)
                if not depts:
                    self.warn(
                        "missing_department", f"agenda item {label} names no department", h.first
                    )
                self._mark(h, "consultation_header", cid)
                row = dict(
                    consultation_id=cid,
                    meeting_id=meeting_id,
                    label=label,
                    seq=seq,
                    agenda_kind=d.kind,
                    title=h.data["title"],
                    category=categorise(h.data["title"], self.ref)
                    if d.kind == "consultation"
                    else "other",
                    bureau=bureau,
                    departments=depts,
                    deliberation_group=group_key,
                    summary=None,
                    decision="unknown" if d.kind == "consultation" else "not_applicable",
                    vote="unknown" if d.kind == "consultation" else "none",
                    conditions=None,
                    decision_text=None,
                    decision_line=None,
                    questions=0,
                    remarks=0,
                    source_line_start=h.first,
                    source_line_end=h.last,
                )
                cons_rows.append(row)
                if d.kind == "consultation":
                    n_cons += 1
                else:
                    n_reports += 1
            if d.presenter:
                _, pdepts = self._split_org(d.presenter.data["label"])
                for dep in pdepts:
                    if dep not in presenting:
                        presenting.append(dep)
                self._mark(d.presenter, "presenter", group_key)
            if d.qa:
                self._mark(d.qa, "qa_marker", group_key)
            self._statements(d, cons_rows, group_key, meeting_id, T)
            self._utterances(d, cons_rows, group_key, meeting_id, presenting, present_depts, T)
            self._decisions(d, cons_rows, group_key)
            end = max(
                [h.last for h in d.headers]
                + [b.last for b in d.paragraphs + d.utterances + d.votes + d.decisions]
            )
            for row in cons_rows:
                row["source_line_end"] = end
            T["consultations"].extend(cons_rows)

        self._check_people(meeting_id)
        members = [a for a in self.attendees if a["role"] in ("chair", "vice_chair", "member")]
        for a in self.attendees:
            T["attendees"].append(dict(meeting_id=meeting_id, **a))
        if not self.delibs:
            self.warn("no_consultations", "no 諮問 or 報告 found on the agenda", None)
        if not any(ln.role == "signature" for ln in self.lines):
            self.warn(
                "truncated_document",
                "no closing signature block: the minutes may be truncated",
                len(self.lines) or None,
            )

        T["meetings"].append(
            dict(
                meeting_id=meeting_id,
                municipality=municipality,
                council=council,
                title=title,
                fiscal_year=fiscal_year,
                session_no=session,
                date=m.get("date"),
                start_time=m.get("start_time"),
                end_time=m.get("end_time"),
                venue=m.get("venue"),
                observers=m.get("observers"),
                members_present=sum(1 for a in members if a["present"]),
                members_absent=sum(1 for a in members if not a["present"]),
                previous_minutes=m.get("previous_minutes"),
                previous_minutes_signed_by=m.get("previous_minutes_signed_by"),
                designated_signer=m.get("designated_signer"),
                signatories=[s for s, _, _ in self.closing["signatories"]],
                consultations=n_cons,
                reports=n_reports,
                source_path=self.source_path,
                source_sha256=self.doc.sha256,
                source_format=self.doc.format,
                source_encoding=self.doc.encoding,
                source_lines=len(self.lines),
                is_synthetic=False,
            )
        )

        # the ledger: every line, and what it became
        for ln in self.lines:
            if ln.role is None:
                ln.mark("unplaced")
                self.warn("unplaced_line", f"line could not be placed: {ln.text[:60]}", ln.no)
            T["source_lines"].append(
                dict(
                    meeting_id=meeting_id,
                    source_line=ln.no,
                    source_page=ln.page,
                    text=ln.raw,
                    role=ln.role,
                    ref=ln.ref,
                )
            )
        for f in self.findings:
            T["diagnostics"].append(
                dict(
                    meeting_id=meeting_id,
                    source_path=self.source_path,
                    source_line=f.line,
                    severity=f.severity,
                    code=f.code,
                    message=f.message,
                )
            )
        return res

    # ------------------------------------------------------------------ statements
    def _statements(self, d: _Delib, cons_rows: list[dict], group: str, meeting_id: str, T) -> None:
        for p in d.paragraphs:
            text = p.text()
            starts = p.line_starts()
            if (
                text.startswith("本諮問は")
                or text.startswith("本件は")
                or text.startswith("本報告は")
            ):
                self._mark(p, "summary", group)
                for row in cons_rows:
                    row["summary"] = (
                        text if row["summary"] is None else row["summary"] + "\n" + text
                    )
            elif is_safeguard_statement(text):
                self._mark(p, "safeguard", group)
                for m in safeguard_measures(text, self.ref):
                    if m.measure == "unclassified":
                        self.warn(
                            "safeguard_unclassified",
                            f"no taxonomy measure matches: {m.text[:50]}",
                            line_at(m.offset, starts),
                            "info",
                        )
                    for row in cons_rows:
                        T["safeguards"].append(
                            dict(
                                consultation_id=row["consultation_id"],
                                meeting_id=meeting_id,
                                deliberation_group=group,
                                text=m.text,
                                measure=m.measure,
                                control_category=m.control_category,
                                matched=m.matched,
                                source_line=line_at(m.offset, starts),
                            )
                        )
            elif is_personal_data_statement(text):
                self._mark(p, "personal_data", group)
                items = personal_data_items(text)
                if not items:
                    self.warn(
                        "personal_data_unsplit", "personal data statement with no items", p.first
                    )
                for it in items:
                    for row in cons_rows:
                        T["personal_data_items"].append(
                            dict(
                                consultation_id=row["consultation_id"],
                                meeting_id=meeting_id,
                                deliberation_group=group,
                                item=it.item,
                                item_norm=_nfkc(it.item),
                                item_group=it.group,
                                source_line=line_at(it.offset, starts),
                            )
                        )
            elif re.match(r"^[^、。]{0,20}理由は", text):
                self._mark(p, "reason", group)
            else:
                self._mark(p, "explanation", group)
        if d.kind == "consultation" and not any(
            ln.role == "safeguard" for p in d.paragraphs for ln in p.lines
        ):
            self.warn(
                "no_safeguards_stated",
                f"諮問 {group}: no 個人情報保護措置 statement",
                d.headers[0].first,
                "info",
            )

    # ------------------------------------------------------------------ utterances
    def _utterances(self, d, cons_rows, group, meeting_id, presenting, present_depts, T) -> None:
        rows: list[dict] = []
        speakers = []
        for u in d.utterances:
            sp = resolve_speaker(u.data["label"], presenting, present_depts, self.ref)
            speakers.append(sp)
            if not sp.resolved:
                self.warn(
                    "unknown_speaker",
                    f"speaker label 〔{u.data['label']}〕 matches no one present",
                    u.first,
                )
        last_question: int | None = None
        for i, u in enumerate(d.utterances):
            sp = speakers[i]
            nxt = speakers[i + 1].role if i + 1 < len(speakers) else None
            text = u.text()
            kind = utterance_kind(text, sp.role, nxt, self.ref)
            seq = i + 1
            reply_to = None
            if kind == "answer":
                reply_to = last_question
                if reply_to is None:
                    kind = "remark"
            if kind == "question":
                last_question = seq
            ref = f"{group}#{seq}"
            self._mark(
                u,
                {
                    "question": "question",
                    "answer": "answer",
                    "remark": "remark",
                    "procedural": "procedural",
                }[kind],
                ref,
            )
            rows.append(
                dict(
                    meeting_id=meeting_id,
                    deliberation_group=group,
                    seq=seq,
                    speaker_label=u.lines[0].text[1 : 1 + len(u.data["label"])]
                    if u.lines[0].text.startswith("〔")
                    else u.data["label"],
                    speaker_role=sp.role,
                    speaker_org=sp.org,
                    kind=kind,
                    text=text,
                    text_norm=_nfkc(text),
                    reply_to=reply_to,
                    source_line=u.first,
                    source_line_end=u.last,
                )
            )
            starts = u.line_starts()
            for f in follow_ups(text, sp.role, self.ref):
                T["follow_ups"].append(
                    dict(
                        meeting_id=meeting_id,
                        deliberation_group=group,
                        seq=seq,
                        kind=f.kind,
                        text=f.text,
                        matched=f.matched,
                        source_line=line_at(f.offset, starts),
                    )
                )
        # raw label as written (with its letter-spacing), for the speaker_label column
        for row, u in zip(rows, d.utterances, strict=True):
            m = re.match(r"^\s*(?:[-*・•]\s*)?〔([^〕]+)〕", u.lines[0].raw)
            row["speaker_label"] = m.group(1) if m else u.data["label"]
        self._check_repeats(rows, d)
        q = sum(1 for r in rows if r["kind"] == "question")
        rm = sum(1 for r in rows if r["kind"] == "remark")
        for row in cons_rows:
            row["questions"], row["remarks"] = q, rm
        T["utterances"].extend(rows)

    def _check_repeats(self, rows: list[dict], d: _Delib) -> None:
        """Flag a question cut short whose answer repeats an earlier answer word for word."""
        seen_answers: dict[str, int] = {}
        for i, r in enumerate(rows):
            if r["kind"] != "answer":
                continue
            earlier = seen_answers.get(r["text"])
            if earlier is not None:
                q = rows[i - 1] if i > 0 else None
                nxt = (
                    next((x for x in rows[i + 1 :] if x["speaker_role"] == q["speaker_role"]), None)
                    if q
                    else None
                )
                cut = (
                    q is not None
                    and nxt is not None
                    and nxt["text"].startswith(q["text"].rstrip("。．."))
                )
                if cut:
                    self.warn(
                        "truncated_question_repeated_answer",
                        f"question cut short (line {q['source_line']}; asked in full at line "
                        f"{nxt['source_line']}) followed by an answer that repeats line {earlier} "
                        "word for word",
                        q["source_line"],
                    )
                else:
                    self.warn(
                        "repeated_answer",
                        f"answer repeats line {earlier} word for word",
                        r["source_line"],
                    )
            else:
                seen_answers[r["text"]] = r["source_line"]

    # ------------------------------------------------------------------ decisions
    def _decisions(self, d: _Delib, cons_rows: list[dict], group: str) -> None:
        vote = d.votes[-1].data["vote"] if d.votes else None
        for v in d.votes:
            self._mark(v, "vote", group)
        by_label = {r["label"]: r for r in cons_rows}
        for blk in d.decisions:
            text = blk.text()
            self._mark(blk, "decision", group)
            decision = next((p.code for p in self.ref.decision_phrases if p.phrase in text), None)
            if decision is None:
                self.warn(
                    "decision_unread",
                    f"decision sentence names no known outcome: {text[:60]}",
                    blk.first,
                )
                decision = "unknown"
            targets: list[dict] = []
            for m in RE_LABEL_IN_DECISION.finditer(text):
                row = by_label.get(m.group("label"))
                if row is not None and row not in targets:
                    targets.append(row)
            for m in RE_QUOTED.finditer(text):
                title = m.group("title")
                pre = text[max(0, m.start() - 1) : m.start()]
                if pre and pre in by_label:
                    continue
                match = next(
                    (
                        r
                        for r in cons_rows
                        if r["title"] == title and r not in targets and r["decision_text"] is None
                    ),
                    None,
                )
                if match is not None:
                    targets.append(match)
                    self.warn(
                        "decision_label_missing",
                        f"decision names 「{title}」 without its label; "
                        f"matched to {match['label']} by title",
                        blk.first,
                        "info",
                    )
            if not targets:
                targets = [r for r in cons_rows if r["decision_text"] is None]
            conditions = None
            if decision == "approved_with_conditions":
                qm = list(RE_QUOTED.finditer(text.split("意見")[0]))
                conditions = qm[-1].group("title") if qm else text
            for row in targets:
                row["decision"] = decision
                row["decision_text"] = text
                row["decision_line"] = blk.first
                row["conditions"] = conditions
                row["vote"] = vote or ("none" if decision == "withdrawn" else "unknown")
        for row in cons_rows:
            if row["agenda_kind"] == "consultation" and row["decision_text"] is None:
                self.warn(
                    "no_decision", f"諮問 {row['label']} has no decision", row["source_line_start"]
                )

    # ------------------------------------------------------------------ people checks
    def _check_people(self, meeting_id: str) -> None:
        members = [
            a
            for a in self.attendees
            if a["role"] in ("chair", "vice_chair", "member") and a["present"]
        ]
        names = [a["name"] for a in members]
        for name, _role, line in self.closing["signatories"]:
            if not any(name.startswith(n) or n.startswith(name) for n in names):
                self.warn(
                    "signatory_not_present",
                    f"closing signatory {name} is not among the members present "
                    f"({'、'.join(names)})",
                    line,
                )
        designated = self.meeting.get("designated_signer")
        signed = [n for n, r, _ in self.closing["signatories"] if r == "member"]
        if designated and not any(n.startswith(designated) for n in signed):
            self.warn(
                "signatory_not_designated",
                f"{designated} was designated to sign, but the member signature is "
                f"{'、'.join(signed) or 'nobody'}",
                self.closing["signatories"][-1][2] if self.closing["signatories"] else None,
            )


def _observers(text: str) -> int | None:
    t = text.strip()
    if t.startswith(("なし", "無し", "0", "０")) or t in ("-", "ー", "なし"):
        return 0
    if m := RE_OBSERVERS.search(t):
        return jpdate.to_int(m.group("n"))
    return None


def _nfkc(text: str) -> str:
    return to_norm(text)
