"""Emergency plans (应急预案): written steps, people to call and isolation points for one kind of fault.

A plan's content lives in numbered versions that never change once published: editing a plan
publishes a new version, and a ticket keeps the version it was handled under.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.names import Bilingual
from models.base import UTCDateTime, db


class EmergencyPlan(db.Model):
    """Which P1 tickets a plan applies to (its rule); the content is in its versions.

    The rule: the ticket's trade; if `criticality` is set, only wards of that criticality; if
    `keywords` is set, only when one of them appears in the fault's description. Of the plans that
    apply, the one with a matching keyword wins, then the one for the ward's criticality.
    """

    __tablename__ = "emergency_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"), index=True)
    criticality: Mapped[str | None] = mapped_column(String(20))
    # Comma-separated words or phrases, any language, matched case-insensitively.
    keywords: Mapped[str | None] = mapped_column(String(300))
    # A retired plan is never chosen for new tickets; tickets that have it keep it.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    current_number: Mapped[int] = mapped_column(Integer, default=0)
    trade: Mapped["Trade"] = relationship()  # noqa: F821
    versions: Mapped[list[EmergencyPlanVersion]] = relationship(
        back_populates="plan", order_by="EmergencyPlanVersion.number", passive_deletes="all"
    )

    @property
    def current(self) -> EmergencyPlanVersion | None:
        return next((v for v in self.versions if v.number == self.current_number), None)

    @property
    def keyword_list(self) -> list[str]:
        return [k.strip() for k in (self.keywords or "").split(",") if k.strip()]


class EmergencyPlanVersion(Bilingual, db.Model):
    """One published text of a plan. Never updated, never deleted."""

    __tablename__ = "emergency_plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("emergency_plan.id"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(160))
    bilingual_field = "title"
    title_zh: Mapped[str | None] = mapped_column(String(160))
    summary: Mapped[str | None] = mapped_column(Text)
    # ["Confirm which beds have lost power", ...] in the order they are done.
    steps: Mapped[list] = mapped_column(JSON)
    # [{"name": "Duty electrician (HV)", "phone": "+86..."}, ...]
    contacts: Mapped[list] = mapped_column(JSON)
    # [{"what": "ICU essential supply", "where": "Switch room A3, panel EPS-3"}, ...]
    isolation_points: Mapped[list] = mapped_column(JSON)
    change_note: Mapped[str | None] = mapped_column(String(300))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    plan: Mapped[EmergencyPlan] = relationship(back_populates="versions")
    published_by: Mapped["User | None"] = relationship()  # noqa: F821

    @property
    def label(self) -> str:
        return f"{self.title} v{self.number}"


class TicketPlanStep(db.Model):
    """A plan step ticked off on a ticket: when and by whom (also written to the ticket's history)."""

    __tablename__ = "ticket_plan_step"
    __table_args__ = (UniqueConstraint("ticket_id", "plan_version_id", "step_index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("emergency_plan_version.id"))
    # 0-based position in the version's steps.
    step_index: Mapped[int] = mapped_column(Integer)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    done_by: Mapped["User | None"] = relationship()  # noqa: F821


class PublishedPlanError(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _published_versions_never_change(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, EmergencyPlanVersion) and (obj in session.deleted or session.is_modified(obj)):
            raise PublishedPlanError("a published plan version never changes; publish a new one")
