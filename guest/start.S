/*
 * Entry of every vCPU.  vm-run has already put us in long mode at CPL3
 * with rdi = vCPU number, rsi = parameter block, rsp = this vCPU's stack.
 */
	.section .text.start, "ax"
	.globl	_start
_start:
	andq	$-16, %rsp
	call	guest_main
1:	movl	$0xe8, %edx
	xorl	%eax, %eax
	outl	%eax, %dx
	jmp	1b
	.section .note.GNU-stack, "", @progbits
