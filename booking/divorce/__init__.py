"""Divorce registration (离婚登记) with the statutory cooling-off period (离婚冷静期): the case
aggregate, its two visits on the appointment lifecycle, the dates the law sets."""
