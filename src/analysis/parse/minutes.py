"""Parse one document of minutes into the datasets' records.

:func:`parse_minutes` is a pure function: a :class:`~analysis.reading.document.RawDocument` and the
reference data in, a :class:`ParseResult` out. It reads no files and keeps no state, so documents
can be parsed in parallel processes (or on a cluster) and the result depends only on the inputs.

The work is done in three passes over the document: :func:`~analysis.parse.lines.prepare` repairs
each line and sets page numbers and repeated lines aside; :func:`~analysis.parse.segment.segment`
cuts the rest into blocks; :class:`_Parser` walks the blocks (head, attendance, proceedings, one
deliberation per 諮問 or 報告 group, closing) and assembles the rows of every table. Whatever it
cannot place or finds odd becomes a diagnostics row; nothing is fixed silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from analysis import jpdate
from analysis.names import member_role, split_list, split_person
from analysis.normalise import to_norm
from analysis.parse import decisions, head
from analysis.parse.lines import Finding, line_at, prepare
from analysis.parse.segment import Block, segment
from analysis.parse.speech import (
    follow_ups,
    label_name,
    label_role,
    resolve_speaker,
    utterance_kind,
)
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
from analysis.schema import COUNCIL_ROLES, TABLE_NAMES

# Head counts of a vote (賛成5名、反対2名): consultations column → key in the vote block's data.
_VOTE_COUNT_COLUMNS = {"votes_for": "for", "votes_against": "against"}


class NotMinutesError(InputError):
    """The document is text, but not minutes of this council."""


@dataclass
class ParseResult:
    meeting_id: str
    tables: dict[str, list[dict]] = field(default_factory=lambda: {t: [] for t in TABLE_NAMES})

    def rows(self, table: str) -> list[dict]:
        return self.tables[table]


RE_BUREAU_DEPT = re.compile(r"^(?P<bureau>[^・、]*?部)?\s*[・]?\s*(?P<depts>.*)$")
RE_DEPT_SPLIT = re.compile(r"[・、,]")
RE_MEMBER_COUNT = re.compile(r"[（(]\s*[0-9０-９一二三四五六七八九十]+\s*[名人]\s*[）)]")
RE_SUMMARY = re.compile(r"^(?:本諮問|本件|本報告|本議題)(?:は|について)")
RE_REASON = re.compile(r"^[^、。]{0,20}理由は")
RE_RAW_LABEL = re.compile(r"^\s*(?:[-*・•]\s*)?(?:\*\*)?〔([^〕]+)〕")
# First line of a generated benchmark meeting (analysis.bench.corpus.MARKER); never in real minutes.
SYNTHETIC = "【合成データ】"


# ============================================================================== entry point
def parse_minutes(doc: RawDocument, ref: Reference, source_path: str | None = None) -> ParseResult:
    """Parse ``doc`` into records for every table of the data contract."""
    return _Parser(doc, ref, source_path or doc.name).run()


@dataclass
class _Delib:
    kind: str  # consultation or report
    headers: list[Block] = field(default_factory=list)
    presenter: Block | None = None
    presenter_label: str | None = None
    paragraphs: list[Block] = field(default_factory=list)
    utterances: list[Block] = field(default_factory=list)
    votes: list[Block] = field(default_factory=list)
    decisions: list[Block] = field(default_factory=list)
    conditions: dict[int, list[Block]] = field(default_factory=dict)  # decision index -> blocks
    qa: Block | None = None

    @property
    def started(self) -> bool:
        return bool(
            self.presenter_label or self.paragraphs or self.utterances or self.qa or self.decisions
        )

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
        self._staff_orgs: list[tuple[dict, list[str]]] = []  # department rows, 課 they came with
        self.delibs: list[_Delib] = []
        self.closing: dict = {"signatories": []}
        self.staff_departments: list[str] = []
        # secretariat or department: who the staff lines list (【事務局】, 【実施機関】)
        self._staff_mode: str | None = None
        self._members_present: list[dict] = []
        self.title_block: Block | None = None
        self._bureaus = ref.bureaus
        self._departments = ref.departments

    # ------------------------------------------------------------------ helpers
    def warn(self, code: str, message: str, line: int | None = None, severity: str = "warning"):
        self.findings.append(Finding(severity, code, message, line))

    def run(self) -> ParseResult:
        prep = prepare(self.doc.lines, self.doc.pages)
        self.findings.extend(prep.findings)
        self.lines = prep.lines
        blocks = segment(prep.content(), self.ref)
        self._check_is_minutes(blocks)
        self._walk(blocks)
        return self._assemble()

    def _check_is_minutes(self, blocks: list[Block]) -> None:
        title = next(
            (b for b in blocks[:12] if b.kind == "paragraph" and head.RE_TITLE.search(b.text())),
            None,
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
            if b.section == "head" and b.kind == "paragraph" and b.text().startswith(SYNTHETIC):
                self._mark(b, "meeting_info")  # a generated benchmark meeting says so
                self.meeting["is_synthetic"] = True
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
            if b.kind in ("section", "circled"):
                current = self._close(current)
                title = b.data["title"]
                content_topic = title
                if b.section == "agenda":
                    report = "報告" in title and "諮問" not in title
                    agenda_kind = "report" if report else "consultation"
                self._mark(b, "agenda_heading")
                continue
            if b.kind == "cons_header":
                kind = "report" if b.data.get("kind") == "報告" else agenda_kind
                listed = current is not None and not current.started
                if listed and b.data["label"] in current.labels:
                    # the headers so far only listed the agenda; the deliberations follow
                    for h in current.headers:
                        self._mark(h, "agenda")
                    current = None
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
        self._drop_listings()

    def _drop_listings(self) -> None:
        """Headers that were only the agenda's list: each is deliberated under a later header."""
        deliberated = {(d.kind, lab) for d in self.delibs if d.started for lab in d.labels}
        kept = []
        for d in self.delibs:
            if not d.started and all((d.kind, lab) in deliberated for lab in d.labels):
                for h in d.headers:
                    self._mark(h, "agenda")
                continue
            kept.append(d)
        self.delibs = kept

    def _close(self, delib: _Delib | None) -> None:
        if delib is not None:
            self.delibs.append(delib)
        return None

    def _deliberation_block(self, d: _Delib, b: Block) -> bool:
        if b.kind == "presenter":  # a label alone on its line
            label = b.data["label"]
            if (
                not d.utterances
                and d.qa is None
                and d.presenter_label is None
                and label_role(label) not in COUNCIL_ROLES
            ):
                d.presenter = b
                d.presenter_label = label
                return True
            # a turn whose text starts on the next line
            b.kind = "utterance"
            b.data = {"label": label, "text": ""}
            d.utterances.append(b)
            return True
        if b.kind == "qa_marker":
            d.qa = b
            return True
        if b.kind == "utterance":
            if self._is_presentation(d, b):
                return True
            d.utterances.append(b)
            return True
        if b.kind == "vote":
            d.votes.append(b)
            return True
        if b.kind == "decision":
            d.decisions.append(b)
            return True
        if b.kind == "paragraph" and b.section != "closing":
            if d.decisions:
                i = len(d.decisions) - 1
                if decisions.conditions_follow(d.decisions[i].text()):
                    d.conditions.setdefault(i, []).append(b)
                    return True
                return False
            if d.utterances:
                d.utterances[-1].lines.extend(b.lines)
                return True
            d.paragraphs.append(b)
            return True
        return False

    def _is_presentation(self, d: _Delib, b: Block) -> bool:
        """A department's first turn (``課税課：本諮問は…``) is the explanation, not a turn."""
        label = b.data["label"]
        if d.utterances or d.qa is not None or d.presenter_label is not None:
            return False
        if label_role(label) in COUNCIL_ROLES or not head_is_summary(b.text()):
            return False
        d.presenter_label = label
        if not b.data["text"] and len(b.lines) > 1:
            d.presenter = Block("presenter", b.lines[:1], {"label": label}, b.section)
            d.paragraphs.append(Block("paragraph", b.lines[1:], {}, b.section))
        else:
            d.paragraphs.append(Block("paragraph", b.lines, {"text": b.data["text"]}, b.section))
        return True

    # ------------------------------------------------------------------ meeting head
    def _info(self, b: Block) -> None:
        key = b.data["key"]
        text = b.data["rest"] + "".join(ln.norm for ln in b.lines[1:])
        role = {
            "members": "attendee",
            "absent": "attendee",
            "secretariat": "attendee",
            "staff": "attendee_heading",
        }.get(key, "meeting_info")
        self._mark(b, role)
        if key == "datetime":
            try:
                self.meeting["date"] = jpdate.parse_date(text)
            except ValueError as e:
                self.warn("bad_date", f"date cannot be read: {e}", b.first)
            try:
                start, end = jpdate.parse_time_range(text)
            except ValueError as e:
                start = end = None
                self.warn("bad_time", f"time cannot be read: {e}", b.first)
            self.meeting["start_time"], self.meeting["end_time"] = start, end
            if self.meeting.get("date") is None:
                self.warn("missing_date", f"no date found in {text!r}", b.first)
        elif key == "venue":
            self.meeting["venue"] = _venue(b) or None
        elif key == "observers":
            self.meeting["observers"] = head.observers(text)
            if self.meeting["observers"] is None:
                self.warn(
                    "bad_observers", f"number of observers cannot be read from {text!r}", b.first
                )
        elif key in ("members", "absent"):
            self._members(b, _raw_rest(b), present=(key == "members"))
        elif key == "secretariat":
            self._staff_mode = "secretariat"
            if text:
                self._people(b, _raw_rest(b), role="secretariat", org_text=None, labels=[])
        elif key == "staff":
            self._staff_mode = None  # who is listed is told by the lines below
            if text:  # staff listed on the same line
                self._people(b, _raw_rest(b), role="department", org_text=None, labels=[])

    def _members(self, b: Block, text: str, present: bool) -> None:
        text = RE_MEMBER_COUNT.sub("", text).strip()
        if not text or text.startswith(head.NONE_WORDS):
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
        # staff who came for a 諮問 (諮問ア（…課）…) or are listed under 【実施機関】 are the
        # department's; a plain (課) line elsewhere lists the secretariat
        mode = self._staff_mode
        role = "department" if b.data["labels"] or mode == "department" else "secretariat"
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
        people_titles = [split_person(token) for token in split_list(people)]
        line_org = None
        if not depts:
            # no (課) written: the department a title on the line names (岩田文書法制課長)
            line_org = next(
                (d for _, t in people_titles if t for d in self._departments if d in t), None
            )
        for name, title in people_titles:
            org = None
            row_bureau = bureau
            if len(depts) == 1:
                org = depts[0]
            elif depts:
                org = next((d for d in depts if title and d in title), None)
            elif line_org is not None:
                org = next((d for d in self._departments if title and d in title), line_org)
                row_bureau = self.ref.bureau_of(org)
            row = dict(
                name=name,
                role=role,
                title=title,
                organization=org,
                bureau=row_bureau,
                consultation_labels=list(labels),
                present=True,
                source_line=b.first,
            )
            self.attendees.append(row)
            if org is None and len(depts) > 1:
                self._staff_orgs.append((row, depts))

    def _resolve_staff_orgs(self) -> None:
        """A person listed under two 課 (課税課・市民課) is of the 課 listed for them alone."""
        for row, depts in self._staff_orgs:
            for other in self.attendees:
                if (
                    other is not row
                    and other["name"] == row["name"]
                    and other["title"] == row["title"]
                    and other["organization"] in depts
                ):
                    row["organization"] = other["organization"]
                    break

    def _drop_duplicate_attendees(self) -> None:
        """A name listed twice in one role on one line (a typo) is one person: keep the first.

        Two rows with the same (role, name, source_line) would break the attendees key.
        """
        seen: set[tuple] = set()
        kept = []
        for a in self.attendees:
            key = (a["role"], a["name"], a["source_line"])
            if key in seen:
                self.warn(
                    "duplicate_attendee",
                    f"{a['name']} ({a['role']}) is listed twice on this line; counted once",
                    a["source_line"],
                )
                continue
            seen.add(key)
            kept.append(a)
        self.attendees = kept

    def _split_org(self, org: str) -> tuple[str | None, list[str]]:
        """``市民経済部課税課・市民課`` -> (市民経済部, [課税課, 市民課])."""
        org = org.strip()
        bureau = next((bu for bu in self._bureaus if org.startswith(bu)), None)
        rest = org[len(bureau) :] if bureau else org
        if bureau is None:
            m = RE_BUREAU_DEPT.match(org)
            if m and m.group("bureau"):
                bureau = m.group("bureau")
                rest = m.group("depts")
        depts = [d for d in RE_DEPT_SPLIT.split(rest.strip("・ ")) if d]
        if not depts and bureau and bureau.endswith("課"):
            depts, bureau = [bureau], None
        if bureau is None and depts:
            bureau = self.ref.bureau_of(depts[0])
        return bureau, depts

    def _proceedings(self, b: Block, topic: str) -> None:
        text = b.text()
        if "前回" in topic or head.RE_PREVIOUS.search(text):
            self._mark(b, "previous_minutes")
            prev, signed = head.previous_minutes(text)
            if prev:
                self.meeting["previous_minutes"] = prev
            if signed:
                self.meeting["previous_minutes_signed_by"] = signed
            return
        if "署名" in topic:
            self._mark(b, "signer_designation")
            if name := head.designated_signer(text):
                self.meeting["designated_signer"] = name
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
        # Line.mark, inlined (once a line of every block)
        for ln in b.lines:
            ln.role = role
            if ref is not None:
                ln.ref = ref

    # ------------------------------------------------------------------ assemble
    def _meeting_key(self) -> tuple[str, dict, str | None, int, int]:
        """(municipality, its reference row, council, fiscal year, session) from the title."""
        m = self.meeting
        muni = self.ref.default_municipality()
        municipality = muni["municipality"]
        council = muni.get("council")
        fiscal_year = session = None
        title = m.get("title", "")
        if title:
            try:
                tp = head.title_parts(title)
            except ValueError as e:
                tp = head.TitleParts(None, None, None)
                self.warn("bad_title", f"title cannot be read: {e}", self.title_block.first)
            fiscal_year, session = tp.fiscal_year, tp.session
            if tp.council:
                council_text = tp.council
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
        return municipality, muni, council, fiscal_year, session

    def _assemble(self) -> ParseResult:
        m = self.meeting
        municipality, muni, council, fiscal_year, session = self._meeting_key()
        meeting_id = f"{muni['slug']}-{fiscal_year}-{session:02d}"
        res = ParseResult(meeting_id)
        T = res.tables
        self._resolve_staff_orgs()
        self._drop_duplicate_attendees()
        self._members_present = [
            a for a in self.attendees if a["role"] in COUNCIL_ROLES and a["present"]
        ]

        # consultations, utterances and what they state
        present_depts = self.staff_departments
        n_cons = n_reports = 0
        seq = 0
        seen_ids: set[str] = set()
        seen_groups: set[str] = set()
        for d in self.delibs:
            if not d.headers:
                continue
            prefix = "報告" if d.kind == "report" else ""
            group = _unique(prefix + "・".join(d.labels), seen_groups)
            cons_rows = []
            presenting: list[str] = []
            for h in d.headers:
                seq += 1
                label = h.data["label"]
                cid = _unique(f"{meeting_id}-{prefix}{label}", seen_ids)
                if cid != f"{meeting_id}-{prefix}{label}":
                    self.warn(
                        "duplicate_label",
                        f"agenda label {prefix}{label} is used twice; this item is keyed {cid}",
                        h.first,
                    )
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
                    deliberation_group=group,
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
            if d.presenter_label:
                _, pdepts = self._split_org(d.presenter_label)
                for dep in pdepts:
                    if dep not in presenting:
                        presenting.append(dep)
            if d.presenter:
                self._mark(d.presenter, "presenter", group)
            if d.qa:
                self._mark(d.qa, "qa_marker", group)
            self._statements(d, cons_rows, group, meeting_id, T)
            self._utterances(d, cons_rows, group, meeting_id, presenting, present_depts, T)
            self._decisions(d, cons_rows, group)
            end = max(
                [h.last for h in d.headers]
                + [b.last for b in d.paragraphs + d.utterances + d.votes + d.decisions]
                + [b.last for blocks in d.conditions.values() for b in blocks]
            )
            for row in cons_rows:
                row["source_line_end"] = end
            T["consultations"].extend(cons_rows)

        self._check_people()
        members = [a for a in self.attendees if a["role"] in COUNCIL_ROLES]
        for a in self.attendees:
            T["attendees"].append(dict(meeting_id=meeting_id, **a))
        if not self.delibs:
            self.warn("no_consultations", "no 諮問 or 報告 found on the agenda", None)
        if not any(ln.role == "signature" for ln in self.lines):
            last = self.delibs[-1] if self.delibs else None
            where = ""
            if last is not None and last.headers and not last.decisions:
                where = f"; they end inside the deliberation of {'・'.join(last.labels)}"
            self.warn(
                "truncated_document",
                f"no closing signature block: the minutes may be truncated{where}",
                len(self.lines) or None,
            )

        T["meetings"].append(
            dict(
                meeting_id=meeting_id,
                municipality=municipality,
                council=council,
                title=m.get("title", ""),
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
                is_synthetic=bool(m.get("is_synthetic")),
            )
        )

        # the ledger: every line, and what it became
        for ln in self.lines:
            if ln.role is None:
                ln.mark("unplaced")
                self.warn("unplaced_line", f"line could not be placed: {ln.text[:60]}", ln.no)
        T["source_lines"] = [
            {
                "meeting_id": meeting_id,
                "source_line": ln.no,
                "source_page": ln.page,
                "text": ln.raw,
                "role": ln.role,
                "ref": ln.ref,
            }
            for ln in self.lines
        ]
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
            if RE_SUMMARY.match(text):
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
                                item_norm=to_norm(it.item),
                                item_group=it.group,
                                source_line=line_at(it.offset, starts),
                            )
                        )
            elif RE_REASON.match(text):
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
            self._check_speaker(u, sp)
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
            self._mark(u, kind, f"{group}#{seq}")
            raw = RE_RAW_LABEL.match(u.lines[0].raw)
            rows.append(
                {
                    "meeting_id": meeting_id,
                    "deliberation_group": group,
                    "seq": seq,
                    # the label as written, letter-spacing included (会 長)
                    "speaker_label": raw.group(1) if raw else u.data["label"],
                    "speaker_role": sp.role,
                    "speaker_org": sp.org,
                    "kind": kind,
                    "text": text,
                    "text_norm": to_norm(text),
                    "reply_to": reply_to,
                    "source_line": u.first,
                    "source_line_end": u.last,
                }
            )
            found = follow_ups(text, sp.role, self.ref)
            starts = u.line_starts() if found else []
            for f in found:
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
        self._check_repeats(rows)
        q = sum(1 for r in rows if r["kind"] == "question")
        rm = sum(1 for r in rows if r["kind"] == "remark")
        for row in cons_rows:
            row["questions"], row["remarks"] = q, rm
        T["utterances"].extend(rows)

    def _check_speaker(self, u: Block, sp) -> None:
        """Flag a label that matches no one present (the role read from it is kept)."""
        label = u.data["label"]
        if not sp.resolved:
            self.warn(
                "unknown_speaker", f"speaker label 〔{label}〕 matches no one present", u.first
            )
            return
        members = self._members_present
        if sp.role in COUNCIL_ROLES and members:
            name = label_name(label)
            if name and not any(name.startswith(a["name"]) for a in members):
                self.warn(
                    "unknown_speaker",
                    f"speaker label 〔{label}〕 names {name}, who is not among the members present",
                    u.first,
                )
            elif sp.role == "vice_chair" and not any(a["role"] == "vice_chair" for a in members):
                self.warn(
                    "unknown_speaker",
                    f"speaker label 〔{label}〕: no vice-chair (副会長) is among the members "
                    "present",
                    u.first,
                )
        elif sp.role == "department" and sp.via == "reference" and self.staff_departments:
            self.warn(
                "unknown_speaker",
                f"speaker label 〔{label}〕 reads as {sp.org}, but no one from {sp.org} is "
                "listed among the staff present",
                u.first,
            )

    def _check_repeats(self, rows: list[dict]) -> None:
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
        for v in d.votes:
            self._mark(v, "vote", group)
        by_label = {r["label"]: r for r in cons_rows}
        previous_end = 0
        for i, blk in enumerate(d.decisions):
            text = blk.text()
            self._mark(blk, "decision", group)
            # the vote is the last one taken since the previous decision
            vote_blk = next(
                (v for v in reversed(d.votes) if previous_end < v.first < blk.first), None
            )
            previous_end = blk.last
            decision = decisions.decision_code(text, self.ref.decision_phrases)
            if decision is None:
                self.warn(
                    "decision_unread",
                    f"decision sentence names no known outcome: {text[:60]}",
                    blk.first,
                )
                decision = "unknown"
            targets: list[dict] = []
            for label in decisions.labels_named(text):
                row = by_label.get(label)
                if row is not None and row not in targets:
                    targets.append(row)
            for title in decisions.titles_without_label(text, set(by_label)):
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
                conditions = decisions.conditions_in(text)
                extra = d.conditions.get(i, [])
                for c in extra:
                    self._mark(c, "decision", group)
                if conditions is None and extra:
                    parts = [c.text() for c in extra]
                    heading = decisions.RE_COND_HEADING
                    conditions = "\n".join(p for p in parts if not heading.match(p))
                if not conditions:
                    conditions = None
                    self.warn(
                        "conditions_unread",
                        "decision attaches an opinion or conditions, but their text cannot be "
                        f"found: {text[:60]}",
                        blk.first,
                    )
            else:
                for c in d.conditions.get(i, []):
                    self._unplaced(c)
            if vote_blk is not None:
                vote = vote_blk.data["vote"]
            elif decision in ("withdrawn", "deferred"):
                vote = "none"  # no vote is taken on a withdrawal or a deferral
            else:
                vote = "unknown"
            for row in targets:
                row["decision"] = decision
                row["decision_text"] = text
                row["decision_line"] = blk.first
                row["conditions"] = conditions
                row["vote"] = vote
                self._vote_counts(row, vote_blk)
        if d.votes:
            for row in cons_rows:
                if row["decision_text"] is None:  # a vote was taken, its outcome not recorded
                    row["vote"] = d.votes[-1].data["vote"]
        for row in cons_rows:
            if row["agenda_kind"] == "consultation" and row["decision_text"] is None:
                self.warn(
                    "no_decision", f"諮問 {row['label']} has no decision", row["source_line_start"]
                )

    def _vote_counts(self, row: dict, vote_blk: Block | None) -> None:
        for column, key in _VOTE_COUNT_COLUMNS.items():
            row[column] = vote_blk.data.get(key) if vote_blk is not None else None

    # ------------------------------------------------------------------ people checks
    def _check_people(self) -> None:
        members = [a for a in self.attendees if a["role"] in COUNCIL_ROLES and a["present"]]
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


