"""What several areas share, importing no area: the access rule, booking codes, the parties'
bodies, reminder rules, resident ID numbers' check character, regions. An area imports the
kernel; the kernel never imports an area (``tests/test_layering.py``)."""
