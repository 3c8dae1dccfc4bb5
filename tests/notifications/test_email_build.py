"""The e-mail as built for the wire (booking.notifications.channels.build_email): what a
recipient's client reads from it, and no header a name or subject could smuggle in."""

from __future__ import annotations

import email
import email.policy
import re

import pytest

from booking.notifications.channels import Undeliverable, build_email
from booking.notifications.registry import Rendered, SmsText
from booking.settings import Settings

INVITE = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:u-1@booking\r\n"
          b"SUMMARY:\xe7\xbb\x93\xe5\xa9\x9a\xe7\x99\xbb\xe8\xae\xb0\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


# a clerk's reason is one paragraph of up to 1,000 characters: one line of 3,000 bytes
REASON = "理由：" + "居住证不在本市，请补充材料。" * 72


def rendered(subject: str = "预约确认：广州市天河区婚姻登记处", calendar: bytes | None = INVITE) -> Rendered:
    return Rendered(subject=subject, lines=["您好，张三：", "预约码：ABCD1234\n请携带身份证。", REASON, "From the office."],
                    sms=SmsText(text="", params={}), calendar=calendar,
                    calendar_method="REQUEST" if calendar else None)


def read(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def test_the_recipient_reads_text_html_and_the_invite():
    settings = Settings(smtp_from="婚姻登记预约 <no-reply@booking.example>")
    r = rendered()
    mail = build_email(settings, "zhang@example.com", "张三", r, "<n-1@booking.example>")
    assert (mail.sender, mail.recipient, mail.message_id) == (
        "no-reply@booking.example", "zhang@example.com", "<n-1@booking.example>")
    message = read(mail.data)
    assert message["Subject"] == r.subject
    assert message["From"].addresses[0].display_name == "婚姻登记预约"
    assert message["To"].addresses[0].display_name == "张三"
    assert message["X-Booking-Dedupe-Key"] == "n-1"
    assert message.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in message.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/calendar"]
    assert message.get_body(("plain",)).get_content() == r.text
    assert message.get_body(("html",)).get_content() == r.html
    [invite] = message.iter_attachments()
    assert invite.get_param("method") == "REQUEST" and invite.get_filename() == "invite.ics"
    assert invite.get_payload(decode=True) == INVITE  # CRLF kept, as RFC 5545 wants
    assert mail.data.count(b"MIME-Version") == 1  # the message's only, not one per part
    # 7-bit clean, every line within SMTP's limit (no server needs 8BITMIME), though the
    # reason's paragraph is 3,000 bytes on one line
    assert len(REASON.encode()) > 998 and REASON in message.get_body(("plain",)).get_content()
    assert mail.data.isascii()
    assert max(len(line) for line in mail.data.split(b"\n")) <= 76


def test_long_names_and_subjects_are_split_into_words_of_at_most_75_characters():
    settings = Settings(smtp_from="广州市天河区婚姻登记处预约服务中心（婚姻登记预约） <no-reply@booking.example>")
    mail = build_email(settings, "z@example.com", "欧阳" * 20, rendered(subject="预约确认：" + "广州市天河区" * 12),
                       "<n-5@x>")
    words = re.findall(rb"=\?utf-8\?b\?[^?]*\?=", mail.data)
    assert len(words) > 6 and max(len(w) for w in words) <= 75
    message = read(mail.data)
    assert message["Subject"] == "预约确认：" + "广州市天河区" * 12
    # Python's parser puts a space between a display name's encoded words; mail clients do not
    assert message["To"].addresses[0].display_name.replace(" ", "") == "欧阳" * 20
    assert message["To"].addresses[0].addr_spec == "z@example.com"


def test_plain_ascii_headers_stay_plain():
    mail = build_email(Settings(smtp_from="Registry <no-reply@booking.example>"), "eve@example.com", "Eve Li",
                       rendered(subject="Appointment booked: Marriage registration"), "<n-6@x>")
    head = mail.data.split(b"\n\n", 1)[0]
    assert b"\nSubject: Appointment booked: Marriage registration\n" in head
    assert b"\nTo: Eve Li <eve@example.com>\n" in head and b"From: Registry <no-reply@booking.example>\n" in head


def test_no_invite_no_attachment():
    message = read(build_email(Settings(), "a@example.com", None, rendered(calendar=None), "<n-2@x>").data)
    assert [p.get_content_type() for p in message.walk()] == ["multipart/alternative", "text/plain", "text/html"]
    assert message["To"] == "a@example.com"


@pytest.mark.parametrize("name", ["Eve\r\nBcc: victim@example.com", "Eve\nBcc: victim@example.com",
                                  "伊芙\nBcc: victim@example.com", "Eve\u2028Bcc: victim@example.com"])
def test_a_line_break_in_a_name_or_subject_starts_no_header(name):
    mail = build_email(Settings(), "eve@example.com", name, rendered(subject=f"预约\nBcc: x@example.com {name}"),
                       "<n-3@x>")
    message = read(mail.data)
    assert "Bcc" not in message and message.get_all("Bcc") is None
    assert message["To"].addresses[0].addr_spec == "eve@example.com" and len(message["To"].addresses) == 1
    assert "victim@example.com" in message["To"].addresses[0].display_name  # kept, on one line


@pytest.mark.parametrize("address", ["eve@example.com\r\nBcc: victim@example.com", "eve@example.com\n"])
def test_a_line_break_in_an_address_is_undeliverable(address):
    with pytest.raises(Undeliverable):
        build_email(Settings(), address, None, rendered(), "<n-4@x>")
