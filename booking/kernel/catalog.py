"""The services (业务) an office can offer."""

from __future__ import annotations

from typing import Literal

from booking.i18n import lazy

ServiceName = Literal["marriage_registration", "certificate_reissue", "divorce_registration"]
SERVICES: tuple[str, ...] = ("marriage_registration", "certificate_reissue", "divorce_registration")
# booked as a case of two visits through /api/v1/divorce-cases (booking.divorce), never as
# a single appointment
DIVORCE = "divorce_registration"

SERVICE_TITLES = {
    "marriage_registration": lazy("Marriage registration"),
    "certificate_reissue": lazy("Marriage certificate reissue"),
    "divorce_registration": lazy("Divorce registration"),
}


def service_title(service: str, locale: str) -> str:
    text = SERVICE_TITLES.get(service)
    return text.render(locale) if text else service
