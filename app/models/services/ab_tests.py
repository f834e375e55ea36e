"""A/B tests of audiences: a draft's variations checked, sized and saved; a saved test's sizes; deleting a test.

A test splits an audience into Control plus up to five variations, each a whole percentage; Control
holds what the others leave (100 − their sum), so the total is always 100 %. Saved variations are
fixed: the only change is deleting the whole test, which deletes its variations and every connection
made for them. Who is in which variation is decided by app.builder.variants (a hash of the mpid and
the test's seed), so the seed is chosen when a draft begins: the sizes shown before saving are the
sizes the saved test has.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from app.errors import InvalidInput, NotFound
from app.models.services.audiences import AudienceService
from app.models.store.db import Store, emit_after_commit
from app.models.store.schema import (
    MAX_VARIATIONS,
    ABTest,
    ABVariant,
    Audience,
    Connection,
    OutputConfiguration,
)

log = logging.getLogger(__name__)

CONTROL = "Control"
#: Control always keeps at least this much: a variation of no one could be connected but never sent anything.
MIN_CONTROL_PERCENT = 1
MAX_NAME_LENGTH = 60


def default_name(position: int) -> str:
    """The name of the variation at `position` (1 = the first after Control) when the user gives none."""
    return f"Variation {chr(ord('A') + position - 1)}"


@dataclass(frozen=True)
class DraftVariation:
    """A variation being set up (never Control): its share and, optionally, its name."""

    percent: int
    name: str = ""


@dataclass(frozen=True)
class DraftProblem:
    """What is wrong with a draft; `row` is the variation's index in the draft (None: the draft as a whole)."""

    message: str
    row: int | None = None


@dataclass(frozen=True)
class VariationInfo:
    id: int
    #: 0 is Control.
    position: int
    name: str
    percent: int

    @property
    def is_control(self) -> bool:
        return self.position == 0


@dataclass(frozen=True)
class ABTestInfo:
    id: int
    audience_id: int
    seed: str
    created_by: str
    created_at: datetime
    #: Control first.
    variations: tuple[VariationInfo, ...]

    @property
    def percents(self) -> tuple[int, ...]:
        return tuple(v.percent for v in self.variations)

    def variation(self, variant_id: int) -> VariationInfo:
        for found in self.variations:
            if found.id == variant_id:
                return found
        raise NotFound(f"Variation {variant_id} is not part of this A/B test.")


@dataclass(frozen=True)
class VariationConnection:
    """A connection made for one variation: what deleting the test takes with it."""

    connection_id: int
    variant_id: int
    variation_name: str
    output_name: str


@dataclass(frozen=True)
class DeletionImpact:
    test: ABTestInfo
    connections: tuple[VariationConnection, ...]


def control_percent(percents: Sequence[int]) -> int:
    """What Control holds next to the variations' percentages: 100 − their sum."""
    return 100 - sum(percents)


def draft_problems(variations: Sequence[DraftVariation]) -> list[DraftProblem]:
    """Everything wrong with a draft, each message naming the variation; an empty list when it can be saved."""
    found: list[DraftProblem] = []
    if len(variations) > MAX_VARIATIONS:
        found.append(DraftProblem(f"An A/B test has at most {MAX_VARIATIONS} variations besides Control; "
                                  f"this one has {len(variations)}."))
    seen: dict[str, int] = {}
    total = 0
    for row, variation in enumerate(variations):
        name = effective_name(variation, row)
        percent = variation.percent
        if not isinstance(percent, int) or isinstance(percent, bool) or not 1 <= percent <= 100 - MIN_CONTROL_PERCENT:
            found.append(DraftProblem(f"“{name}” needs a whole percentage from 1 to {100 - MIN_CONTROL_PERCENT}, "
                                      f"not {percent!r}.", row))
            continue
        if total + percent > 100 - MIN_CONTROL_PERCENT:
            left = 100 - MIN_CONTROL_PERCENT - total
            found.append(DraftProblem(
                f"{percent} % for “{name}” would take the total past 100 %: Control keeps at least "
                f"{MIN_CONTROL_PERCENT} %, so {max(left, 0)} % is left for it.", row))
            continue
        total += percent
        if len(name) > MAX_NAME_LENGTH:
            found.append(DraftProblem(f"The name “{name[:20]}…” is longer than {MAX_NAME_LENGTH} characters.", row))
        key = name.casefold()
        if key == CONTROL.casefold():
            found.append(DraftProblem(f"“{CONTROL}” is the name of the remainder; give the variation another name.",
                                      row))
        elif key in seen:
            found.append(DraftProblem(f"Two variations are named “{name}”; names must differ (downstream audiences "
                                      "are named after them).", row))
        seen.setdefault(key, row)
    return found


def effective_name(variation: DraftVariation, row: int) -> str:
    """The name the variation is saved under: its own (trimmed), or "Variation A", "B"… by its place."""
    return " ".join(variation.name.split()) or default_name(row + 1)


