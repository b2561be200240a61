"""A local DataCite REST API on 127.0.0.1, for the DOI tests.

DataCite's test instance (api.test.datacite.org) cannot be reached from here,
so this server implements the part of the REST API the archive uses, as
DataCite documents it (https://support.datacite.org/docs/api-create-dois,
.../api-update-dois, .../doi-states):

- JSON:API bodies ``{"data": {"type": "dois", "attributes": {...}}}``, HTTP
  Basic authentication with the repository id and password (401 otherwise),
  and a prefix the repository owns (403 otherwise);
- ``POST /dois`` creates a DOI: 201; an existing DOI is 422 ("This DOI has
  already been taken"); without an ``event`` it is a *draft*, with
  ``register`` *registered*, with ``publish`` *findable*;
- ``GET /dois/<doi>``: 200 with the attributes (``state`` among them), 404
  for an unknown DOI;
- ``PUT /dois/<doi>`` updates attributes and applies an ``event``: 200, 404
  for an unknown DOI (DataCite itself creates the DOI on such a PUT; the
  archive never relies on that), 422 for a transition the state machine does
  not allow (register: draft -> registered; publish: draft or registered ->
  findable; hide: findable -> registered; nothing goes back to draft);
- ``DELETE /dois/<doi>``: 204 for a draft, 405 otherwise;
- registered and findable DOIs need a URL and complete metadata: every
  request body's attributes are validated with the ``datacite`` package's
  schema 4.5 validator, and a body that fails is answered 422 with JSON:API
  errors (``{"errors": [{"status", "source", "title"}]}``), as DataCite does;
  a partial update is validated merged into the stored attributes.

``datacite_server`` -> :class:`DataCiteServer` (reset for each test): its
``url`` is what ``[archive.doi] api_url`` takes; ``requests`` records every
call (method, path, body, status), ``dois`` the stored DOIs;
``fail_with(status, times)`` answers the next calls with an error (500 or
503: DataCite down), ``invalid_bodies`` lists every body that failed schema
validation (tests assert it stays empty).
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest
from datacite import schema45

REPOSITORY_ID = "OIA.TEST"
PASSWORD = "test-password"
PREFIX = "10.80000"

_TRANSITIONS = {
    "register": ({"draft"}, "registered"),
    "publish": ({"draft", "registered"}, "findable"),
    "hide": ({"findable"}, "registered"),
}


@dataclass
class Call:
    method: str
    path: str
    body: Any
    status: int


@dataclass
class DataCiteServer:
    url: str = ""
    dois: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Call] = field(default_factory=list)
    invalid_bodies: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.dois.clear()
            self.requests.clear()
            self.invalid_bodies.clear()
            self.failures.clear()

    def fail_with(self, status: int, times: int = 1) -> None:
        self.failures.extend([status] * times)

    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self.requests if method is None or c.method == method]


def _errors(status: int, *errors: tuple[str, str]) -> tuple[int, dict[str, Any]]:
    return status, {"errors": [{"status": str(status), "source": s, "title": t} for s, t in errors]}


def _schema_errors(attributes: dict[str, Any]) -> list[tuple[str, str]]:
    return [("/".join(str(p) for p in e.path) or "attributes", e.message)
            for e in schema45.validator.iter_errors(attributes)]


def _complete(attributes: dict[str, Any]) -> list[tuple[str, str]]:
    """What a registered or findable DOI lacks (DataCite's "can't be blank" errors)."""
    missing = [(key, "can't be blank") for key in ("url", "creators", "titles", "publisher", "publicationYear",
                                                   "types") if not attributes.get(key)]
    return missing


class _Handler(BaseHTTPRequestHandler):
    server_state: DataCiteServer

    def log_message(self, *args: Any) -> None:  # quiet test output
        pass

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == REPOSITORY_ID and password == PASSWORD

    def _reply(self, status: int, body: dict[str, Any] | None, request_body: Any) -> None:
        state = self.server_state
        with state.lock:
            state.requests.append(Call(self.command, self.path, request_body, status))
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.api+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode("latin-1")

    def _handle(self) -> None:
        state = self.server_state
        body = self._body() if self.command in ("POST", "PUT") else None
        with state.lock:
            failure = state.failures.pop(0) if state.failures else None
        if failure is not None:
            self._reply(*_errors(failure, ("server", "Service unavailable")), body)
            return
        if not self._authorised():
            self._reply(*_errors(401, ("authorization", "Bad credentials.")), body)
            return
        path = self.path.split("?", 1)[0]
        if path == "/dois" and self.command == "POST":
            self._reply(*self._create(body), body)
        elif path.startswith("/dois/"):
            doi = unquote(path[len("/dois/"):]).lower()
            handler = {"GET": self._get, "PUT": self._update, "DELETE": self._delete}.get(self.command)
            if handler is None:
                self._reply(*_errors(405, ("method", "Method not allowed")), body)
            else:
                self._reply(*handler(doi, body), body)
        else:
            self._reply(*_errors(404, ("path", "The resource you are looking for doesn't exist.")), body)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    # ------------------------------------------------------------ endpoints

    def _attributes(self, body: Any, stored: dict[str, Any] | None = None
                    ) -> tuple[dict[str, Any] | None, tuple[int, dict[str, Any]] | None]:
        """The body's attributes, validated (for an update: merged into what is stored, as DataCite
        validates the record that results from a partial update)."""
        if not (isinstance(body, dict) and isinstance(body.get("data"), dict)
                and body["data"].get("type") == "dois" and isinstance(body["data"].get("attributes"), dict)):
            return None, _errors(400, ("data", "A JSON:API document with data.type 'dois' and attributes is required"))
        attributes = body["data"]["attributes"]
        merged = {k: v for k, v in (stored or {}).items() if k != "state"} | attributes
        errors = _schema_errors(merged)
        if errors:
            self.server_state.invalid_bodies.append((attributes, [t for _, t in errors]))
            return None, _errors(422, *errors)
        return attributes, None

    def _document(self, doi: str) -> dict[str, Any]:
        return {"data": {"id": doi, "type": "dois", "attributes": self.server_state.dois[doi]}}

    def _create(self, body: Any) -> tuple[int, dict[str, Any]]:
        attributes, error = self._attributes(body)
        if error:
            return error
        assert attributes is not None
        doi = (attributes.get("doi") or "").lower()
        if not doi:
            prefix = attributes.get("prefix") or ""
            doi = f"{prefix}/{attributes.get('suffix') or uuid.uuid4().hex[:8]}".lower()
        if doi.split("/", 1)[0] != PREFIX:
            return _errors(403, ("doi", "You are not authorized to use this prefix"))
        state = self.server_state
        with state.lock:
            if doi in state.dois:
                return _errors(422, ("doi", "This DOI has already been taken"))
            event = attributes.get("event")
            new_state = "draft" if event is None else _TRANSITIONS.get(event, (set(), None))[1]
            if new_state is None or event == "hide":
                return _errors(422, ("event", f"Event {event!r} is not allowed for a new DOI"))
            stored = {k: v for k, v in attributes.items() if k not in ("event", "prefix", "suffix")}
            stored.update(doi=doi, prefix=PREFIX, suffix=doi.split("/", 1)[1], state=new_state)
            if new_state != "draft":
                missing = _complete(stored)
                if missing:
                    return _errors(422, *missing)
            state.dois[doi] = stored
            return 201, self._document(doi)

    def _get(self, doi: str, body: Any) -> tuple[int, dict[str, Any]]:
        with self.server_state.lock:
            if doi not in self.server_state.dois:
                return _errors(404, ("doi", "The resource you are looking for doesn't exist."))
            return 200, self._document(doi)

    def _update(self, doi: str, body: Any) -> tuple[int, dict[str, Any]]:
        state = self.server_state
        with state.lock:
            if doi not in state.dois:
                return _errors(404, ("doi", "The resource you are looking for doesn't exist."))
            stored = dict(state.dois[doi])
        attributes, error = self._attributes(body, stored)
        if error:
            return error
        assert attributes is not None
        with state.lock:
            current = dict(state.dois[doi])
            event = attributes.get("event")
            if event is not None:
                sources, target = _TRANSITIONS.get(event, (set(), None))
                if target is None or current["state"] not in sources:
                    return _errors(422, ("event", f"Cannot {event} a DOI in state {current['state']}"))
                current["state"] = target
            current.update({k: v for k, v in attributes.items() if k not in ("event", "prefix", "suffix", "doi")})
            if current["state"] != "draft":
                missing = _complete(current)
                if missing:
                    return _errors(422, *missing)
            state.dois[doi] = current
            return 200, self._document(doi)

    def _delete(self, doi: str, body: Any) -> tuple[int, dict[str, Any] | None]:
        with self.server_state.lock:
            if doi not in self.server_state.dois:
                return _errors(404, ("doi", "The resource you are looking for doesn't exist."))
            if self.server_state.dois[doi]["state"] != "draft":
                return _errors(405, ("state", "Only draft DOIs can be deleted"))
            del self.server_state.dois[doi]
            return 204, None


@pytest.fixture(scope="session")
def _datacite_session() -> Any:
    state = DataCiteServer()
    handler = type("Handler", (_Handler,), {"server_state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def datacite_server(_datacite_session: DataCiteServer) -> DataCiteServer:
    _datacite_session.reset()
    return _datacite_session
