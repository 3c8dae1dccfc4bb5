"""A party as every area shows it: masked (the ID number and phone never leave in full, see
each area's ``reveal``)."""

from __future__ import annotations

from typing import Any


def party_body(p: Any) -> dict[str, Any]:
    return {"position": p.position, "name": p.name, "id_type": p.id_type, "id_number": p.id_masked,
            "phone": p.phone_masked, "hukou_province": p.hukou_province}
