"""The certifications' part of the content catalogue (lms/catalog.py): every active certification."""

from __future__ import annotations

from sqlalchemy import select

from ..catalog import CertificationInfo, contribute, frozen
from .models import Certification
from .rules import scenario_minimums


def _catalog_part(session) -> dict:
    return {"certifications": tuple(
        CertificationInfo(c.id, c.slug, c.title, tuple(c.positions or ()), frozen(c.rule or {}), c.version,
                          frozen(scenario_minimums(c.rule or {})))
        for c in session.execute(select(Certification.id, Certification.slug, Certification.title,
                                        Certification.positions, Certification.rule, Certification.version)
                                 .where(Certification.active.is_(True)).order_by(Certification.id)))}


contribute("certification", _catalog_part)
