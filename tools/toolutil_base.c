/* toolutil_base.c - shared by every tool: the version line they print. */
#include "ckpt/ckpt_common.h"

#include <stdio.h>

void ckpt_tool_print_version(const char *tool);
void ckpt_tool_print_version(const char *tool) {
    printf("%s (ckpt) %s\n", tool, ckpt_version_string());
}
