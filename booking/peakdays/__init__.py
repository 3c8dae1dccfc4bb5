"""Peak days (5·20, 七夕, 2·14 and an office's own): the dates couples want most."""
