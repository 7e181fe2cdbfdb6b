"""One gate for hostile input, before any view runs: control characters, over-deep or oversized JSON.

A NUL byte in a path segment, a filter, a form field, a JSON string or an uploaded file's name reaches PostgreSQL
(which refuses NUL in text) or a parser and turns into a server error; other control characters have no place in
what a person types. Refusing them here, once, keeps every view, filter and serializer out of it: a path answers
404 (no such page), anything else 400. Tab, line feed and carriage return stay allowed in fields (text areas).

JSON bodies are bounded in depth (a 5,000-deep body would exhaust the parser's recursion) and in size
(`API_JSON_MAX_BYTES`; Django's `DATA_UPLOAD_MAX_MEMORY_SIZE` already bounds form bodies).
"""

import json
import re

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig
from django.http import Http404, JsonResponse, QueryDict
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, MultiPartParser

from .validation import has_control_character

# C0 controls and DEL, all of them in a path (fields: `hopen.validation.has_control_character`).
_PATH_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

JSON_MAX_DEPTH_DEFAULT = 64
JSON_MAX_BYTES_DEFAULT = 1024 * 1024

MESSAGE_CONTROL = "Requête refusée : caractère de contrôle interdit ({where})."
MESSAGE_DEPTH = "Requête refusée : document JSON trop profond (au plus {limit} niveaux)."
MESSAGE_SIZE = "Requête refusée : document JSON trop volumineux (au plus {limit} octets)."
MESSAGE_JSON = "Requête refusée : document JSON illisible."


class InputRefused(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Does the JSON text nest deeper than `limit`? A linear scan (no recursion), strings skipped."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _check_text(value, where):
    if isinstance(value, str) and has_control_character(value):
        raise InputRefused(MESSAGE_CONTROL.format(where=where))


def _check_query_dict(data: QueryDict, where):
    for key, values in data.lists():
        _check_text(key, where)
        for value in values:
            _check_text(value, where)


def _check_json_value(value):
    """Every key and string of a decoded JSON document (iterative: the depth is already bounded)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_text(item, "corps JSON")
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, "corps JSON")
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)


def _is_json(content_type: str) -> bool:
    main = content_type.split(";", 1)[0].strip().lower()
    return main == "application/json" or main.endswith("+json")


def check_request(request) -> None:
    """Raise Http404 for a hostile path, InputRefused for any other hostile part of the request."""
    if _PATH_CONTROL.search(request.path_info) or _PATH_CONTROL.search(request.path):
        raise Http404("Chemin invalide.")
    _check_query_dict(request.GET, "paramètres de l'adresse")
    content_type = request.META.get("CONTENT_TYPE", "")
    main_type = content_type.split(";", 1)[0].strip().lower()
    if _is_json(content_type):
        limit = getattr(settings, "API_JSON_MAX_BYTES", JSON_MAX_BYTES_DEFAULT)
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
            raise InputRefused(MESSAGE_SIZE.format(limit=limit))
        try:
            raw = request.body
        except RequestDataTooBig:
            raise InputRefused(MESSAGE_SIZE.format(limit=limit)) from None
        if len(raw) > limit:
            raise InputRefused(MESSAGE_SIZE.format(limit=limit))
        if not raw.strip():
            return
        max_depth = getattr(settings, "API_JSON_MAX_DEPTH", JSON_MAX_DEPTH_DEFAULT)
        if json_depth_exceeds(raw, max_depth):
            raise InputRefused(MESSAGE_DEPTH.format(limit=max_depth))
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError):
            raise InputRefused(MESSAGE_JSON) from None
        _check_json_value(document)
    elif request.method == "POST" and main_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _check_form_when_parsed(request)
    # PUT / PATCH forms only reach the API, whose parsers (`GuardedFormParser`, `GuardedMultiPartParser`) check them.


def _check_form(data: QueryDict, files) -> None:
    _check_query_dict(data, "champ de formulaire")
    for key, uploads in files.lists():
        _check_text(key, "nom de fichier")
        for upload in uploads:
            _check_text(upload.name or "", "nom de fichier")


def _check_form_when_parsed(request) -> None:
    """Check a POST form when something first reads it, not here: parsing a multipart body now would run before the
    views that install their own upload handlers (size limits) and bypass them."""
    load = request._load_post_and_files

    def load_and_check():
        load()
        request._load_post_and_files = load  # once
        try:
            _check_form(request._post, request._files)
        except InputRefused as refused:
            raise BadRequest(refused.message) from None

    request._load_post_and_files = load_and_check


class GuardedFormParser(FormParser):
    """The API's form parser with the same refusal as the middleware (DRF parses PUT / PATCH forms itself)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            _check_query_dict(data, "champ de formulaire")
        except InputRefused as refused:
            raise ParseError(refused.message) from None
        return data


class GuardedMultiPartParser(MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        try:
            _check_form(parsed.data, parsed.files)
        except InputRefused as refused:
            raise ParseError(refused.message) from None
        return parsed


class InputGuardMiddleware:
    """Runs `check_request` on every request; a refusal answers before any view (JSON under /api/)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            check_request(request)
        except InputRefused as refused:
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": refused.message}, status=400)
            raise BadRequest(refused.message) from None
        return self.get_response(request)
