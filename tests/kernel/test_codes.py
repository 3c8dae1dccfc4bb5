"""Booking codes (预约码): eight characters of the unambiguous alphabet, every character
possible at every position, in the form the counter reads and the scanner sees."""

from __future__ import annotations

from collections import Counter

from booking.kernel.codes import ALPHABET, LENGTH, display_code, new_code, normalise_code


def test_a_code_is_eight_characters_of_the_alphabet_without_look_alikes():
    for code in (new_code() for _ in range(500)):
        assert len(code) == LENGTH == 8
        assert set(code) <= set(ALPHABET)
    assert not set("01OIL") & set(ALPHABET)


def test_every_character_turns_up_at_every_position_about_as_often():
    """3,100 codes: each of the 31 characters ~100 times at each position. A uniform draw
    misses none and stays inside 40-180 at all 248 counts (binomial: it fails about once
    in 10^9 runs); a draw that never reaches a character, or doubles one, does not."""
    codes = [new_code() for _ in range(3100)]
    for position in range(LENGTH):
        seen = Counter(code[position] for code in codes)
        assert set(seen) == set(ALPHABET), position
        assert 40 < min(seen.values()) and max(seen.values()) < 180, (position, seen.most_common(3))


def test_a_code_spells_its_draw_in_base_31(monkeypatch):
    """Every number below 31**8 is one code and back: the draw covers the codes exactly."""
    drawn: list[int] = []

    def draw(bound: int) -> int:
        assert bound == len(ALPHABET) ** LENGTH
        return drawn.pop()

    monkeypatch.setattr("booking.kernel.codes.secrets.randbelow", draw)
    drawn[:] = [31**8 - 1, 31 * 2 + 1, 0]
    assert new_code() == "22222222"  # the alphabet's first character, eight times
    assert new_code() == "34222222"  # 1 + 2*31: the lowest digit first
    assert new_code() == "ZZZZZZZZ"


def test_codes_differ_and_read_back_in_any_written_form():
    codes = {new_code() for _ in range(1000)}
    assert len(codes) == 1000  # 31**8 ≈ 8.5e11: a repeat by chance about once in 1.7 million runs
    code = next(iter(codes))
    assert normalise_code(f" {display_code(code).lower()} ") == code