def _unique(key: str, seen: set[str]) -> str:
    """``key``, or ``key-2``, ``key-3`` … when it is taken; the result is added to ``seen``."""
    out, n = key, 1
    while out in seen:
        n += 1
        out = f"{key}-{n}"
    seen.add(out)
    return out


# SudachiPy refuses input longer than 49,149 bytes; no name and title is near this long.


def head_is_summary(text: str) -> bool:
    return bool(RE_SUMMARY.match(text))


def _raw_rest(b: Block) -> str:
    """An info item's value as written (not width-normalised), wrapped lines joined."""
    first = b.lines[0].text
    rest = b.data["rest"]
    # the value is the tail of the first line; its length is the same in text and norm unless
    # NFKC changed the length of the key part, so find it by the key instead
    key = b.data["label"]
    pos = _key_end(first, key)
    value = first[pos:].lstrip(" \u3000:：") if pos is not None else rest
    return value + "".join(ln.text for ln in b.lines[1:])


def _key_end(text: str, key: str) -> int | None:
    """End of ``key`` in ``text``, the key possibly letter-spaced."""
    i = 0
    for ch in key:
        j = text.find(ch, i)
        if j < 0 or (i and j - i > 2):
            return None
        i = j + 1
    return i


def _venue(b: Block) -> str:
    return _raw_rest(b).strip()
