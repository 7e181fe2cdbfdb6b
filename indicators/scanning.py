"""Virus scan of uploaded files by a ClamAV daemon (clamd), over its INSTREAM protocol.

The protocol (clamd(8)): send the command ``zINSTREAM\\0``, then the file as chunks, each prefixed by
its length as a 4-byte unsigned big-endian integer, then a zero-length chunk (four zero bytes) to end
the stream. clamd answers one NUL-terminated line:

    stream: OK                              the file is clean
    stream: Eicar-Signature FOUND           the file matched that signature
    INSTREAM size limit exceeded. ERROR     (or any "... ERROR"): the scan did not happen

The daemon is reached through ``settings.CLAMD_SOCKET`` (a Unix socket path) or ``settings.CLAMD_HOST`` /
``settings.CLAMD_PORT`` (TCP). With neither, no scanner is configured and files are marked "not scanned".
"""

import logging
import socket
import struct
from dataclasses import dataclass

from django.conf import settings

from .models import ScanStatus

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
REPLY_MAX_LENGTH = 4096
DEFAULT_TIMEOUT = 60.0


class ScanError(Exception):
    """The scan could not be done (daemon unreachable, protocol error, limit exceeded): retry later."""


@dataclass(frozen=True)
class ScanResult:
    infected: bool
    signature: str = ""

    @property
    def detail(self) -> str:
        return f"Signature détectée : {self.signature}" if self.infected else "Aucune menace détectée"


def scanner_configured() -> bool:
    return bool(getattr(settings, "CLAMD_SOCKET", "") or getattr(settings, "CLAMD_HOST", ""))


def parse_instream_reply(reply: bytes) -> ScanResult:
    """Read clamd's answer to INSTREAM; anything but a clean or infected verdict raises ScanError."""
    text = reply.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
    if not text:
        raise ScanError("clamd n'a rien répondu.")
    if text.endswith("ERROR"):
        raise ScanError(f"clamd a signalé une erreur : {text}")
    prefix, _, verdict = text.partition(":")
    if prefix.strip() != "stream" or not verdict:
        raise ScanError(f"Réponse inattendue de clamd : {text!r}")
    verdict = verdict.strip()
    if verdict == "OK":
        return ScanResult(infected=False)
    if verdict.endswith(" FOUND"):
        signature = verdict[: -len(" FOUND")].strip()
        if signature:
            return ScanResult(infected=True, signature=signature)
    raise ScanError(f"Réponse inattendue de clamd : {text!r}")


def _read_reply(sock) -> bytes:
    reply = b""
    while b"\0" not in reply and len(reply) < REPLY_MAX_LENGTH:
        data = sock.recv(REPLY_MAX_LENGTH)
        if not data:
            break
        reply += data
    return reply


def _connect(*, socket_path, host, port, timeout):
    if socket_path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(socket_path)
        except BaseException:
            sock.close()
            raise
        return sock
    return socket.create_connection((host, port), timeout=timeout)


def clamd_instream(fileobj, *, socket_path="", host="", port=3310, timeout=DEFAULT_TIMEOUT, chunk_size=CHUNK_SIZE) -> ScanResult:
    """Stream `fileobj` (opened in binary mode, read from its current position) to clamd and return its verdict.

    Raises ScanError when the daemon cannot be reached or gives no verdict.
    """
    if not socket_path and not host:
        raise ScanError("Aucun antivirus n'est configuré (CLAMD_SOCKET ou CLAMD_HOST).")
    try:
        sock = _connect(socket_path=socket_path, host=host, port=port, timeout=timeout)
    except OSError as exc:
        raise ScanError(f"clamd injoignable : {exc}") from exc
    with sock:
        try:
            sock.sendall(b"zINSTREAM\0")
            while True:
                chunk = fileobj.read(chunk_size)
                if not chunk:
                    break
                sock.sendall(struct.pack(">I", len(chunk)) + chunk)
            sock.sendall(struct.pack(">I", 0))
        except OSError as exc:
            # clamd closes the connection early when the stream exceeds its StreamMaxLength: read why.
            try:
                reply = _read_reply(sock)
            except OSError:
                reply = b""
            if reply:
                return parse_instream_reply(reply)
            raise ScanError(f"Connexion à clamd interrompue : {exc}") from exc
        try:
            reply = _read_reply(sock)
        except OSError as exc:
            raise ScanError(f"Réponse de clamd non reçue : {exc}") from exc
    return parse_instream_reply(reply)


def scan_file(fileobj, *, timeout: float | None = None) -> ScanResult:
    """Scan with the configured daemon (settings CLAMD_SOCKET, or CLAMD_HOST and CLAMD_PORT)."""
    return clamd_instream(
        fileobj,
        socket_path=getattr(settings, "CLAMD_SOCKET", ""),
        host=getattr(settings, "CLAMD_HOST", ""),
        port=int(getattr(settings, "CLAMD_PORT", 3310)),
        timeout=float(timeout if timeout is not None else getattr(settings, "CLAMD_TIMEOUT", DEFAULT_TIMEOUT)),
    )


SCAN_MAX_RETRIES = 12
SCAN_RETRY_MAX_DELAY = 3600  # seconds


def scan_pending_document(task, document, record, *, label: str) -> str:
    """The body of every scan task (justificatory documents, AMI attachments, GHT documents): scan a pending
    private document with clamd and hand the verdict to `record(document, status, detail)` (the owning app's
    service, which writes and audits it). A missing document answers "missing"; one already scanned (a redelivered
    message) its status. A scan error (daemon down, timeout, protocol error) leaves the file pending — hence not
    downloadable — and retries with an exponential delay; `label` names the document in the log."""
    if document is None:
        return "missing"
    if document.scan_status != ScanStatus.PENDING:
        return document.scan_status
    if not scanner_configured():
        status, detail = ScanStatus.NOT_SCANNED, "Aucun antivirus configuré au moment de l'analyse"
    else:
        try:
            with document.file.open("rb") as stored:
                result = scan_file(stored)
        except (ScanError, OSError) as exc:
            delay = min(SCAN_RETRY_MAX_DELAY, 30 * 2**task.request.retries)
            logger.warning("Analyse antivirus de %s impossible (%s) : nouvel essai dans %s s", label, exc, delay)
            raise task.retry(exc=exc, countdown=delay)
        status = ScanStatus.INFECTED if result.infected else ScanStatus.CLEAN
        detail = result.detail
    record(document, status, detail)
    return status
