"""The fake's in-memory store, and the fault-injection controls tests drive.

Everything the REST API, the background callback threads, the phone page and
the test code touch lives here behind one re-entrant lock, because all of them
run on different threads of the same process (``serve_in_thread`` serves each
request on its own thread). Readers always get copies, never live records.

A condition variable is signalled on every change so that tests can wait for
"the callback arrived" with ``wait_for(...)`` instead of sleeping.
"""
from __future__ import annotations

import copy
import threading
import time
from typing import Any, Callable, Iterable, Mapping, TypeVar

from .config import FakeConfig
from .records import (CallRecord, MessageRecord, Notice, RecordedRequest, TranscriptLine,
                      WebhookLog, utcnow)

T = TypeVar("T")

#: Categories accepted by ``set_numbers`` / ``POST /_fake/numbers``.
NUMBER_LISTS = ("invalid", "not_mobile", "opted_out", "no_answer", "busy")


class FakeTwilioState:
    """All records and rules of one fake Twilio; every method is thread-safe."""

    def __init__(self, config: FakeConfig | None = None) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._initial_config = copy.deepcopy(config or FakeConfig())
        self.config = copy.deepcopy(self._initial_config)
        self._version = 0
        # Who holds each number, as the product told us (the fake knows no people of its own). Kept
        # across reset(), like the start-up configuration: it describes the phones, not a test's traffic.
        self._names: dict[str, str] = {}
        self._clear()

    def _clear(self) -> None:
        self._seq = 0
        self._messages: dict[str, MessageRecord] = {}
        self._calls: dict[str, CallRecord] = {}
        self._requests: list[RecordedRequest] = []
        self._webhooks: list[WebhookLog] = []
        self._notices: list[Notice] = []
        self._fail_count = 0
        self._fail_until: float | None = None
        self._fail_rule: tuple[int, int | None, str | None] | None = None
        self._number_lists: dict[str, set[str]] = {name: set() for name in NUMBER_LISTS}
        self._undeliverable: dict[str, tuple[int, str]] = {}

    # -- bookkeeping ---------------------------------------------------------

    def _touch(self) -> None:
        """Call with the lock held after any change: wakes ``wait_for``."""
        self._version += 1
        self._changed.notify_all()

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    @property
    def version(self) -> int:
        """Grows on every change; the phone page polls it to know when to redraw."""
        with self._lock:
            return self._version

    def reset(self) -> None:
        """Forget everything and restore the configuration given at start-up."""
        with self._lock:
            self._clear()
            self.config = copy.deepcopy(self._initial_config)
            self._touch()

    def configure(self, **values: Any) -> dict[str, Any]:
        """Change config keys at run time (``CALLBACK_DELAY_SECONDS=0`` ...)."""
        with self._lock:
            self.config.update(values)
            self._touch()
            return self.config.as_dict()

    def settings(self) -> dict[str, Any]:
        """A copy of the whole current configuration."""
        with self._lock:
            return self.config.as_dict()

    def setting(self, key: str) -> Any:
        with self._lock:
            return getattr(self.config, key)

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Block until ``predicate()`` is truthy and return it; TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"fake Twilio: condition not met within {timeout}s")
                # Changes wake us at once; the short cap also catches time-based predicates.
                self._changed.wait(min(remaining, 0.05))

    # -- background threads --------------------------------------------------

    def pause(self, seconds: float) -> bool:
        """Sleep for a lifecycle step; False when the fake is shutting down."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)

    def shutdown(self) -> None:
        """Tell callback threads to stop at their next step."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # -- fault injection -----------------------------------------------------

    def fail_next(self, status: int = 503, count: int = 1, code: int | None = None,
                  message: str | None = None) -> None:
        """The next ``count`` create requests (messages and calls) answer ``status``."""
        with self._lock:
            self._fail_rule = (int(status), code, message)
            self._fail_count = int(count)
            self._fail_until = None
            self._touch()

    def fail_for(self, status: int = 503, seconds: float = 10.0, code: int | None = None,
                 message: str | None = None) -> None:
        """Every create request for the next ``seconds`` answers ``status``."""
        with self._lock:
            self._fail_rule = (int(status), code, message)
            self._fail_count = 0
            self._fail_until = time.monotonic() + float(seconds)
            self._touch()

    def clear_failures(self) -> None:
        with self._lock:
            self._fail_rule, self._fail_count, self._fail_until = None, 0, None
            self._touch()

    def take_failure(self) -> tuple[int, int | None, str | None] | None:
        """Consume one injected failure, if any is armed: (status, code, message)."""
        with self._lock:
            if self._fail_rule is None:
                return None
            if self._fail_count > 0:
                self._fail_count -= 1
                return self._fail_rule
            if self._fail_until is not None and time.monotonic() < self._fail_until:
                return self._fail_rule
            return None

    def set_numbers(self, invalid: Iterable[str] | None = None,
                    not_mobile: Iterable[str] | None = None,
                    opted_out: Iterable[str] | None = None,
                    undeliverable: Mapping[str, Any] | None = None,
                    no_answer: Iterable[str] | None = None,
                    busy: Iterable[str] | None = None) -> dict[str, Any]:
        """Per-number behaviour. Each category given replaces that category only.

        ``undeliverable`` maps a number to an error code (``{"+86...": 30003}``,
        ends ``undelivered``) or to ``{"code": 30008, "status": "failed"}``.
        """
        given = {"invalid": invalid, "not_mobile": not_mobile, "opted_out": opted_out,
                 "no_answer": no_answer, "busy": busy}
        with self._lock:
            for name, numbers in given.items():
                if numbers is not None:
                    self._number_lists[name] = {str(n) for n in numbers}
            if undeliverable is not None:
                self._undeliverable = {
                    str(number): _delivery_rule(rule) for number, rule in undeliverable.items()
                }
            self._touch()
            return self.numbers()

    def numbers(self) -> dict[str, Any]:
        with self._lock:
            rules: dict[str, Any] = {name: sorted(v) for name, v in self._number_lists.items()}
            rules["undeliverable"] = {
                number: {"code": code, "status": status}
                for number, (code, status) in self._undeliverable.items()
            }
            return rules

    def number_is(self, category: str, number: str) -> bool:
        with self._lock:
            return number in self._number_lists[category]

    def delivery_failure(self, number: str) -> tuple[int, str] | None:
        """(error code, final status) when messages to ``number`` must not arrive."""
        with self._lock:
            return self._undeliverable.get(number)

    # -- requests and webhooks -----------------------------------------------

    def record_request(self, request: RecordedRequest) -> RecordedRequest:
        with self._lock:
            self._requests.append(request)
            self._touch()
            return request

    def set_response_status(self, request: RecordedRequest, status: int) -> None:
        with self._lock:
            request.response_status = status
            self._touch()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every REST request received, oldest first (copies)."""
        with self._lock:
            return [copy.deepcopy(r) for r in self._requests]

    def log_webhook(self, entry: WebhookLog) -> None:
        with self._lock:
            self._webhooks.append(entry)
            self._touch()

    def webhooks(self, kind: str | None = None) -> list[WebhookLog]:
        """HTTP requests the fake made to the product (callbacks, webhooks), oldest first."""
        with self._lock:
            return [copy.deepcopy(w) for w in self._webhooks if kind in (None, w.kind)]

    # -- messages ------------------------------------------------------------

    def add_message(self, record: MessageRecord) -> dict[str, Any]:
        with self._lock:
            record.seq = self._next_seq()
            self._messages[record.sid] = record
            self._touch()
            return record.to_resource()

    def update_message(self, sid: str, **changes: Any) -> dict[str, Any] | None:
        """Change fields of a message; None when it no longer exists (after reset)."""
        with self._lock:
            record = self._messages.get(sid)
            if record is None:
                return None
            for name, value in changes.items():
                setattr(record, name, value)
            record.date_updated = utcnow()
            self._touch()
            return record.to_resource()

    def delete_message(self, sid: str) -> bool:
        with self._lock:
            removed = self._messages.pop(sid, None) is not None
            self._touch()
            return removed

    def get_message(self, sid: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._messages.get(sid)
            return record.to_resource() if record else None

    def message_record(self, sid: str) -> MessageRecord | None:
        with self._lock:
            record = self._messages.get(sid)
            return copy.deepcopy(record) if record else None

    def messages(self, to: str | None = None, from_: str | None = None) -> list[dict[str, Any]]:
        """Message resources, oldest first, optionally filtered by To / From."""
        with self._lock:
            return [
                m.to_resource() for m in sorted(self._messages.values(), key=lambda m: m.seq)
                if (to is None or m.to == to) and (from_ is None or m.from_ == from_)
            ]

    # -- calls ---------------------------------------------------------------

    def add_call(self, record: CallRecord) -> dict[str, Any]:
        with self._lock:
            record.seq = self._next_seq()
            self._calls[record.sid] = record
            self._touch()
            return record.to_resource()

    def update_call(self, sid: str, *, transcript: Iterable[TranscriptLine] = (),
                    only_if: Iterable[str] | None = None,
                    **changes: Any) -> dict[str, Any] | None:
        """Change call fields and append transcript lines.

        With ``only_if`` the change happens only while the call's status is one
        of those (so a hang-up is never overwritten by a late "answered").
        Returns None when nothing was changed.
        """
        with self._lock:
            record = self._calls.get(sid)
            if record is None or (only_if is not None and record.status not in only_if):
                return None
            for name, value in changes.items():
                setattr(record, name, value)
            record.transcript.extend(transcript)
            record.date_updated = utcnow()
            self._touch()
            return record.to_resource()

    def next_callback_sequence(self, sid: str) -> int:
        with self._lock:
            record = self._calls.get(sid)
            if record is None:
                return 0
            sequence = record.callback_sequence
            record.callback_sequence += 1
            return sequence

    def delete_call(self, sid: str) -> bool:
        with self._lock:
            removed = self._calls.pop(sid, None) is not None
            self._touch()
            return removed

    def get_call(self, sid: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._calls.get(sid)
            return record.to_resource() if record else None

    def call_record(self, sid: str) -> CallRecord | None:
        with self._lock:
            record = self._calls.get(sid)
            return copy.deepcopy(record) if record else None

    def calls(self, to: str | None = None, from_: str | None = None) -> list[dict[str, Any]]:
        """Call resources, oldest first, optionally filtered by To / From."""
        with self._lock:
            return [
                c.to_resource() for c in sorted(self._calls.values(), key=lambda c: c.seq)
                if (to is None or c.to == to) and (from_ is None or c.from_ == from_)
            ]

    # -- phone page ----------------------------------------------------------

    def add_notice(self, phone: str, text: str, level: str = "info") -> None:
        with self._lock:
            self._notices.append(Notice(phone=phone, text=text, level=level, seq=self._next_seq()))
            self._touch()

    def thread(self, phone: str) -> list[MessageRecord | CallRecord | Notice]:
        """Messages, calls and notices of one handset, oldest first (copies)."""
        with self._lock:
            items: list[Any] = [m for m in self._messages.values() if m.phone == phone]
            items += [c for c in self._calls.values() if c.phone == phone]
            items += [n for n in self._notices if n.phone == phone]
            return [copy.deepcopy(i) for i in sorted(items, key=lambda i: i.seq)]

    def set_names(self, names: dict[str, str], replace: bool = True) -> dict[str, str]:
        """Name the holders of numbers (``{"+8613...": "Wang Electric, technician"}``) for the phone page.
        An empty name forgets the number."""
        with self._lock:
            if replace:
                self._names = {}
            for number, name in names.items():
                if name:
                    self._names[str(number)] = str(name)[:100]
                else:
                    self._names.pop(str(number), None)
            self._touch()
            return dict(self._names)

    def names(self) -> dict[str, str]:
        with self._lock:
            return dict(self._names)

    def name_of(self, number: str) -> str | None:
        with self._lock:
            return self._names.get(number)

    def phones(self) -> list[dict[str, Any]]:
        """One summary per handset seen, the most recently active first."""
        with self._lock:
            summary: dict[str, dict[str, Any]] = {}
            for item in list(self._messages.values()) + list(self._calls.values()):
                entry = summary.setdefault(item.phone, {
                    "number": item.phone, "name": self._names.get(item.phone), "messages": 0, "calls": 0,
                    "last_seq": 0, "last_at": item.date_created, "last_text": "",
                })
                entry["messages" if isinstance(item, MessageRecord) else "calls"] += 1
                if item.seq > entry["last_seq"]:
                    entry["last_seq"], entry["last_at"] = item.seq, item.date_created
                    entry["last_text"] = (item.body if isinstance(item, MessageRecord)
                                          else f"Call ({item.status})")
            return sorted(summary.values(), key=lambda e: e["last_seq"], reverse=True)

    def last_sender_to(self, phone: str) -> str | None:
        """The product number that last texted or called ``phone`` (reply target)."""
        with self._lock:
            items: list[Any] = [m for m in self._messages.values()
                                if m.phone == phone and m.direction != "inbound" and m.from_]
            items += [c for c in self._calls.values() if c.phone == phone]
            if not items:
                return None
            return max(items, key=lambda i: i.seq).from_


def _delivery_rule(rule: Any) -> tuple[int, str]:
    """Normalise an ``undeliverable`` value to (error code, final status)."""
    if isinstance(rule, Mapping):
        status = str(rule.get("status", "undelivered"))
        if status not in ("undelivered", "failed"):
            raise ValueError("undeliverable status must be 'undelivered' or 'failed'")
        return int(rule.get("code", 30003)), status
    return int(rule), "undelivered"
