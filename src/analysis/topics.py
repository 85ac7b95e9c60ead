"""Question topics: coding rules applied to questions and remarks.

The rule engine arrives with the analysis work; until a rule file exists
(``data/reference/topic_rules.yml``) the table is built empty with its schema.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from analysis.paths import reference_dir as default_reference_dir
from analysis.tables import empty


def code_topics(utterances: pl.DataFrame, reference_dir: Path | None = None) -> pl.DataFrame:
    rules = Path(reference_dir or default_reference_dir()) / "topic_rules.yml"
    if not rules.is_file():
        return empty("question_topics")
    raise NotImplementedError("topic rules are applied by the analysis package")  # pragma: no cover