def check_draft(variations: Sequence[DraftVariation]) -> None:
    """Raise InvalidInput with every problem of the draft, or return when it can be saved."""
    problems = draft_problems(variations)
    if not variations:
        problems.insert(0, DraftProblem(f"Add at least one variation besides {CONTROL} before saving the test."))
    if problems:
        raise InvalidInput(" ".join(p.message for p in problems))


def new_seed() -> str:
    """A fresh seed for a draft: random, so two tests never split users the same way."""
    return secrets.token_hex(8)


def _info(test: ABTest) -> ABTestInfo:
    return ABTestInfo(test.id, test.audience_id, test.seed, test.created_by, test.created_at,
                      tuple(VariationInfo(v.id, v.position, v.name, v.percent)
                            for v in sorted(test.variants, key=lambda v: v.position)))


class ABTestService:
    """The A/B tests of one store's audiences (their sizes: app.engines.variant_sizes)."""

    def __init__(self, store: Store, user: str, audiences: AudienceService) -> None:
        self.store = store
        self.user = user
        self.audiences = audiences

    # -- reading -----------------------------------------------------------------------------------

    def get(self, audience_id: int) -> ABTestInfo | None:
        """The audience's saved test, or None when it has none."""
        with self.store.transaction() as session:
            test = session.scalars(select(ABTest).where(ABTest.audience_id == int(audience_id))).first()
            return _info(test) if test is not None else None

    def audience_ids(self) -> set[int]:
        """The audiences that have a saved test (the audiences list marks them with %)."""
        with self.store.transaction() as session:
            return set(session.scalars(select(ABTest.audience_id)))

    def connections(self, audience_id: int) -> tuple[VariationConnection, ...]:
        """The connections made for the test's variations (not those of the whole audience)."""
        with self.store.transaction() as session:
            rows = session.execute(
                select(Connection.id, ABVariant.id, ABVariant.name, OutputConfiguration.name)
                .join(ABVariant, ABVariant.id == Connection.variant_id)
                .join(OutputConfiguration, OutputConfiguration.id == Connection.configuration_id)
                .where(Connection.audience_id == int(audience_id))
                .order_by(ABVariant.position, OutputConfiguration.name)).all()
        return tuple(VariationConnection(*row) for row in rows)

    # -- changing ----------------------------------------------------------------------------------

    def save(self, audience_id: int, variations: Sequence[DraftVariation], *, seed: str) -> ABTestInfo:
        """Save the draft as the audience's test (Control is added as the remainder); fixed from now on."""
        check_draft(variations)
        if not seed or not isinstance(seed, str):
            raise InvalidInput("An A/B test needs a seed for assigning users; start a new draft.")
        percents = [v.percent for v in variations]
        with self.store.transaction() as session:
            audience = session.get(Audience, int(audience_id))
            if audience is None:
                raise NotFound(f"There is no audience with id {audience_id}.")
            if session.scalars(select(ABTest.id).where(ABTest.audience_id == audience.id)).first() is not None:
                raise InvalidInput(f"Audience “{audience.name}” already has an A/B test. Saved variations cannot "
                                   "be edited; delete the test to set up new ones.")
            test = ABTest(audience_id=audience.id, seed=seed, created_by=self.user)
            test.variants = [ABVariant(position=0, name=CONTROL, percent=control_percent(percents))] + [
                ABVariant(position=row + 1, name=effective_name(v, row), percent=v.percent)
                for row, v in enumerate(variations)]
            session.add(test)
            session.flush()
            emit_after_commit(session, "audience_changed", audience.id)
            info = _info(test)
        log.info("saved an A/B test of audience %s: %s", audience_id,
                 ", ".join(f"{v.name} {v.percent}%" for v in info.variations))
        return info

    def deletion_impact(self, audience_id: int) -> DeletionImpact:
        """What deleting the audience's test takes with it, to tell the user before."""
        return DeletionImpact(self.require(audience_id), self.connections(audience_id))

    def delete(self, audience_id: int) -> DeletionImpact:
        """Delete the test, its variations and every connection made for them, in one transaction."""
        impact = self.deletion_impact(audience_id)
        with self.store.transaction() as session:
            test = session.get(ABTest, impact.test.id)
            if test is None:  # deleted meanwhile: nothing left to do
                return impact
            variant_ids = [v.id for v in test.variants]
            gone = list(session.scalars(select(Connection.id).where(Connection.variant_id.in_(variant_ids))))
            session.execute(delete(Connection).where(Connection.id.in_(gone)))
            session.delete(test)
            for connection_id in gone:
                emit_after_commit(session, "connection_changed", connection_id)
            emit_after_commit(session, "audience_changed", int(audience_id))
        log.info("deleted the A/B test of audience %s and %d variation connections", audience_id, len(gone))
        return impact

    def require(self, audience_id: int) -> ABTestInfo:
        """The audience's saved test; NotFound naming the audience when it has none."""
        test = self.get(audience_id)
        if test is None:
            name = self.audiences.get(int(audience_id)).name
            raise NotFound(f"Audience “{name}” has no A/B test.")
        return test

