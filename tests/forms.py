"""The forms on a page as a browser sees them (html.parser), and a crawl of every page a person can open: what
the CSRF tests, the access matrix and the form fuzzing post back."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from werkzeug.exceptions import HTTPException

# Files and machine answers, not pages with forms or links to follow.
NOT_PAGES = (".csv", ".xlsx", ".pdf", ".svg", ".ics", ".json", ".png", ".js", ".css")
NOT_CRAWLED = ("/static/", "/api/", "/metrics", "/sms/", "/voice/")


@dataclass
class Field:
    name: str
    kind: str  # input type, "select", "textarea" or "button"
    value: str = ""
    checked: bool = False
    options: list[tuple[str, bool]] = field(default_factory=list)  # (value, selected)
    multiple: bool = False


@dataclass
class Form:
    page: str  # where it was rendered
    method: str
    action: str  # absolute path, query kept
    enctype: str
    element_id: str | None
    fields: list[Field] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(f.name for f in self.fields))

    def has_csrf_token(self) -> bool:
        return any(f.name.endswith("csrf_token") and f.kind == "hidden" and f.value for f in self.fields)

    def submission(self) -> dict[str, str | list[str]]:
        """What pressing the first submit button sends: checked boxes only, each select's chosen option (or its
        first), and the first named button. The CSRF token is left out: the sender adds its own."""
        data: dict[str, list[str]] = {}
        pressed = False
        for item in self.fields:
            if item.name.endswith("csrf_token") or item.kind == "file":
                continue
            if item.kind in ("checkbox", "radio"):
                if item.checked:
                    data.setdefault(item.name, []).append(item.value or "on")
                continue
            if item.kind in ("submit", "button"):
                if not pressed:
                    data.setdefault(item.name, []).append(item.value)
                    pressed = True
                continue
            if item.kind == "select":
                chosen = [value for value, selected in item.options if selected] or [v for v, _s in item.options[:1]]
                for value in chosen if item.multiple else chosen[:1]:
                    data.setdefault(item.name, []).append(value)
                continue
            data.setdefault(item.name, []).append(item.value)
        return {name: values[0] if len(values) == 1 else values for name, values in data.items()}


class PageParser(HTMLParser):
    """Forms (with fields that join them from outside through form="id") and links."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._open: Form | None = None
        self._outside: list[tuple[str, Field]] = []  # (form id, field) for fields outside their form
        self._select: Field | None = None
        self._option: tuple[str, bool] | None = None
        self._option_text = ""
        self._textarea: Field | None = None

    def _add(self, attrs: dict, item: Field) -> None:
        if attrs.get("form"):
            self._outside.append((attrs["form"], item))
        elif self._open is not None:
            self._open.fields.append(item)

    def handle_starttag(self, tag: str, attrs_list) -> None:
        attrs = {k: (v if v is not None else "") for k, v in attrs_list}
        if tag == "a" and attrs.get("href"):
            self.links.append(urljoin(self.page, attrs["href"]))
        elif tag == "form":
            action = urljoin(self.page, attrs.get("action", "")).split("#")[0]
            self._open = Form(self.page, (attrs.get("method") or "get").lower(), _path(action),
                              attrs.get("enctype", "application/x-www-form-urlencoded"), attrs.get("id"))
            self.forms.append(self._open)
        elif tag == "input" and attrs.get("name"):
            kind = (attrs.get("type") or "text").lower()
            self._add(attrs, Field(attrs["name"], kind, attrs.get("value", "on" if kind in ("checkbox", "radio") else ""),
                                   checked="checked" in attrs))
        elif tag == "button" and attrs.get("name"):
            self._add(attrs, Field(attrs["name"], (attrs.get("type") or "submit").lower(), attrs.get("value", "")))
        elif tag == "select" and attrs.get("name"):
            self._select = Field(attrs["name"], "select", multiple="multiple" in attrs)
            self._add(attrs, self._select)
        elif tag == "option" and self._select is not None:
            self._option = (attrs.get("value"), "selected" in attrs)
            self._option_text = ""
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = Field(attrs["name"], "textarea")
            self._add(attrs, self._textarea)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data
        if self._option is not None:
            self._option_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None
        elif tag == "select":
            self._close_option()
            self._select = None
        elif tag == "option":
            self._close_option()
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the one newline that follows <textarea>.
            self._textarea.value = self._textarea.value.removeprefix("\r\n").removeprefix("\n")
            self._textarea = None

    def _close_option(self) -> None:
        if self._option is not None and self._select is not None:
            value, selected = self._option
            self._select.options.append((self._option_text.strip() if value is None else value, selected))
        self._option = None

    def close(self) -> None:
        super().close()
        by_id = {f.element_id: f for f in self.forms if f.element_id}
        for form_id, item in self._outside:
            if form_id in by_id:
                by_id[form_id].fields.append(item)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def parse_page(html: str, page: str) -> PageParser:
    parser = PageParser(urljoin("http://localhost/", page))
    parser.feed(html)
    parser.close()
    return parser


def forms_on(html: str, page: str) -> list[Form]:
    return parse_page(html, page).forms


def endpoint_of(app, form: Form) -> str | None:
    """The endpoint a form is sent to, or None when no route takes that method at that address."""
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _args = adapter.match(form.action.split("?")[0], method=form.method.upper())
    except HTTPException:
        return None
    return endpoint


@dataclass
class Crawl:
    pages: dict[str, int] = field(default_factory=dict)  # url -> status
    forms: list[Form] = field(default_factory=list)


def crawl(client, start: list[str], limit: int = 250) -> Crawl:
    """Every page reachable by links from `start`, as the client's person. One page per path and set of query
    parameter names (a report's drill-downs differ only in values); files, the API and the webhooks are left
    out. Responses are closed, so a streamed one never outlives its request."""
    found = Crawl()
    seen: set[tuple[str, frozenset[str]]] = set()
    queue = deque(start)
    while queue and len(found.pages) < limit:
        url = queue.popleft()
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or parts.scheme not in ("", "http"):
            continue
        path = parts.path
        if path.endswith(NOT_PAGES) or path.startswith(NOT_CRAWLED):
            continue
        key = (path, frozenset(name.split("=")[0] for name in parts.query.split("&") if name))
        if key in seen:
            continue
        seen.add(key)
        target = _path(url)
        response = client.get(target)
        try:
            found.pages[target] = response.status_code
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            parsed = parse_page(response.get_data(as_text=True), target)
        finally:
            response.close()
        found.forms.extend(parsed.forms)
        queue.extend(link.split("#")[0] for link in parsed.links)
    return found
