"""Manual review of a sample (the seeds' 5-10 %): a stratified sample, a local page, agreement figures.

Layout: ``sample.py`` draws the seeded stratified sample (``_kinds.py``: per kind, the strata and what
"agree" means), ``store.py`` keeps it and every verdict in SQLite beside the data, ``server.py`` serves
the page (``assets/``) on 127.0.0.1 behind a token, ``stats.py`` and ``report.py`` give the figures and
the ``review_disagreement`` gate. Docs: docs/review.md.
"""

from alignforge.review.report import MAX_DISAGREEMENT, format_report, review_figures, review_report
from alignforge.review.sample import Item, Sample, draw_sample
from alignforge.review.store import ReviewStore, open_review, store_path

__all__ = [
    "Item",
    "MAX_DISAGREEMENT",
    "ReviewStore",
    "Sample",
    "draw_sample",
    "format_report",
    "open_review",
    "review_figures",
    "review_report",
    "store_path",
]
