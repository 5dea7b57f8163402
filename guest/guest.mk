# The test guest: freestanding x86-64, no libc.  (Filled in with guest/.)
guest:
.PHONY: guest
