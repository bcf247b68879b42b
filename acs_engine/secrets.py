"""Secret parameters: which ones they are, masking their values, and keeping them out of logs.

A CPE's data model holds passwords and keys: ``ManagementServer.Password`` (what the CPE
authenticates to the ACS with), ``ConnectionRequestPassword`` and ``STUNPassword``, Wi-Fi
keys (``KeyPassphrase``, ``PreSharedKey``, ``WEPKey``, ``SAEPassphrase``), PPP and user
passwords, VoIP ``AuthPassword``, RADIUS secrets. FieldACS never writes them to a log and
shows them masked unless the user asks to see them.

- :func:`is_secret` tells whether a parameter path (TR-098 or TR-181, vendor ``X_`` names
  included) holds a secret. The rule looks at the last path segment only, so it holds for
  every instance number and for partial paths.
- :func:`mask` turns a value into :data:`MASK` (an empty value stays empty: that it is
  empty is worth seeing and gives nothing away).
- :func:`mask_soap` masks secret values inside a SOAP envelope (a wire trace to show or
  export), well-formed or not, leaving every other byte as it was.
- :class:`SecretFilter` is a :mod:`logging` filter that redacts secrets from log records;
  :func:`install_log_redaction` puts it on the handlers of a logger (the root by default).

Note the module name: inside ``acs_engine`` absolute imports keep ``import secrets`` meaning
the standard library; import this one as ``from acs_engine import secrets as secret_params``
or by its functions.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Iterable

__all__ = [
    "MASK",
    "SecretFilter",
    "forget_secret",
    "install_log_redaction",
    "is_secret",
    "mask",
    "mask_soap",
    "mask_url_passwords",
    "redact_text",
    "register_secret",
]

#: What a secret value is shown as (fixed length: the real length is not revealed).
MASK = "********"

#: Last path segments (lower-cased) that hold secrets whatever their parents are.
_EXACT = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "keypassphrase",
        "presharedkey",
        "psk",
        "wepkey",
        "saepassphrase",
        "secret",
        "sharedsecret",
        "radiussecret",
        "secondaryradiussecret",
        "privatekey",
        "pin",
        "wpspin",
        "devicepassword",
        "authpassword",
        "connectionrequestpassword",
        "stunpassword",
    }
)
#: Suffixes (lower-cased) of a last segment that hold secrets: ``X_ACME_AdminPassword``,
#: ``RadiusSecret``, ``X_HW_PreSharedKey``, ``WEPKey1``...
_SUFFIXES = ("password", "passwd", "passphrase", "presharedkey", "secret", "privatekey")
#: Spellings matched anywhere in the last segment (``WEPKey1``, ``X_WEPKeyValue``,
#: ``X_HW_PSKValue``, ``X_ACME_SecretValue``, ``X_ACME_Password_Hash``).
_CONTAINS = ("wepkey", "presharedkey", "passphrase", "psk", "secret", "password", "passwd")
#: Last segments that look like secrets but are not (a flag or a policy, not the secret).
_NOT_SECRET = frozenset(
    {
        "passwordenable",
        "passwordrequired",
        "passwordreset",
        "passwordpolicy",
        "passwordminlength",
        "passwordexpiry",
        "secretenable",
        "wepkeyindex",
        "wepkeyselected",
        "wepencryptionlevel",
        "presharedkeynumberofentries",
        "wepkeynumberofentries",
        "psknumberofentries",
        "keypassphrasenumberofentries",
    }
)


#: Endings of a flag, count or policy (``X_ACME_SecretEnable``, ``X_ACME_KeyIndex``), never
#: the secret itself, whatever secret word comes before them.
_FLAG_SUFFIXES = (
    "numberofentries", "enable", "enabled", "required", "policy", "minlength", "expiry",
    "index", "selected", "reset",
)


def _last_segment(path: str) -> str:
    path = path.strip().rstrip(".")
    return path.rsplit(".", 1)[-1].lower()


def is_secret(path: str) -> bool:
    """Whether a parameter path (or a bare parameter name) holds a secret.

    Examples: ``InternetGatewayDevice.ManagementServer.Password``,
    ``Device.WiFi.AccessPoint.1.Security.KeyPassphrase``,
    ``InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.PreSharedKey.1.PreSharedKey``,
    ``...WANPPPConnection.1.Password``, ``Device.PPP.Interface.1.Password``,
    ``X_ACME_AdminPassword`` are secret; ``...Username``, ``ParameterKey``,
    ``WEPKeyIndex``, ``PasswordRequired`` are not.

    Args:
        path: the path, with or without instance numbers; an object path (ending in '.')
            is never secret.

    Returns:
        True when the value must be masked.
    """
    if not path or path.rstrip().endswith("."):
        return False
    name = _last_segment(path)
    if not name or name in _NOT_SECRET or name.endswith(_FLAG_SUFFIXES):
        return False
    if name in _EXACT or name.endswith(_SUFFIXES):
        return True
    if name.startswith("x_") and name.endswith("key"):  # X_ACME_WPAKey, X_TP_APIKey
        return True
    return any(part in name for part in _CONTAINS)


def mask(value: object) -> str:
    """The masked form of a secret value: :data:`MASK`, or ``""`` for an empty value."""
    if value is None or value == "":
        return ""
    return MASK


# --------------------------------------------------------------------------- SOAP masking
_P = r"(?:[A-Za-z_][\w.-]*:)?"  # an optional namespace prefix
_CONTENT = rb"(?:<!\[CDATA\[.*?\]\]>|<!--.*?-->|[^<])*"
#: A ``<Name>`` or ``<Value>`` element (group 3: its content), or a struct's start or end tag
#: (group 5), in document order.
_TOKEN = re.compile(
    rb"(<(" + _P.encode() + rb")(Name|Value)\b(?:[^>]*[^>/])?>)(" + _CONTENT + rb")</\2\3\s*>"
    rb"|(</?" + _P.encode() + rb"\w*Struct\b[^>]*>)",
    re.S,
)
#: Elements whose own name marks them secret: Download/Upload ``<Password>``.
_SECRET_ELEMENT = re.compile(
    rb"(<(" + _P.encode() + rb")([A-Za-z_][\w-]*)\b[^>/]*>)(" + _CONTENT + rb")(</\2\3\s*>)",
    re.S,
)
_CDATA = re.compile(rb"<!\[CDATA\[(.*?)\]\]>", re.S)
_COMMENT = re.compile(rb"<!--.*?-->", re.S)
#: The password of ``scheme://user:password@host`` (only ever tried right after ``://``).
_URL_PASSWORD = r"(?<=://)(?P<user>[^\s/@<>\"':]*):(?P<pw>[^\s/<>\"']*)(?=@)"
_URL_PASSWORD_B = re.compile(_URL_PASSWORD.encode())
_URL_PASSWORD_S = re.compile(_URL_PASSWORD)


def _text_of(raw: bytes) -> str:
    """The character content of an XML fragment without markup (lenient)."""
    raw = _COMMENT.sub(b"", raw)
    parts: list[str] = []
    pos = 0
    for match in _CDATA.finditer(raw):
        parts.append(html.unescape(raw[pos : match.start()].decode("utf-8", "replace")))
        parts.append(match.group(1).decode("utf-8", "replace"))
        pos = match.end()
    parts.append(html.unescape(raw[pos:].decode("utf-8", "replace")))
    return "".join(parts).strip()


def _masked_content(raw: bytes) -> bytes:
    return mask(_text_of(raw)).encode()


def _secret_value_spans(body: bytes) -> list[tuple[int, int]]:
    """The content spans of ``<Value>`` elements paired with a secret ``<Name>``.

    A Name pairs with the next Name-or-Value element if that is a Value, and an unpaired
    Value with the next one if that is a Name, as long as no struct's start or end tag comes
    between them; other elements between the two (a vendor's ``<Type>``, ``<Notification>``)
    do not break the pair. One linear pass over the tokens.
    """
    tokens: list[tuple[str, int, int, bytes]] = []
    for m in _TOKEN.finditer(body):
        if m.group(5) is not None:
            tokens.append(("|", 0, 0, b""))
        else:
            tokens.append((m.group(3).decode(), m.start(4), m.end(4), m.group(4)))
    spans: list[tuple[int, int]] = []
    used = [False] * len(tokens)
    for i in range(len(tokens) - 1):
        kind, _, _, content = tokens[i]
        nxt = tokens[i + 1]
        if kind == "Name" and nxt[0] == "Value" and not used[i + 1]:
            used[i] = used[i + 1] = True
            if is_secret(_text_of(content)):
                spans.append((nxt[1], nxt[2]))
    for i in range(len(tokens) - 1):
        kind, start, end, _ = tokens[i]
        nxt = tokens[i + 1]
        if kind == "Value" and not used[i] and nxt[0] == "Name" and not used[i + 1]:
            used[i] = used[i + 1] = True
            if is_secret(_text_of(nxt[3])):
                spans.append((start, end))
    return sorted(spans)


def mask_url_passwords(text: str) -> str:
    """``scheme://user:password@host`` with the password masked (every URL in ``text``)."""
    if "://" not in text:
        return text
    return _URL_PASSWORD_S.sub(lambda m: f"{m.group('user')}:{MASK}", text)


def mask_soap(body: bytes) -> bytes:
    """Mask the values of secret parameters in a SOAP envelope, for showing or exporting.

    Masks ``<Value>`` of every ``ParameterValueStruct`` whose ``<Name>`` is secret (Inform,
    GetParameterValuesResponse, SetParameterValues, whichever order Name and Value come in,
    other elements between them or not), the content of every element whose own name is
    secret (``<Password>`` of Download, Upload, ScheduleDownload), and the password of every
    ``scheme://user:password@`` URL anywhere. Works on malformed or truncated bodies too, by
    pattern; every other byte is kept as it was.

    Args:
        body: the raw HTTP body (UTF-8 or ASCII-compatible).

    Returns:
        The body with secret values replaced by :data:`MASK`.
    """
    if not body or b"<" not in body:
        return body
    out = bytearray()
    pos = 0
    for start, end in _secret_value_spans(body):
        out += body[pos:start] + _masked_content(body[start:end])
        pos = end
    out += body[pos:]

    def element(m: re.Match[bytes]) -> bytes:
        name = m.group(3).decode("ascii", "replace")
        if name in ("Name", "Value") or not is_secret(name):
            return m.group(0)
        return m.group(1) + _masked_content(m.group(4)) + m.group(5)

    masked = _SECRET_ELEMENT.sub(element, bytes(out))
    if b"://" in masked:
        masked = _URL_PASSWORD_B.sub(lambda m: m.group("user") + b":" + MASK.encode(), masked)
    return masked


# --------------------------------------------------------------------------- log redaction
_known: set[str] = set()
_known_lock = threading.Lock()
_known_re: re.Pattern[str] | None = None

#: ``...Password=value``, ``...KeyPassphrase: value`` (key=value and header-like text).
_SEG = r"[A-Za-z_][\w-]*"
_PATH = rf"(?:{_SEG}|\d+|\{{i\}})(?:\.(?:{_SEG}|\d+|\{{i\}}))*"
#: A last segment that may be secret (checked with is_secret before masking).
_SECRETISH = (
    r"(?i:[\w-]*?(?:passw(?:or)?d|passphrase|presharedkey|psk|wepkey|secret"
    r"|privatekey|pin|key)[\w-]*)"
)
_ASSIGN = re.compile(
    rf"(?P<key>\b(?:{_PATH}\.)?{_SECRETISH})(?P<sep>\s*(?:=|:)\s*)"
    rf"(?:(?P<q>['\"])(?P<qval>[^'\"]*)(?P=q)|(?P<val>[^\s'\",;)\]}}]+))"
)
#: ``'Device.X.Password', 'value'`` / ``("...Password", "value")`` (tuples, JSON pairs).
_PAIR = re.compile(
    rf"(?P<key>['\"]{_PATH}['\"])(?P<sep>\s*[,:]\s*)(?P<q>['\"])(?P<val>[^'\"]*)(?P=q)"
)
#: ``name='Device.X.Password', value='v'`` (reprs of ParameterValue and friends).
_REPR = re.compile(
    rf"(?P<key>name=['\"](?P<path>{_PATH})['\"])(?P<sep>,\s*value=)(?P<q>['\"])"
    rf"(?P<val>[^'\"]*)(?P=q)"
)
#: HTTP credentials in header dumps.
_AUTH_HEADER = re.compile(
    r"(?P<key>\b(?:Proxy-)?Authorization['\"]?\s*[:,]\s*['\"]?(?:Basic|Bearer|Digest)\s+)"
    r"(?P<val>[^'\"\r\n]*)",
    re.IGNORECASE,
)


def register_secret(value: str) -> None:
    """Redact this literal value from every log record from now on (a configured password,
    the NBI token). Values shorter than 4 characters are ignored (too many false hits)."""
    global _known_re
    if not value or len(value) < 4:
        return
    with _known_lock:
        _known.add(value)
        _known_re = re.compile("|".join(re.escape(v) for v in sorted(_known, key=len, reverse=True)))


def forget_secret(value: str) -> None:
    """Stop redacting a value given to :func:`register_secret`."""
    global _known_re
    with _known_lock:
        _known.discard(value)
        _known_re = (
            re.compile("|".join(re.escape(v) for v in sorted(_known, key=len, reverse=True)))
            if _known
            else None
        )

#: A Digest ``response=`` value (a hash of the password: open to an offline guess), wherever it
#: appears; the header pattern above stops at its first quote, so it is masked on its own.
_DIGEST_RESPONSE = re.compile(
    r"(?P<key>\bresponse\s*=\s*(?:\\?[\'\"])?)(?P<val>[0-9A-Fa-f]{16,})", re.IGNORECASE
)


def _key_is_secret(key: str) -> bool:
    return is_secret(key.strip("'\""))


def redact_text(text: str) -> str:
    """Redact secrets from free text: registered values, ``<secret path>=value`` pairs,
    ``('<secret path>', 'value')`` pairs, ParameterValue reprs, Authorization headers and
    SOAP bodies."""
    if not text:
        return text
    pattern = _known_re
    if pattern is not None:
        text = pattern.sub(MASK, text)
    if "<" in text and ">" in text:
        text = mask_soap(text.encode("utf-8", "surrogateescape")).decode(
            "utf-8", "surrogateescape"
        )

    def repl_assign(m: re.Match[str]) -> str:
        if not _key_is_secret(m.group("key")):
            return m.group(0)
        q = m.group("q") or ""
        if not (m.group("qval") or m.group("val")):
            return m.group(0)
        return f"{m.group('key')}{m.group('sep')}{q}{MASK}{q}"

    def repl_pair(m: re.Match[str]) -> str:
        if not _key_is_secret(m.group("key")) or not m.group("val"):
            return m.group(0)
        q = m.group("q")
        return f"{m.group('key')}{m.group('sep')}{q}{MASK}{q}"

    def repl_repr(m: re.Match[str]) -> str:
        if not is_secret(m.group("path")) or not m.group("val"):
            return m.group(0)
        q = m.group("q")
        return f"{m.group('key')}{m.group('sep')}{q}{MASK}{q}"

    text = _REPR.sub(repl_repr, text)
    text = _PAIR.sub(repl_pair, text)
    text = _ASSIGN.sub(repl_assign, text)
    text = mask_url_passwords(text)
    text = _DIGEST_RESPONSE.sub(lambda m: m.group("key") + MASK, text)
    return _AUTH_HEADER.sub(lambda m: m.group("key") + MASK, text)


class SecretFilter(logging.Filter):
    """A logging filter that redacts secrets from a record's message (see :func:`redact_text`).

    The record's message is formatted once, redacted, and stored back with no arguments,
    so every handler after this filter sees the redacted text. Exception text is redacted
    the same way. The filter never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging module's to report
            return True
        redacted = redact_text(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def install_log_redaction(
    logger: logging.Logger | None = None, handlers: Iterable[logging.Handler] | None = None
) -> SecretFilter:
    """Add a :class:`SecretFilter` to the handlers of ``logger`` (the root logger by default)
    and to ``handlers``; returns the filter. Adding it twice to a handler is harmless."""
    target = logging.getLogger() if logger is None else logger
    flt = SecretFilter()
    for handler in [*target.handlers, *(handlers or ())]:
        if not any(isinstance(f, SecretFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt
