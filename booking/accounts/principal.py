"""Who is calling: the identity carried by a verified access token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from booking.errors import NotFound

ROLES = ("couple", "clerk", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    id: uuid.UUID
    role: str
    office_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_clerk(self) -> bool:
        return self.role == "clerk"

    @property
    def is_couple(self) -> bool:
        return self.role == "couple"

    def manages_office(self, office_id: int | None) -> bool:
        """Admins manage every office, clerks only their own."""
        if self.is_admin:
            return True
        return self.is_clerk and office_id is not None and office_id == self.office_id

    def require_office(self, office_id: int | None) -> None:
        """Unknown and forbidden look the same (DESIGN.md 4.7): 404."""
        if not self.manages_office(office_id):
            raise NotFound()


# System actions (jobs, the CLI) are audited under this principal.
SYSTEM = Principal(id=uuid.UUID(int=0), role="admin")
