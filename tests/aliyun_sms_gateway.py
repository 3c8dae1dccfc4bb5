"""A local stand-in for Alibaba Cloud SMS (``dysmsapi.aliyuncs.com``, ``SendSms``).

It checks every request the way Alibaba Cloud documents it, with code of its own (not the
adapter's): the key, the signature recomputed from the received parameters (RPC signature
1.0: names and values percent-encoded byte by byte, sorted, StringToSign =
``METHOD&%2F&encode(canonicalized)``, Base64 of HMAC-SHA1 keyed with ``secret + "&"``), the
timestamp (15 minutes either way), the nonce (once only), then the signature name, the
template and its variables, the phone number. It answers as the gateway does: HTTP 4xx with
``SignatureDoesNotMatch`` and the like for a bad request, HTTP 200 with ``Code`` ``OK`` or
an ``isv.*`` code for the message itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def encode(text: str) -> str:
    """The documented rule, byte by byte over UTF-8: only A-Z a-z 0-9 - _ . ~ stay."""
    return "".join(chr(byte) if byte in UNRESERVED else f"%{byte:02X}" for byte in text.encode("utf-8"))


def expected_signature(method: str, params: dict[str, str], secret: str) -> str:
    canonical = "&".join(f"{encode(name)}={encode(params[name])}" for name in sorted(params))
    to_sign = f"{method}&{encode('/')}&{encode(canonical)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


@dataclass(frozen=True)
class Received:
    phone: str
    sign_name: str
    template_code: str
    params: dict[str, str]
    out_id: str


class AliyunSmsGateway:
    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str,
                 templates: dict[str, str]) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.templates = templates  # template code -> content with ${variables}
        self.sent: list[Received] = []  # every message accepted, in order
        self.answers: list[str] = []  # the Code of every answer, in order
        self.refuse_next: list[str] = []  # isv.* codes to answer the next messages with
        # seconds between accepting a message and answering: a client killed meanwhile has
        # sent a message it does not know about (``replying`` counts them)
        self.reply_delay = 0.0
        self.replying = 0
        self._nonces: set[str] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def by_out_id(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for message in list(self.sent):
            found[message.out_id] = found.get(message.out_id, 0) + 1
        return found

    def start(self) -> None:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                self._reply(*gateway.answer("POST", body))

            def do_GET(self) -> None:  # noqa: N802
                self._reply(*gateway.answer("GET", urlsplit(self.path).query))

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json;charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a killed worker: the message was accepted all the same, as at the gateway

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer(self, method: str, form: str) -> tuple[int, dict[str, Any]]:
        status, body = self._check(method, dict(parse_qsl(form, keep_blank_values=True)))
        with self._lock:
            self.answers.append(body["Code"])
        return status, body

    def _check(self, method: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:  # noqa: C901
        request_id = str(uuid.uuid4()).upper()

        def refused(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
            return status, {"RequestId": request_id, "HostId": "dysmsapi.aliyuncs.com", "Code": code,
                            "Message": message}

        def answered(code: str, message: str) -> tuple[int, dict[str, Any]]:
            return 200, {"RequestId": request_id, "Code": code, "Message": message}

        signature = params.pop("Signature", "")
        if params.get("AccessKeyId") != self.access_key_id:
            return refused(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            return refused(400, "InvalidParameter", "SignatureMethod and SignatureVersion must be HMAC-SHA1, 1.0.")
        if not hmac.compare_digest(signature, expected_signature(method, params, self.access_key_secret)):
            return refused(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        try:
            stamp = datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return refused(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
        if abs(stamp.timestamp() - time.time()) > 900:
            return refused(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        with self._lock:
            if params.get("SignatureNonce", "") in self._nonces or not params.get("SignatureNonce"):
                return refused(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(params["SignatureNonce"])
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return refused(404, "InvalidAction.NotFound", "Specified api is not found.")
        with self._lock:
            injected = self.refuse_next.pop(0) if self.refuse_next else None
        if injected:
            return answered(injected, "refused by the test")
        if params.get("SignName") != self.sign_name:
            return answered("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        template = self.templates.get(params.get("TemplateCode", ""))
        if template is None:
            return answered("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        if not re.fullmatch(r"(\+?86|0086)?1\d{10}", params.get("PhoneNumbers", "")):
            return answered("isv.MOBILE_NUMBER_ILLEGAL", "手机号码格式错误")
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            values = None
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            return answered("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if set(re.findall(r"\$\{(\w+)\}", template)) - set(values):
            return answered("isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")
        with self._lock:
            self.sent.append(Received(params["PhoneNumbers"], params["SignName"], params["TemplateCode"], values,
                                      params.get("OutId", "")))
            self.replying += 1
        try:
            time.sleep(self.reply_delay)
        finally:
            with self._lock:
                self.replying -= 1
        return 200, {"RequestId": request_id, "Code": "OK", "Message": "OK", "BizId": f"{len(self.sent)}^0"}
