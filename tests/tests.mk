# Tests: unit (plain and ASan/UBSan), fuzz, bats.  See tests/README.
check: all
.PHONY: check
