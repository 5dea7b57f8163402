/*
 * fuzz_request: libFuzzer target for what a relocation server is asked
 * (recv_parse_request(): an SSH exec command or a plain request line).
 * Whatever it accepts must name a guest by the name rule and ask for one
 * thing: a receive or a question.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "recvd.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct recv_opts o;
	char cmd[2048], why[256];

	if (size >= sizeof(cmd))
		return 0;
	memcpy(cmd, data, size);
	cmd[size] = '\0';
	memset(&o, 0, sizeof(o));
	o.timeout = 60;
	if (recv_parse_request(cmd, &o, why, sizeof(why)) == 0) {
		if (o.name != NULL && vmp_name_check(o.name, NULL, 0) != 0)
			abort();
		if (o.status != NULL &&
		    (vmp_name_check(o.status, NULL, 0) != 0 || o.name != NULL))
			abort();
		if (o.timeout < 1 || o.timeout > 60)
			abort();
	} else if (why[0] == '\0')
		abort();
	return 0;
}
