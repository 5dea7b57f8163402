# The test guest: freestanding x86-64, no libc, started by vm-run at CPL3.
GUEST_SRC	:= $(wildcard guest/*.c) $(wildcard guest/*.S)
GUEST_OBJ	:= $(patsubst %,%.o,$(basename $(GUEST_SRC)))
GUEST_CFLAGS	:= -std=gnu11 -O2 -Wall -Wextra -Werror -ffreestanding \
	-fno-builtin -fno-stack-protector -fno-pic -fno-pie -mno-red-zone \
	-mcmodel=small -fno-asynchronous-unwind-tables -iquote src/proto

guest: guest/guest.elf

guest/%.o: guest/%.c guest/guest.h src/proto/kvm_guest_abi.h
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

guest/%.o: guest/%.S
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

guest/guest.elf: $(GUEST_OBJ) guest/guest.ld
	$(CC) -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
	    -Wl,-T,guest/guest.ld -o $@ $(GUEST_OBJ)

.PHONY: guest

# A test tool that clones a running guest through the KVM backend the way
# vm-save | vm-restore would (tests/10-run.bats uses it).  Built with the
# guest, into obj/ because it is never installed.
KVM_CLONE	:= obj/tests/kvm-clone

guest: $(KVM_CLONE)

$(KVM_CLONE): tests/kvm-clone.c $(HVOBJ_kvm) obj/libvmpipe.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/kvm-clone.c $(HVOBJ_kvm) \
	    obj/libvmpipe.a $(LIBS)
