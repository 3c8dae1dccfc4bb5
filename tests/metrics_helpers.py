"""Reading a Prometheus exposition in tests: samples by name and labels."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def samples(text: str) -> Iterator[Sample]:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            yield Sample(s.name, dict(s.labels), s.value)


def value(text: str, name: str, **labels: str) -> float:
    """The sample's value (0 when the series does not exist yet: a counter never moved)."""
    for s in samples(text):
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return 0.0


def metric_names(text: str) -> set[str]:
    return {s.name for s in samples(text)}


# What must never be a label value: resident ID numbers, mobile phones, e-mail addresses,
# UUIDs (appointment and account ids), booking codes (8 characters of the code alphabet).
PERSONAL = [
    re.compile(r"\d{17}[\dXx]"),
    re.compile(r"1[3-9]\d{9}"),
    re.compile(r"[^@\s]+@[^@\s]+"),
    re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"),
    re.compile(r"(?<![A-Za-z0-9])[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}(?![A-Za-z0-9])"),
]


def personal_labels(text: str, known: list[str]) -> list[tuple[str, str, str]]:
    """(metric, label, value) of every label value that looks like personal data or ids,
    or contains one of the ``known`` values used in the scenario."""
    found = []
    for s in samples(text):
        for label, val in s.labels.items():
            if any(p.search(val) for p in PERSONAL) or any(k and k in val for k in known):
                found.append((s.name, label, val))
    return found
