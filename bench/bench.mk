bench: all
.PHONY: bench
